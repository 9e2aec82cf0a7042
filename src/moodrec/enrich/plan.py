"""Plan an enrichment run: select the tracks and split them into keyed batches, once.

A batch key hashes the batch's tracks and the settings that shape the answers (see
:func:`result_settings`), so a changed catalogue or provider setup never reuses a stale part,
while a restart of the sandbox servers on new ports keeps finished batches.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl

from moodrec.enrich.config import EnrichConfig
from moodrec.errors import ConfigError
from moodrec.storage import write_parquet_atomic

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
        # how long the open sources wait after a rate-limit answer
        "rate_limited_wait_s",
        "quota_wait_s",
    }
)


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
