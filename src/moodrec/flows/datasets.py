"""Flows for the data sets a user brings besides the 1K log: HetRec, scrobble exports,
downloads of the public data sets and the dataset profile report (wiring only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow

from moodrec.catalogue import Catalogue
from moodrec.flows.common import stage_settings
from moodrec.ingest.download import load_download_config
from moodrec.ingest.profile import ProfileReportConfig
from moodrec.storage import fingerprint_file, fingerprint_files
from moodrec.tasks.artifacts import publish_checkpoints
from moodrec.tasks.checkpoints import register_raw_input, run_checkpoint_task
from moodrec.tasks.datasets import (
    HETREC_SUBDIR,
    SOURCE_RECORD,
    download_dataset_task,
    ingest_hetrec_checkpoint,
    ingest_scrobbles_checkpoint,
    profile_checkpoint,
    publish_profile,
    register_hetrec_folder,
)

#: the tables a dataset profile reads (1K / scrobbles and HetRec layouts)
PROFILED_TABLES = frozenset(
    {"events", "tracks", "artists", "users", "plays", "sessions", "tags", "artist_tags"}
    | {"tag_assignments", "friends"}
)
DEFAULT_DOWNLOADS_CONFIG = Path("config/datasets/downloads.yaml")


@flow(name="ingest-hetrec", log_prints=False)
def hetrec_ingest_flow(
    folder: str, profile: str = "demo", overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """HetRec 2011 Last.fm folder → ``interim/hetrec/`` (plays, users, artists, tags ...)."""
    settings, data_dir = stage_settings(profile, overrides)
    raw = register_hetrec_folder(folder, data_dir)
    result = run_checkpoint_task(
        ingest_hetrec_checkpoint,
        raw,
        settings.ingest,
        data_dir,
        data_dir=data_dir,
    )
    publish_checkpoints("ingest-hetrec", result["refs"], result["summary"], settings.profile, False)
    return {"data_dir": data_dir, "synthetic": False, **result}


@flow(name="ingest-scrobbles", log_prints=False)
def scrobbles_ingest_flow(
    file: str,
    user: str | None = None,
    profile: str = "demo",
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A personal scrobble export → the canonical ``interim/`` tables (as the 1K ingest)."""
    settings, data_dir = stage_settings(profile, overrides)
    export = register_raw_input("scrobble_export", file, data_dir)
    result = run_checkpoint_task(
        ingest_scrobbles_checkpoint,
        export,
        user,
        settings.ingest,
        data_dir,
        data_dir=data_dir,
    )
    publish_checkpoints(
        "ingest-scrobbles", result["refs"], result["summary"], settings.profile, False
    )
    return {"data_dir": data_dir, "synthetic": False, **result}


@flow(name="download-dataset", log_prints=False)
def download_flow(
    dataset: str,
    to: str | None = None,
    config_path: str = str(DEFAULT_DOWNLOADS_CONFIG),
    allow_unverified: bool = False,
) -> dict[str, Any]:
    """Download, verify and unpack ``lastfm-1k`` or ``hetrec-lastfm`` (skipped when valid)."""
    cfg = load_download_config(config_path, allow_unverified=allow_unverified or None)
    return download_dataset_task(dataset, cfg, to)


def _events_source(interim: Path, default: str) -> str:
    """``scrobbles`` when the scrobble ingest wrote the current events, else ``default``."""
    record = interim / SOURCE_RECORD
    if not record.is_file():
        return default
    meta = json.loads(record.read_text(encoding="utf-8"))
    if meta.get("events_fingerprint") == fingerprint_file(interim / "events.parquet"):
        return str(meta.get("source", default))
    return default


@flow(name="profile", log_prints=False)
def profile_flow(
    profile: str = "demo",
    overrides: dict[str, Any] | None = None,
    report: ProfileReportConfig | None = None,
) -> dict[str, Any]:
    """Profile every ingested data set of the profile's data folder (1K/scrobbles, HetRec)."""
    settings, data_dir = stage_settings(profile, overrides)
    interim = Catalogue(data_dir).layer_dir("interim")
    datasets: dict[str, str] = {}
    events_source = settings.ingest.source
    if (interim / "events.parquet").is_file():
        events_source = _events_source(interim, events_source)
        datasets[events_source] = str(interim)
    if (interim / HETREC_SUBDIR / "plays.parquet").is_file():
        datasets["hetrec"] = str(interim / HETREC_SUBDIR)
    fingerprints = {
        # only the listening tables: later stages write other Parquet files beside them
        name: fingerprint_files(
            sorted(p for p in Path(folder).glob("*.parquet") if p.stem in PROFILED_TABLES)
        )
        for name, folder in datasets.items()
    }
    synthetic = "sandbox" in datasets
    result = run_checkpoint_task(
        profile_checkpoint,
        datasets,
        fingerprints,
        report or ProfileReportConfig(),
        data_dir,
        synthetic,
        data_dir=data_dir,
    )
    publish_profile(
        result["refs"]["profile_report"].path, result["summary"], settings.profile, synthetic
    )
    return {"data_dir": data_dir, "synthetic": synthetic, **result}
