"""Enrich the track catalogue through the configured providers, batch by batch.

Input: ``interim/tracks.parquet`` (``track_id, track_mbid, artist_id, artist_name,
track_name`` are used; ``n_events`` for ``max_tracks``). The selected tracks are split once
into batches of ``batch_size`` (:func:`write_plan`); each batch writes its part tables
atomically into ``parts/<batch key>/`` and then a ``_done.json`` marker, so a killed run
resumes at the first unfinished batch and never duplicates a key. A batch whose keys ended
in ``error`` is redone on the next run. Per-track lookups of a batch run on ``workers``
threads; results are gathered in catalogue order, so the tables do not depend on timing.

Outputs (``out_dir``):

``track_links``     ``track_id, provider, spotify_id, isrc, album, release_date,
                    spotify_artist_id, match_score``
``track_features``  ``track_id, provider`` + the 12 audio features (nullable)
``artist_genres``   ``artist_id, provider, spotify_artist_id, genres`` (list[str], never [])
``lyrics_raw``      ``track_id, provider, text, match_score``
``enrich_status``   ``track_id, capability, provider, status`` (one row per attempt)
``enrich_coverage`` JSON: tracks per capability by final status, per provider, non-empty
                    values per field, unreachable capabilities, probed capabilities.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import polars as pl
from pydantic import Field

from moodrec.config.base import Secrets, StageConfig
from moodrec.enrich.cache import PROBE, CacheConfig, EnrichCache
from moodrec.enrich.servers_config import FakeServersConfig
from moodrec.errors import ConfigError
from moodrec.providers.base import STATUSES, LookupResult, ProviderError, RateLimitExceeded
from moodrec.providers.features_file import FeaturesFile, FeaturesFileConfig
from moodrec.providers.genius import GeniusConfig, GeniusProvider
from moodrec.providers.lrclib import LrclibConfig, LrclibProvider
from moodrec.providers.spotify import FEATURE_NAMES, SpotifyConfig, SpotifyProvider
from moodrec.storage import write_json_atomic, write_parquet_atomic

logger = logging.getLogger(__name__)
T = TypeVar("T")

CAPABILITIES = ("track_link", "audio_features", "artist_genres", "lyrics")
TABLES = ("track_links", "track_features", "artist_genres", "lyrics_raw", "enrich_status")
_RANK = {
    "found": 0,
    "error": 1,
    "rate_limited": 2,
    "blocked": 3,
    "unavailable": 4,
    "not_found": 5,
}
#: settings that say where and how fast to ask, not what the answers are: left out of the
#: batch keys, so a new port of the sandbox servers or a new rate keeps finished batches
_TRANSPORT_FIELDS = frozenset(
    {
        "api_url",
        "token_url",
        "api_root",
        "public_api_root",
        "web_root",
        "base_url",
        "user_agent",
        "retry",
        "rate_limit",
        "cache",
        "workers",
        "batch_retries",
        "batch_retry_delays_s",
    }
)


class EnrichConfig(StageConfig):
    """The enrichment stage: which providers, in which order, batch size and track cap.

    ``max_tracks`` keeps the most-played tracks only (ties by ``track_id``); ``None`` enriches
    the whole catalogue. ``workers`` threads send per-track lookups concurrently (the per-host
    rate limiter is shared by all of them). ``sandbox_servers`` sets the fake servers a
    sandbox run starts (``ingest.source: sandbox``); other runs ignore it.
    """

    batch_size: int = Field(default=2000, ge=1)
    max_tracks: int | None = Field(default=None, ge=1)
    workers: int = Field(default=4, ge=1, le=64)
    # Prefect retries of a batch that failed for a retryable reason (429 over the cap, 5xx)
    batch_retries: int = Field(default=3, ge=0)
    batch_retry_delays_s: tuple[float, ...] = (30.0, 120.0, 600.0)
    features_order: tuple[Literal["spotify", "features_file"], ...] = ("spotify", "features_file")
    genres_order: tuple[Literal["spotify", "features_file"], ...] = ("spotify", "features_file")
    lyrics_order: tuple[Literal["genius", "lrclib"], ...] = ("genius", "lrclib")
    spotify: SpotifyConfig | None = SpotifyConfig()
    genius: GeniusConfig | None = GeniusConfig()
    lrclib: LrclibConfig | None = LrclibConfig()
    features_file: FeaturesFileConfig | None = None
    cache: CacheConfig = CacheConfig()
    sandbox_servers: FakeServersConfig = FakeServersConfig()


@dataclass
class Providers:
    """The provider clients of one run (any may be absent)."""

    spotify: SpotifyProvider | None = None
    genius: GeniusProvider | None = None
    lrclib: LrclibProvider | None = None
    features_file: FeaturesFile | None = None
    capabilities: dict[str, dict[str, str]] = field(default_factory=dict)

    def probe(self, cache: EnrichCache | None = None) -> dict[str, dict[str, str]]:
        """Probe every provider's reach once per run (skipped while a cached probe is fresh)."""
        if self.spotify is not None and not self.capabilities.get("spotify"):
            hit = cache.get("spotify", PROBE, "capabilities") if cache else None
            if hit is not None and hit.status == "found":
                self.spotify.capabilities = dict(hit.data)
            else:
                self.spotify.probe()
                if cache is not None:
                    cache.put(
                        "spotify",
                        PROBE,
                        "capabilities",
                        LookupResult("found", self.spotify.capabilities),
                    )
                    cache.commit()
            self.capabilities["spotify"] = self.spotify.capabilities
        return self.capabilities


