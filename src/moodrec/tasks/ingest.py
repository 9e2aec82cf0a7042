"""Prefect tasks: register a raw listening log and ingest it into the canonical tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from moodrec.catalogue import Catalogue
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import ingest_lastfm1k
from moodrec.ingest.listens import ingest_sources, write_source_record
from moodrec.storage import DatasetRef, stage_outputs
from moodrec.tasks.cache_policy import CHECKPOINT_CACHE
from moodrec.tasks.datasets import SOURCE_RECORD

#: the tables ``ingest_lastfm1k`` writes, recorded under these names
INGEST_DATASETS = ("events", "tracks", "artists", "users", "plays", "sessions", "rejects")


@task(name="ingest-lastfm1k", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def ingest_listening_log(
    log: DatasetRef, profile: DatasetRef | None, cfg: IngestConfig, data_dir: str
) -> dict[str, Any]:
    """Ingest a Last.fm-1K-layout log into ``interim/`` and register every table.

    Returns ``{"refs": {name: DatasetRef}, "summary": dict}``.
    """
    logger = get_run_logger()
    catalogue = Catalogue(data_dir)
    # the tables and their summary: all or none (the ingest's own staging joins this one)
    with stage_outputs(catalogue.root, label="ingest") as staging:
        result = ingest_lastfm1k(
            Path(log.path),
            catalogue.layer_dir("interim"),
            cfg,
            profile_path=Path(profile.path) if profile else None,
        )
        summary_path = staging.write_json(catalogue.path("ingest_summary"), result.summary)
    if result.n_rejected:
        logger.warning(
            "%d of %d lines rejected; see %s",
            result.n_rejected,
            result.n_lines,
            result.outputs["rejects"],
        )
    refs = catalogue.register_many({**result.outputs, "ingest_summary": summary_path})
    logger.info(
        "ingested %d events (%d users, %d tracks, %d artists, %d sessions)",
        result.n_events,
        result.n_users,
        result.n_tracks,
        result.n_artists,
        result.n_sessions,
    )
    return {"refs": refs, "summary": result.summary}


@task(name="ingest-sources", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def ingest_sources_task(
    raw: dict[str, DatasetRef], cfg: IngestConfig, data_dir: str
) -> dict[str, Any]:
    """Ingest the configured real inputs (``lastfm1k``, ``scrobbles``, ``hetrec``,
    ``listens``) into ``interim/`` and register every table.

    ``raw`` (the inputs' fingerprints) is only part of the cache key. Returns
    ``{"refs": {name: DatasetRef}, "summary": dict}``.
    """
    logger = get_run_logger()
    catalogue = Catalogue(data_dir)
    interim = catalogue.layer_dir("interim")
    with stage_outputs(catalogue.root, label="ingest") as staging:  # tables + records
        result = ingest_sources(cfg, interim)
        summary_path = staging.write_json(catalogue.path("ingest_summary"), result.summary)
        write_source_record(staging.path(interim / SOURCE_RECORD), cfg, result)
    if result.summary.get("rejected"):
        logger.warning(
            "%d input lines rejected; see %s", result.summary["rejected"], result.outputs["rejects"]
        )
    if result.summary.get("duplicates_dropped"):
        logger.info("%d exact duplicate events dropped", result.summary["duplicates_dropped"])
    refs = catalogue.register_many(
        {**result.outputs, "ingest_summary": summary_path, "ingest_source": interim / SOURCE_RECORD}
    )
    logger.info(
        "ingested %s (%s level): %d users, %d items",
        cfg.source,
        result.item_level,
        result.summary.get("users", 0),
        result.summary.get("tracks", 0),
    )
    return {"refs": refs, "summary": result.summary}
