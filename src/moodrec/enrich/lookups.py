"""Asking the providers for one batch: the cached call, the thread map, the batch context.

:func:`ask` calls one provider for one key, cache first, and records every attempt as an
``enrich_status`` row (a :class:`~moodrec.providers.base.ProviderError` becomes its status;
only settled answers are cached); :func:`cached_many` fills many keys with one batched
request; :func:`map_rows` runs per-track calls on threads and gathers them in input order;
:class:`BatchContext` is what every capability step reads and fills.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from moodrec.enrich.cache import EnrichCache
from moodrec.enrich.clients import Providers
from moodrec.enrich.config import EnrichConfig
from moodrec.providers.base import UNREACHABLE, LookupResult, ProviderError, RateLimitExceeded
from moodrec.providers.spotify import SpotifyProvider

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
Row = dict[str, Any]


def track_key(artist: str, title: str) -> str:
    """The cache key of an artist/title lookup (exact input; providers normalise)."""
    return f"{artist}\x1f{title}"


def open_key(*parts: str | None) -> str:
    """The cache key of an open-source lookup: its ids and names (an absent id is empty)."""
    return "\x1f".join(p or "" for p in parts)


def status_row(track_id: int, cap: str, prov: str, status: str) -> Row:
    """One ``enrich_status`` row: what ``prov`` answered for ``cap`` of track ``track_id``."""
    return {"track_id": track_id, "capability": cap, "provider": prov, "status": status}


def ask(
    rows: list[Row],
    track_id: int,
    cap: str,
    prov: str,
    fn: Callable[[], Any],
    cache: EnrichCache | None = None,
    key: str | None = None,
):
    """Call one provider for one key (cache first); a ProviderError becomes a status row.

    Only settled answers are in the cache; a failure is not stored (the next run asks again).
    """
    hit = cache.get(prov, cap, key) if cache is not None and key is not None else None
    try:
        result = hit if hit is not None else fn()
    except RateLimitExceeded:
        raise
    except ProviderError as exc:
        logger.warning("track %s %s via %s: %s", track_id, cap, prov, exc)
        rows.append(status_row(track_id, cap, prov, exc.status))
        return exc
    if hit is None and cache is not None and key is not None and isinstance(result, LookupResult):
        cache.put(prov, cap, key, result)
    status = result.status if isinstance(result, LookupResult) else "found"
    rows.append(status_row(track_id, cap, prov, status))
    return result


def map_rows(fn: Callable[[Any], T], items: list[Any], workers: int) -> list[T]:
    """``[fn(x) for x in items]`` on up to ``workers`` threads; the first exception is raised
    once every started call has ended (so the cache holds every answer already got)."""
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="enrich")
    try:
        futures = [pool.submit(fn, x) for x in items]
        wait(futures)
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM): drop the queued lookups instead of running them all
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [f.result() for f in futures]


def map_status_rows(
    fn: Callable[[Any], tuple[list[R], R | None]], items: list[Any], workers: int
) -> tuple[list[R], list[R]]:
    """:func:`map_rows` of a lookup that returns (status rows, an optional data row): all
    status rows, and the data rows that were found, in ``items`` order."""
    status: list[R] = []
    found: list[R] = []
    for rows_out, row in map_rows(fn, items, workers):
        status += rows_out
        if row is not None:
            found.append(row)
    return status, found


def cached_many(
    cache: EnrichCache | None,
    prov: str,
    cap: str,
    keys: list[str],
    fetch: Callable[[list[str]], dict[str, LookupResult]],
) -> dict[str, LookupResult]:
    """Answers for many keys: fresh cache rows, then one batched ``fetch`` of the rest."""
    out: dict[str, LookupResult] = {}
    missing: list[str] = []
    for k in dict.fromkeys(keys):
        hit = cache.get(prov, cap, k) if cache is not None else None
        if hit is None:
            missing.append(k)
        else:
            out[k] = hit
    if not missing:
        return out
    try:
        fetched = fetch(missing)
    except RateLimitExceeded:
        raise
    except ProviderError as exc:
        fetched = {k: LookupResult(exc.status, detail=str(exc)) for k in missing}
    for k, res in fetched.items():
        if cache is not None:
            cache.put(prov, cap, k, res)
        out[k] = res
    return out


@dataclass
class BatchContext:
    """One batch's tracks and what every capability step needs."""

    rows: list[Row]
    cfg: EnrichConfig
    providers: Providers
    cache: EnrichCache | None
    #: the probed Spotify capabilities (live: a 403 during the batch closes one)
    spotify_caps: dict[str, str] = field(init=False)
    #: the Spotify client when its search was reachable at the batch's start (else ``None``)
    spotify: SpotifyProvider | None = field(init=False)
    #: the Spotify link found per track (filled by :func:`link_tracks`)
    link_of: dict[int, Row] = field(default_factory=dict)
    #: the MusicBrainz recording found per track (filled by :func:`recordings`)
    recording_of: dict[int, Row] = field(default_factory=dict)
    #: per artist id, the open providers' artist answers (filled by :func:`artist_tags`)
    artist_answers: dict[int, dict[str, LookupResult]] = field(default_factory=dict)
    #: ``track_tags`` rows of the MusicBrainz recordings (written by :func:`track_tags`)
    recording_tag_rows: list[Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.spotify_caps = self.providers.capabilities.get("spotify", {})
        reachable = self.spotify_caps.get("search", "available") == "available"
        self.spotify = self.providers.spotify if reachable else None

    @property
    def spotify_closed(self) -> str:
        """The status of a Spotify key not asked: ``error`` (unsettled, asked again next run)
        when the host was unreachable, else ``unavailable`` (closed to these credentials)."""
        return "error" if UNREACHABLE in self.spotify_caps.values() else "unavailable"