def with_base_urls(
    cfg: EnrichConfig, *, spotify: str | None, genius: str | None, lrclib: str | None
) -> EnrichConfig:
    """``cfg`` with each configured provider pointed at a base URL (e.g. the fake servers).

    ``spotify`` gets ``/v1/`` and ``/api/token`` below it, ``genius`` serves the API root, the
    public API (``api/``) and the song pages; ``None`` leaves a provider as it is.
    """
    update: dict[str, Any] = {}
    if spotify and cfg.spotify is not None:
        update["spotify"] = cfg.spotify.model_copy(
            update={"api_url": spotify, "token_url": f"{spotify}/api/token"}
        )
    if genius and cfg.genius is not None:
        update["genius"] = cfg.genius.model_copy(
            update={
                "api_root": f"{genius}/",
                "public_api_root": f"{genius}/api/",
                "web_root": f"{genius}/",
            }
        )
    if lrclib and cfg.lrclib is not None:
        update["lrclib"] = cfg.lrclib.model_copy(update={"base_url": lrclib})
    return cfg.model_copy(update=update)


def build_providers(cfg: EnrichConfig, secrets: Secrets) -> Providers:
    """Clients for the configured providers; one without credentials is left out (logged).

    Raises
    ------
    ConfigError
        No provider at all could be built.
    """
    p = Providers()
    if cfg.spotify is not None:
        if secrets.spotify_client_id and secrets.spotify_client_secret:
            p.spotify = SpotifyProvider(
                cfg.spotify, secrets.spotify_client_id, secrets.spotify_client_secret
            )
        else:
            logger.warning("spotify: no client id/secret in the environment; provider skipped")
    if cfg.genius is not None:
        if secrets.genius_token:
            p.genius = GeniusProvider(cfg.genius, secrets.genius_token)
        else:
            logger.warning("genius: no token in the environment; provider skipped")
    if cfg.lrclib is not None:
        p.lrclib = LrclibProvider(cfg.lrclib)
    if cfg.features_file is not None:
        p.features_file = FeaturesFile(cfg.features_file)
    if not any((p.spotify, p.genius, p.lrclib, p.features_file)):
        raise ConfigError("enrich: no provider is configured with credentials")
    return p


def select_tracks(tracks: pl.DataFrame, cfg: EnrichConfig) -> pl.DataFrame:
    """The tracks to enrich, sorted by ``track_id``: all, or the ``max_tracks`` most played.

    Parameters
    ----------
    tracks
        The catalogue; needs ``track_id, track_mbid, artist_id, artist_name, track_name``
        (and ``n_events`` when ``cfg.max_tracks`` is set and the catalogue is larger).
    """
    cols = ["track_id", "track_mbid", "artist_id", "artist_name", "track_name"]
    if cfg.max_tracks is not None and tracks.height > cfg.max_tracks:
        if "n_events" not in tracks.columns:
            raise ConfigError("enrich.max_tracks needs the catalogue's n_events column")
        tracks = tracks.sort(["n_events", "track_id"], descending=[True, False]).head(
            cfg.max_tracks
        )
    return tracks.select(cols).sort("track_id")


