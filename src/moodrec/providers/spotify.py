"""Spotify provider (spotipy): search → track link, audio features, artist genres.

The app's reach is probed once per run (:meth:`SpotifyProvider.probe`): a 403 marks a
capability ``unavailable`` (reported, never stored as empty data). Batch endpoints are used
when they answer, else one call per id. spotipy gets a plain ``requests.Session`` (no urllib3
retry that would sleep for hours on a 429) that waits for the host's rate limiter
(:mod:`moodrec.providers.ratelimit`); retries are ours (:func:`call_with_retries`).

spotipy turns a ``200`` whose body is not JSON (truncated, empty) into ``None``, which reads
like "no hits". A response hook (:func:`_require_json`) raises such an answer as a retryable
``error`` before spotipy sees it, and every answer is checked for its shape: only a
well-formed answer can say ``found`` or ``not_found``.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import requests
from pydantic import SecretStr

from moodrec.domain import AUDIO_FEATURES
from moodrec.providers.base import (
    UNREACHABLE,
    HostUnreachable,
    LookupResult,
    ProviderError,
    Status,
    call_with_retries,
    fallback_title,
    normalise_title,
    parse_retry_after,
    similarity,
)
from moodrec.providers.config import SpotifyConfig
from moodrec.providers.ratelimit import limited_session

logger = logging.getLogger(__name__)

FEATURE_NAMES = AUDIO_FEATURES
_PROBE_ID = "0" * 22


class _DropDebug(logging.Filter):
    """spotipy logs auth headers at DEBUG; never let those records through.

    Its ERROR line for every non-2xx answer is dropped too: moodrec retries those and logs
    the final outcome of each key itself (a 5 % fault rate would otherwise flood the log).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return False
        return not str(record.msg).startswith("HTTP Error for ")


def install_log_filter() -> None:
    """Drop spotipy's DEBUG and per-HTTP-error records (see ``_DropDebug``); idempotent.

    Called when a :class:`SpotifyProvider` is built, so importing this module changes nothing.
    """
    for name in ("spotipy.client", "spotipy.oauth2"):
        log = logging.getLogger(name)
        if not any(isinstance(f, _DropDebug) for f in log.filters):
            log.addFilter(_DropDebug())


