"""``enrich_flow``: every configured provider over the track catalogue, in batches.

``refresh_metadata_flow`` (for a cron schedule) redoes every batch with the per-key cache:
only answers past their TTL, and keys that failed, go to the network again.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from prefect import flow

from moodrec.catalogue import Catalogue
from moodrec.enrich.stage import EnrichConfig, plan_batches
from moodrec.flows.common import stage_settings
from moodrec.tasks.enrich import (
    combine_enrichment,
    count_stale,
    enrich_batch_task,
    probe_providers,
    start_progress,
    update_progress,
)


@flow(name="enrich", log_prints=False)
def enrich_flow(
    profile: str = "demo",
    overrides: dict[str, Any] | None = None,
    cfg: EnrichConfig | None = None,
) -> dict[str, Any]:
    """Enrichment stage: tracks → track links, audio features, artist genres, lyrics.

    Parameters
    ----------
    profile
        Config profile name or path.
    overrides
        Nested setting overrides (never secrets).
    cfg
        The stage config until ``Settings.enrich`` exists (default ``EnrichConfig()``).
    """
    return _enrich(profile, overrides, cfg, refresh=False)


@flow(name="refresh-metadata", log_prints=False)
def refresh_metadata_flow(
    profile: str = "demo",
    overrides: dict[str, Any] | None = None,
    cfg: EnrichConfig | None = None,
) -> dict[str, Any]:
    """Re-fetch cached answers older than their TTL (and failed keys); rebuild the tables.

    Parameters are those of :func:`enrich_flow`. Fresh answers come from the cache, so a
    refresh with nothing expired sends no request.
    """
    return _enrich(profile, overrides, cfg, refresh=True)


def _enrich(
    profile: str, overrides: dict[str, Any] | None, cfg: EnrichConfig | None, *, refresh: bool
) -> dict[str, Any]:
    settings, data_dir = stage_settings(profile, overrides)
    cfg = cfg or getattr(settings, "enrich", None) or EnrichConfig()
    tracks = Catalogue(data_dir).ref("tracks")
    batches = plan_batches(pl.read_parquet(tracks.path), cfg)
    stale = count_stale(cfg, data_dir) if refresh else 0
    capabilities = probe_providers(cfg, profile, data_dir)
    progress = start_progress(len(batches))
    keys = []
    for i, (key, _) in enumerate(batches):
        keys.append(
            enrich_batch_task(
                tracks, key, i * cfg.batch_size, cfg, capabilities, data_dir, profile, refresh
            )
        )
        update_progress(progress, i + 1, len(batches))
    result = combine_enrichment(keys, capabilities, data_dir)
    return {"data_dir": data_dir, "stale": stale, **result}