def result_settings(cfg: EnrichConfig) -> str:
    """The config as JSON without the transport settings (see ``_TRANSPORT_FIELDS``)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _TRANSPORT_FIELDS}
        return value

    return json.dumps(strip(cfg.model_dump(mode="json")), sort_keys=True)


def plan_batches(tracks: pl.DataFrame, cfg: EnrichConfig) -> list[tuple[str, pl.DataFrame]]:
    """Select the tracks (:func:`select_tracks`) and split them into keyed batches.

    The key hashes the batch's tracks and the settings that shape the answers (not URLs,
    rates, retries or cache TTLs), so a changed catalogue or provider setup never reuses a
    stale part, while a restart of the sandbox servers on new ports keeps finished batches.
    """
    tracks = select_tracks(tracks, cfg)
    cfg_json = result_settings(cfg)
    out = []
    for start in range(0, tracks.height, cfg.batch_size):
        batch = tracks.slice(start, cfg.batch_size)
        h = hashlib.blake2b(digest_size=8)
        h.update(cfg_json.encode())
        h.update(batch.write_ipc(None).getvalue())
        out.append((f"{start // cfg.batch_size:05d}-{h.hexdigest()}", batch))
    return out


def write_plan(tracks_path: Path, cfg: EnrichConfig, plan_path: Path) -> list[str]:
    """Plan the batches once and write them (``batch_key`` + track columns) to ``plan_path``.

    Each batch task then reads only its own rows (:func:`read_batch`) instead of re-reading
    and re-planning the whole catalogue. Returns the batch keys in order.
    """
    batches = plan_batches(pl.read_parquet(tracks_path), cfg)
    frames = [b.with_columns(batch_key=pl.lit(k)) for k, b in batches]
    schema = {"batch_key": pl.String}
    plan = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    write_parquet_atomic(plan.to_arrow(), plan_path)
    return [k for k, _ in batches]


def read_batch(plan_path: Path, key: str) -> pl.DataFrame:
    """The tracks of batch ``key`` from a plan written by :func:`write_plan`."""
    return pl.scan_parquet(plan_path).filter(pl.col("batch_key") == key).drop("batch_key").collect()


def track_key(artist: str, title: str) -> str:
    """The cache key of an artist/title lookup (exact input; providers normalise)."""
    return f"{artist}\x1f{title}"


def _try(
    rows: list[dict[str, Any]],
    track_id: int,
    cap: str,
    prov: str,
    fn: Callable[[], Any],
    cache: EnrichCache | None = None,
    key: str | None = None,
):
    """Call one provider for one key (cache first); a ProviderError becomes a status row."""
    hit = cache.get(prov, cap, key) if cache is not None and key is not None else None
    if hit is not None and hit.status not in ("found", "not_found"):
        rows.append(
            {"track_id": track_id, "capability": cap, "provider": prov, "status": hit.status}
        )
        return ProviderError(f"{prov} {cap}: cached {hit.status}", status=hit.status)
    try:
        result = hit if hit is not None else fn()
    except RateLimitExceeded:
        raise
    except ProviderError as exc:
        logger.warning("track %s %s via %s: %s", track_id, cap, prov, exc)
        rows.append(
            {"track_id": track_id, "capability": cap, "provider": prov, "status": exc.status}
        )
        if cache is not None and key is not None:
            cache.put(
                prov,
                cap,
                key,
                LookupResult(exc.status, detail=str(exc)),
                http_status=exc.http_status,
            )
        return exc
    if hit is None and cache is not None and key is not None and isinstance(result, LookupResult):
        cache.put(prov, cap, key, result)
    status = result.status if isinstance(result, LookupResult) else "found"
    rows.append({"track_id": track_id, "capability": cap, "provider": prov, "status": status})
    return result


def _map(fn: Callable[[Any], T], items: list[Any], workers: int) -> list[T]:
    """``[fn(x) for x in items]`` on up to ``workers`` threads; the first exception is raised
    once every started call has ended (so the cache holds every answer already got)."""
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="enrich") as pool:
        futures = [pool.submit(fn, x) for x in items]
        wait(futures)
    return [f.result() for f in futures]


def _cached_many(
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


def enrich_batch(
    batch: pl.DataFrame,
    cfg: EnrichConfig,
    providers: Providers,
    cache: EnrichCache | None = None,
) -> dict[str, pl.DataFrame]:
    """Enrich one batch of tracks; returns the part tables (see the module docstring).

    Every answer is looked up in ``cache`` first and stored there; the cache is committed
    once at the end of the batch (also when it fails, keeping every answer already got).

    Raises
    ------
    RateLimitExceeded
        A server asked to wait beyond the cap; the whole batch must be retried later.
    CacheError
        The cache file is corrupt or locked.
    """
    try:
        return _enrich_batch(batch, cfg, providers, cache)
    finally:
        if cache is not None:
            cache.commit()


def _enrich_batch(
    batch: pl.DataFrame, cfg: EnrichConfig, providers: Providers, cache: EnrichCache | None
) -> dict[str, pl.DataFrame]:
    status: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    features: list[dict[str, Any]] = []
    genres: list[dict[str, Any]] = []
    lyrics: list[dict[str, Any]] = []
    caps = providers.capabilities.get("spotify", {})
    sp = providers.spotify if caps.get("search", "available") == "available" else None
    rows = batch.to_dicts()
    link_of: dict[int, dict[str, Any]] = {}

    def link_one(r: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        out: list[dict[str, Any]] = []
        tid = r["track_id"]
        if providers.spotify is not None and sp is None:
            out.append(
                {
                    "track_id": tid,
                    "capability": "track_link",
                    "provider": "spotify",
                    "status": "unavailable",
                }
            )
        elif sp is not None:
            res = _try(
                out,
                tid,
                "track_link",
                "spotify",
                lambda: sp.link_track(r["artist_name"], r["track_name"]),
                cache,
                track_key(r["artist_name"], r["track_name"]),
            )
            if isinstance(res, LookupResult) and res.status == "found":
                return out, res.data
        return out, None

    # per-track lookups run on ``workers`` threads; results are gathered in catalogue order,
    # so the tables do not depend on thread timing
    for r, (rows_out, data) in zip(rows, _map(link_one, rows, cfg.workers), strict=True):
        status += rows_out
        if data is not None:
            tid = r["track_id"]
            link_of[tid] = data
            links.append(
                {
                    "track_id": tid,
                    "provider": "spotify",
                    **{
                        k: data.get(k)
                        for k in (
                            "spotify_id",
                            "isrc",
                            "album",
                            "release_date",
                            "spotify_artist_id",
                            "match_score",
                        )
                    },
                }
            )
    # audio features
    sp_feats: dict[str, LookupResult] = {}
    if sp is not None and "spotify" in cfg.features_order:
        ids = [link["spotify_id"] for link in link_of.values()]
        sp_feats = _cached_many(cache, "spotify", "audio_features", ids, sp.audio_features)
    artist_of_track = {r["track_id"]: r for r in rows}
    for r in rows:
        tid = r["track_id"]
        for prov in cfg.features_order:
            res: LookupResult | None = None
            if prov == "spotify" and providers.spotify is not None:
                sid = link_of.get(tid, {}).get("spotify_id")
                unavailable = caps.get("audio_features") == "unavailable" or sp is None
                if unavailable:
                    res = LookupResult("unavailable")
                else:
                    res = sp_feats.get(sid) if sid else LookupResult("not_found")
            elif prov == "features_file" and providers.features_file is not None:
                link = link_of.get(tid, {})
                res = providers.features_file.lookup(
                    spotify_id=link.get("spotify_id"),
                    isrc=link.get("isrc"),
                    mbid=r["track_mbid"],
                    artist=r["artist_name"],
                    title=r["track_name"],
                )
                if res.status == "found" and not res.data.get("features"):
                    res = LookupResult("not_found")
            if res is None:
                continue
            status.append(
                {
                    "track_id": tid,
                    "capability": "audio_features",
                    "provider": prov,
                    "status": res.status,
                }
            )
            if res.status == "found":
                feats = res.data.get("features", res.data)
                features.append(
                    {"track_id": tid, "provider": prov, **{f: feats.get(f) for f in FEATURE_NAMES}}
                )
                break
    # artist genres (per artist, reported on each of its tracks)
    artist_rows: dict[int, dict[str, Any]] = {}
    for r in rows:
        artist_rows.setdefault(r["artist_id"], r)
    sp_artist_ids = {
        link["spotify_artist_id"]: artist_of_track[tid]["artist_id"]
        for tid, link in link_of.items()
        if link.get("spotify_artist_id")
    }
    sp_artists: dict[str, LookupResult] = {}
    if sp is not None and "spotify" in cfg.genres_order and sp_artist_ids:
        sp_artists = _cached_many(
            cache, "spotify", "artist_genres", sorted(sp_artist_ids), sp.artists
        )
    by_artist_sp = {aid: (said, sp_artists.get(said)) for said, aid in sp_artist_ids.items()}
    for aid, r in artist_rows.items():
        for prov in cfg.genres_order:
            res = None
            said = None
            if prov == "spotify" and providers.spotify is not None:
                said, res = by_artist_sp.get(aid, (None, None))
                if sp is None:
                    res = LookupResult("unavailable")
                res = res or LookupResult("not_found")
            elif prov == "features_file" and providers.features_file is not None:
                res = providers.features_file.lookup(artist=r["artist_name"], title=r["track_name"])
                if res.status == "found" and not res.data.get("genres"):
                    res = LookupResult("not_found")
            if res is None:
                continue
            status.append(
                {
                    "track_id": r["track_id"],
                    "capability": "artist_genres",
                    "provider": prov,
                    "status": res.status,
                }
            )
            if res.status == "found":
                genres.append(
                    {
                        "artist_id": aid,
                        "provider": prov,
                        "spotify_artist_id": said,
                        "genres": list(res.data.get("genres") or []),
                    }
                )
                break
    # lyrics: genius → lrclib; a blocked provider is not asked again this batch
    blocked: set[str] = set()

    def lyrics_one(r: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        out: list[dict[str, Any]] = []
        tid = r["track_id"]
        for prov in cfg.lyrics_order:
            client = getattr(providers, prov)
            if client is None:
                continue
            if prov in blocked:
                out.append(
                    {"track_id": tid, "capability": "lyrics", "provider": prov, "status": "blocked"}
                )
                continue
            res = _try(
                out,
                tid,
                "lyrics",
                prov,
                lambda c=client: c.lyrics(r["artist_name"], r["track_name"]),
                cache,
                track_key(r["artist_name"], r["track_name"]),
            )
            if isinstance(res, ProviderError):
                if res.status == "blocked":
                    if prov not in blocked:
                        logger.warning("%s blocked (%s); falling back", prov, res)
                    blocked.add(prov)
                continue
            if res.status == "found":
                return out, {
                    "track_id": tid,
                    "provider": prov,
                    "text": res.data["text"],
                    "match_score": res.data.get("match_score"),
                }
        return out, None

    for rows_out, row in _map(lyrics_one, rows, cfg.workers):
        status += rows_out
        if row is not None:
            lyrics.append(row)
    return {
        "track_links": pl.DataFrame(links, schema=_LINK_SCHEMA),
        "track_features": pl.DataFrame(features, schema=_FEATURE_SCHEMA),
        "artist_genres": pl.DataFrame(genres, schema=_GENRE_SCHEMA),
        "lyrics_raw": pl.DataFrame(lyrics, schema=_LYRICS_SCHEMA),
        "enrich_status": pl.DataFrame(status, schema=_STATUS_SCHEMA),
    }


_LINK_SCHEMA = {
    "track_id": pl.Int32,
    "provider": pl.String,
    "spotify_id": pl.String,
    "isrc": pl.String,
    "album": pl.String,
    "release_date": pl.String,
    "spotify_artist_id": pl.String,
    "match_score": pl.Float64,
}
_FEATURE_SCHEMA = {
    "track_id": pl.Int32,
    "provider": pl.String,
    **{f: pl.Float64 for f in FEATURE_NAMES},
}
_GENRE_SCHEMA = {
    "artist_id": pl.Int32,
    "provider": pl.String,
    "spotify_artist_id": pl.String,
    "genres": pl.List(pl.String),
}
_LYRICS_SCHEMA = {
    "track_id": pl.Int32,
    "provider": pl.String,
    "text": pl.String,
    "match_score": pl.Float64,
}
_STATUS_SCHEMA = {
    "track_id": pl.Int32,
    "capability": pl.String,
    "provider": pl.String,
    "status": pl.String,
}


_SCHEMAS = {
    "track_links": _LINK_SCHEMA,
    "track_features": _FEATURE_SCHEMA,
    "artist_genres": _GENRE_SCHEMA,
    "lyrics_raw": _LYRICS_SCHEMA,
    "enrich_status": _STATUS_SCHEMA,
}


@dataclass(frozen=True)
class EnrichResult:
    """Paths of the combined tables and the coverage report."""

    outputs: dict[str, Path]
    coverage: dict[str, Any]
    n_batches: int
    n_batches_run: int


def part_done(parts_dir: Path, key: str) -> bool:
    """True when batch ``key`` finished without ``error`` statuses."""
    marker = parts_dir / key / "_done.json"
    if not marker.is_file():
        return False
    return json.loads(marker.read_text()).get("n_error", 1) == 0


def clear_part(parts_dir: Path, key: str) -> None:
    """Mark batch ``key`` not done (its tables are rewritten next; a crash then redoes it)."""
    (parts_dir / key / "_done.json").unlink(missing_ok=True)


def write_part(parts_dir: Path, key: str, tables: dict[str, pl.DataFrame]) -> None:
    """Write one batch's tables atomically, the ``_done.json`` marker last."""
    folder = parts_dir / key
    for name, df in tables.items():
        write_parquet_atomic(df.to_arrow(), folder / f"{name}.parquet")
    status = tables["enrich_status"]
    n_error = int((status["status"] == "error").sum())
    n_tracks = int(status["track_id"].n_unique()) if status.height else 0
    write_json_atomic(folder / "_done.json", {"n_error": n_error, "n_tracks": n_tracks})