def _require_json(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """``requests`` hook: a 2xx answer (but 204) whose body is not JSON is an ``error``.

    Raised with no HTTP status, so it is retried like a transport failure and never cached.
    """
    if not 200 <= response.status_code < 300 or response.status_code == 204:
        return
    try:
        json.loads(response.content or b"")
    except ValueError:
        endpoint = response.request.path_url.split("?")[0] if response.request else "?"
        raise ProviderError(
            f"spotify {endpoint}: malformed body (HTTP {response.status_code}, "
            f"{len(response.content)} bytes)"
        ) from None


def _search_items(body: Any) -> bool:
    return isinstance(body, dict) and isinstance((body.get("tracks") or {}).get("items"), list)


def _list_of(n: int, key: str | None = None) -> Callable[[Any], bool]:
    """Shape check: a list of ``n`` (under ``key`` of an object when given)."""

    def check(body: Any) -> bool:
        if key is not None:
            body = body.get(key) if isinstance(body, dict) else None
        return isinstance(body, list) and len(body) == n

    return check


def _wrap(endpoint: str, fn: Callable[[], Any]) -> Callable[[], Any]:
    """Translate spotipy / requests failures into :class:`ProviderError` (no secrets)."""
    import spotipy

    def call() -> Any:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return fn()
        except ProviderError:  # e.g. the host is paused beyond the cap
            raise
        except spotipy.SpotifyException as exc:
            status = exc.http_status
            retry_after = parse_retry_after((exc.headers or {}).get("Retry-After"))
            kind: Status = "error"
            if status == 403:
                kind = "unavailable"
            raise ProviderError(
                f"spotify {endpoint}: HTTP {status}",
                status=kind,
                http_status=status,
                retry_after=retry_after if status == 429 else None,
            ) from None
        except spotipy.SpotifyOauthError as exc:
            # spotipy keeps only the body: {"error": "invalid_client"} is a refusal of the
            # credentials; a JSON error object ({"error": {"status": 503}}) is a server fault
            err = exc.error
            if isinstance(err, dict):
                status = err.get("status") if isinstance(err.get("status"), int) else None
                raise ProviderError(f"spotify token: HTTP {status}", http_status=status) from None
            if err in ("invalid_client", "unauthorized_client", "invalid_grant"):
                raise ProviderError(
                    f"spotify token: {err}", status="blocked", http_status=400
                ) from None
            raise ProviderError("spotify token: unexpected answer") from None
        except requests.RequestException as exc:
            raise ProviderError(f"spotify {endpoint}: {type(exc).__name__}") from None
        except ValueError as exc:  # malformed JSON
            raise ProviderError(f"spotify {endpoint}: bad body ({exc})") from None

    return call


def parse_track(item: dict[str, Any]) -> dict[str, Any]:
    """The fields moodrec keeps from a Spotify track object (search item or ``/tracks``)."""
    album = item.get("album") or {}
    artists = item.get("artists") or []
    return {
        "spotify_id": item["id"],
        "spotify_name": item.get("name"),
        "spotify_artist": artists[0]["name"] if artists else None,
        "spotify_artist_id": artists[0]["id"] if artists else None,
        "isrc": (item.get("external_ids") or {}).get("isrc"),
        "album": album.get("name"),
        "release_date": album.get("release_date"),
        "popularity": item.get("popularity"),
    }


def parse_audio_features(body: dict[str, Any] | None) -> dict[str, Any] | None:
    """The 12 features from one audio-features object (``None`` for an unknown id)."""
    if body is None:
        return None
    return {k: body.get(k) for k in FEATURE_NAMES}


def parse_artist(body: dict[str, Any]) -> dict[str, Any]:
    """Genres and (when still served) popularity/followers of a full artist object."""
    return {
        "spotify_artist_id": body["id"],
        "genres": list(body.get("genres") or []),
        "artist_popularity": body.get("popularity"),
        "followers": (body.get("followers") or {}).get("total"),
        # 2026 dev mode drops popularity/followers and serves genres: [] → not real data
        "genres_reachable": "popularity" in body,
    }


def artist_result(body: dict[str, Any]) -> LookupResult:
    """The genres answer of one full artist object, never empty data.

    Without ``popularity`` (development mode, 2026) the genres are not served at all:
    ``unavailable``. An empty ``genres`` list is ``not_found``: since the 2026 deprecation
    Spotify also sends ``[]`` for artists that have genres (``artist_post_mar2026.json``),
    so it is no evidence of "no genres" and is not stored as such.
    """
    parsed = parse_artist(body)
    if not parsed.pop("genres_reachable"):
        return LookupResult("unavailable")
    if not parsed["genres"]:
        return LookupResult("not_found", detail="genres: []")
    return LookupResult("found", parsed)


class SpotifyProvider:
    """Search, audio features and artists through spotipy against ``cfg.api_url``.

    Parameters
    ----------
    cfg
        Provider settings.
    client_id, client_secret
        Client-credentials secrets (the secret is a ``SecretStr`` and never logged).
    """

    name = "spotify"

    def __init__(self, cfg: SpotifyConfig, client_id: str, client_secret: SecretStr) -> None:
        import spotipy
        from spotipy.cache_handler import MemoryCacheHandler
        from spotipy.oauth2 import SpotifyClientCredentials

        install_log_filter()
        self.cfg = cfg
        # default adapter (no urllib3 retries, no 429 sleeps) + the per-host rate limiter
        session = limited_session(
            cfg.rate_limit,
            cfg.api_url,
            cfg.token_url,
            max_pause_s=cfg.retry.max_retry_after_s,
            unreachable_after=cfg.retry.unreachable_after,
        )
        session.hooks["response"].append(_require_json)
        auth = SpotifyClientCredentials(
            client_id=client_id,
            client_secret=client_secret.get_secret_value(),
            requests_session=session,
            requests_timeout=cfg.retry.timeout_s,
            cache_handler=MemoryCacheHandler(),  # no .cache file holding a token
        )
        auth.OAUTH_TOKEN_URL = cfg.token_url
        self._sp = spotipy.Spotify(
            auth_manager=auth,
            requests_session=session,
            requests_timeout=cfg.retry.timeout_s,
            retries=0,
            status_retries=0,
        )
        self._sp.prefix = cfg.api_url.rstrip("/") + "/v1/"
        self.capabilities: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"SpotifyProvider(api_url={self.cfg.api_url!r})"

    def _call(
        self, endpoint: str, fn: Callable[[], Any], expect: Callable[[Any], bool] | None = None
    ) -> Any:
        """``fn()`` with retries; an answer that fails ``expect`` (its shape) is a retryable
        ``error`` like a malformed body."""

        def checked() -> Any:
            body = fn()
            if expect is not None and not expect(body):
                raise ProviderError(f"spotify {endpoint}: unexpected answer shape")
            return body

        return call_with_retries(self.cfg.retry, _wrap(endpoint, checked))

    def _capability(self, endpoint: str, fn: Callable[[], Any]) -> str:
        try:
            self._call(endpoint, fn)
        except HostUnreachable:
            # refused / timed out in a row: not a verdict on the credentials (never cached)
            return UNREACHABLE
        except ProviderError as exc:
            if exc.status in ("unavailable", "blocked") or exc.http_status in (401, 403, 404):
                return "unavailable"
            raise
        return "available"

    def probe(self) -> dict[str, str]:
        """Probe each capability once; ``available``, ``unavailable`` or ``unreachable``
        (the host refused connections or timed out in a row) per capability.

        Raises
        ------
        ProviderError
            Search itself fails for a reason other than 401/403 (e.g. 5xx after retries).
        """
        sp = self._sp
        caps = {
            "search": self._capability(
                "search", lambda: sp.search(q="probe", limit=1, type="track")
            ),
            "audio_features": self._capability(
                "audio-features", lambda: sp.audio_features([_PROBE_ID])
            ),
            "tracks_batch": self._capability("tracks", lambda: sp.tracks([_PROBE_ID])),
            "artists_batch": self._capability("artists", lambda: sp.artists([_PROBE_ID])),
        }
        self.capabilities = caps
        logger.info("spotify capabilities: %s", caps)
        return caps

    def link_track(self, artist: str, title: str) -> LookupResult:
        """Search a track (field query, then a looser free-text fallback); best match wins."""
        queries = [
            f'track:"{normalise_title(title)}" artist:"{normalise_title(artist)}"',
            f"{fallback_title(title)} {normalise_title(artist)}",
        ]
        best: tuple[float, dict[str, Any]] | None = None
        for q in queries:
            body = self._call(
                "search",
                lambda q=q: self._sp.search(q=q, limit=self.cfg.search_limit, type="track"),
                _search_items,
            )
            for item in body["tracks"]["items"]:
                if not item:
                    continue
                parsed = parse_track(item)
                s_title = similarity(title, parsed["spotify_name"] or "")
                s_artist = similarity(artist, parsed["spotify_artist"] or "")
                score = min(s_title, s_artist)
                verified = s_title >= self.cfg.min_match and s_artist >= self.cfg.min_match
                if verified and (best is None or score > best[0]):
                    best = (score, {**parsed, "match_score": score, "query": q})
            if best is not None:
                return LookupResult("found", best[1])
        return LookupResult("not_found")

    def audio_features(self, spotify_ids: list[str]) -> dict[str, LookupResult]:
        """Audio features per Spotify id (batched by ``features_batch``)."""
        if self.capabilities.get("audio_features") == "unavailable":
            return {i: LookupResult("unavailable") for i in spotify_ids}
        out: dict[str, LookupResult] = {}
        for chunk in _chunks(spotify_ids, self.cfg.features_batch):
            body = self._call(
                "audio-features",
                lambda c=chunk: self._sp.audio_features(c),
                _list_of(len(chunk)),
            )
            for sid, feats in zip(chunk, body, strict=True):
                parsed = parse_audio_features(feats)
                out[sid] = LookupResult("found", parsed) if parsed else LookupResult("not_found")
        return out

    def artists(self, artist_ids: list[str]) -> dict[str, LookupResult]:
        """Genres per Spotify artist id (batch endpoint when reachable, else one by one).

        The first artist object without ``popularity`` (development mode) marks the
        ``artist_genres`` capability ``unavailable`` for this client: the remaining ids are
        answered ``unavailable`` without a request (the whole app is in that mode).
        """
        out: dict[str, LookupResult] = {}
        if self.capabilities.get("artists_batch") == "available":
            for chunk in _chunks(artist_ids, self.cfg.artists_batch):
                body = self._call(
                    "artists",
                    lambda c=chunk: self._sp.artists(c),
                    _list_of(len(chunk), "artists"),
                )
                for aid, one in zip(chunk, body["artists"], strict=True):
                    out[aid] = LookupResult("not_found") if one is None else artist_result(one)
            return out
        for aid in artist_ids:
            if self.capabilities.get("artist_genres") == "unavailable":
                out[aid] = LookupResult("unavailable", detail="genres not served to this app")
                continue
            try:
                body = self._call(
                    "artist",
                    lambda a=aid: self._sp.artist(a),
                    lambda b: isinstance(b, dict) and "id" in b,
                )
            except ProviderError as exc:
                if exc.http_status not in (400, 404):
                    raise
                body = None
            out[aid] = LookupResult("not_found") if body is None else artist_result(body)
            if out[aid].status == "unavailable":
                self.capabilities["artist_genres"] = "unavailable"
        return out


def _chunks(items: Iterable[str], size: int) -> Iterable[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
