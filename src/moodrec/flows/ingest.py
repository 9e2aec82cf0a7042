"""``ingest_flow``: get the listening log (sandbox world or a real file) and ingest it."""

from __future__ import annotations

from typing import Any

from prefect import flow

from moodrec.config.schema import Settings, is_synthetic_source
from moodrec.flows.common import sandbox_world, stage_settings
from moodrec.storage import DatasetRef
from moodrec.tasks.artifacts import publish_checkpoints
from moodrec.tasks.checkpoints import register_raw_input, run_checkpoint_task
from moodrec.tasks.ingest import ingest_listening_log


def _inputs(settings: Settings, data_dir: str) -> tuple[DatasetRef, DatasetRef | None]:
    """The raw log and profile file: generated sandbox world or the configured files."""
    if is_synthetic_source(settings):
        world = sandbox_world(settings, data_dir)
        return world["sandbox_log"], world["sandbox_profile"]
    cfg = settings.ingest
    log = register_raw_input(
        "lastfm1k_log",
        str(cfg.log_path),
        data_dir,  # required by IngestConfig for this source
    )
    profile = (
        register_raw_input("lastfm1k_profile", str(cfg.profile_path), data_dir)
        if cfg.profile_path
        else None
    )
    return log, profile


@flow(name="ingest", log_prints=False)
def ingest_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ingest stage: log → events, tracks, artists, users, plays, sessions (+ rejects).

    Parameters
    ----------
    profile
        Config profile name (``config/<profile>.yaml``) or path.
    overrides
        Nested setting overrides, e.g. ``{"sandbox": {"seed": 7}}`` (never secrets).
    """
    settings, data_dir = stage_settings(profile, overrides)
    log, profile_ref = _inputs(settings, data_dir)
    result = run_checkpoint_task(
        ingest_listening_log,
        log,
        profile_ref,
        settings.ingest,
        data_dir,
        data_dir=data_dir,
    )
    synthetic = is_synthetic_source(settings)
    publish_checkpoints("ingest", result["refs"], result["summary"], settings.profile, synthetic)
    return {"data_dir": data_dir, "synthetic": synthetic, **result}