def combine_parts(
    parts_dir: Path, keys: list[str], out_dir: Path, capabilities: dict[str, Any]
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Concatenate the batches' parts into the final tables and compute the report.

    The report (also ``enrich_coverage.json``) has ``coverage`` (tracks per capability by
    best status), ``by_provider`` (per capability and provider, by status), ``fields``
    (non-empty values per table column), ``unreachable`` (capabilities that were
    ``unavailable``/``blocked``/``rate_limited``) and the probed ``capabilities``.
    """
    outputs: dict[str, Path] = {}
    frames: dict[str, pl.DataFrame] = {}
    for name in TABLES:
        dfs = [pl.read_parquet(parts_dir / k / f"{name}.parquet") for k in keys]
        df = pl.concat(dfs, how="vertical") if dfs else pl.DataFrame(schema=_SCHEMAS[name])
        frames[name] = df
        outputs[name] = write_parquet_atomic(df.to_arrow(), out_dir / f"{name}.parquet")
    report = coverage_report(frames, capabilities)
    outputs["enrich_coverage"] = write_json_atomic(out_dir / "enrich_coverage.json", report)
    return outputs, report


def coverage_report(
    frames: dict[str, pl.DataFrame], capabilities: dict[str, Any]
) -> dict[str, Any]:
    """Coverage of the combined tables (see :func:`combine_parts`)."""
    status = frames["enrich_status"]
    by_provider: dict[str, dict[str, dict[str, int]]] = {}
    for (cap, prov), sub in status.group_by(["capability", "provider"], maintain_order=True):
        counts = {st: 0 for st in STATUSES}
        for st, n in sub.group_by("status").len().iter_rows():
            counts[st] = counts.get(st, 0) + n
        by_provider.setdefault(str(cap), {})[str(prov)] = counts
    fields: dict[str, dict[str, int]] = {}
    for name in ("track_links", "track_features", "artist_genres", "lyrics_raw"):
        df = frames[name]
        cols = [c for c in df.columns if c not in ("track_id", "artist_id", "provider")]
        counts = {}
        for c in cols:
            col = df[c]
            if col.dtype == pl.List(pl.String):
                counts[c] = int((col.list.len() > 0).sum())
            else:
                counts[c] = int(col.is_not_null().sum())
        fields[name] = {"rows": df.height, **counts}
    unreachable = []
    for prov, caps in sorted(capabilities.items()):
        for cap, state in sorted(caps.items()):
            if state != "available":
                unreachable.append(
                    {"provider": prov, "capability": cap, "status": state, "source": "probe"}
                )
    for cap, provs in by_provider.items():
        for prov, counts in provs.items():
            for st in ("unavailable", "blocked", "rate_limited"):
                if counts.get(st):
                    unreachable.append(
                        {
                            "provider": prov,
                            "capability": cap,
                            "status": st,
                            "source": "answers",
                            "tracks": counts[st],
                        }
                    )
    return {
        "n_tracks": int(status["track_id"].n_unique()) if status.height else 0,
        "coverage": compute_coverage(status),
        "by_provider": by_provider,
        "fields": fields,
        "unreachable": unreachable,
        "capabilities": capabilities,
    }


def compute_coverage(status: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Tracks per capability by final status (best over providers: found first)."""
    out: dict[str, dict[str, int]] = {}
    if status.is_empty():
        return out
    ranked = status.with_columns(rank=pl.col("status").replace_strict(_RANK, default=9))
    best = ranked.group_by("capability", "track_id").agg(pl.col("rank").min())
    inv = {v: k for k, v in _RANK.items()}
    for cap in CAPABILITIES:
        sub = best.filter(pl.col("capability") == cap)
        counts = {s: 0 for s in STATUSES}
        for rank, n in sub.group_by("rank").len().iter_rows():
            counts[inv.get(rank, "error")] += n
        if sub.height:
            out[cap] = counts
    return out


def run_enrichment(
    tracks_path: Path,
    out_dir: Path,
    cfg: EnrichConfig,
    providers: Providers,
    *,
    on_batch: Callable[[int, int], None] | None = None,
    cache: EnrichCache | None = None,
    refresh: bool = False,
) -> EnrichResult:
    """Enrich a catalogue, resuming from finished batches in ``out_dir/enrich_parts``.

    Parameters
    ----------
    tracks_path
        ``tracks.parquet`` of the ingest stage.
    out_dir
        Where parts and the combined tables go.
    cfg
        Stage config.
    providers
        Clients (:func:`build_providers`); probed once here.
    on_batch
        Called with ``(batches done, total)`` after each batch (progress reporting).
    cache
        The per-key answer cache (:class:`~moodrec.enrich.cache.EnrichCache`), committed
        after each batch; ``None`` asks the network for every key.
    refresh
        Redo finished batches too: with a cache, only keys past their TTL (or that failed)
        reach the network; the rest are answered from the cache.

    Raises
    ------
    RateLimitExceeded
        A provider asked to wait beyond its cap; finished batches are kept.
    CacheError
        The cache file is corrupt or locked (it is left untouched).
    """
    tracks = pl.read_parquet(tracks_path)
    batches = plan_batches(tracks, cfg)
    parts_dir = Path(out_dir) / "enrich_parts"
    capabilities = providers.probe(cache)
    n_run = 0
    for i, (key, batch) in enumerate(batches):
        if refresh:
            clear_part(parts_dir, key)
        if not part_done(parts_dir, key):
            write_part(parts_dir, key, enrich_batch(batch, cfg, providers, cache))
            n_run += 1
        if on_batch is not None:
            on_batch(i + 1, len(batches))
    outputs, report = combine_parts(parts_dir, [k for k, _ in batches], Path(out_dir), capabilities)
    logger.info("enrichment coverage: %s", report["coverage"])
    return EnrichResult(outputs, report, len(batches), n_run)
