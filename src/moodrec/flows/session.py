"""``session_flow``: the ephemeral recommender — session models, mood signals, evaluation."""

from __future__ import annotations

from typing import Any

from prefect import flow

from moodrec.catalogue import Catalogue
from moodrec.config.schema import is_synthetic_source
from moodrec.enrich.outputs import OPEN_MOOD_INPUTS
from moodrec.errors import ConfigError
from moodrec.flows.common import enrich_inputs, stage_settings
from moodrec.flows.ingest import ingest_outputs
from moodrec.ingest.listens import resolve_item_level
from moodrec.storage import DatasetRef
from moodrec.tasks.artifacts import publish_checkpoints
from moodrec.tasks.checkpoints import register_raw_input, run_checkpoint_task
from moodrec.tasks.sandbox import world_dir
from moodrec.tasks.session import run_session_task


@flow(name="session", log_prints=False)
def session_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Session stage: sessions (+ mood features) → every session model, evaluated; the
    mood-aware model saved for ``recommend_in_session``; mood timeline plot.

    Parameters
    ----------
    profile
        Config profile name or path.
    overrides
        Nested overrides; ``{"session": {...}}`` sets ``SessionConfig`` fields, e.g.
        ``{"session": {"models": ["sknn", "mood"], "max_eval_sessions": 50}}``.
    """
    settings, data_dir = stage_settings(profile, overrides)
    settings.check_real_inputs(["session"])
    cfg = settings.session
    if resolve_item_level(settings.ingest) == "artist":
        raise ConfigError(
            f"session: needs listening events with timestamps, but ingest.source "
            f"{settings.ingest.source!r} gives an artist-level catalogue of play counts "
            "(no events); `moodrec run` skips this stage for such data"
        )
    # never re-ingests when ingest is skipped (the tables in the folder are used as they are)
    inputs: dict[str, DatasetRef] = ingest_outputs(
        profile, settings, data_dir, overrides, ("events", "tracks", "users"), "session"
    )
    synthetic = is_synthetic_source(settings)
    if cfg.features_source == "sandbox" and synthetic:
        truth = world_dir(data_dir, settings.sandbox) / "truth"
        for name in ("tracks", "sessions"):
            inputs[f"truth_{name}"] = register_raw_input(
                f"sandbox_truth_{name}", str(truth / f"{name}.parquet"), data_dir
            )
    elif cfg.features_source == "enrich":
        inputs |= enrich_inputs(data_dir, ("track_features",), "session")
        if cfg.enrich_mood == "open_fit":
            # whichever open tables the enrich stage wrote (a provider not set up writes none)
            manifest = Catalogue(data_dir).manifest
            written = manifest.load()
            inputs |= {n: manifest.get(n) for n in OPEN_MOOD_INPUTS if n in written}
        if synthetic:
            truth = world_dir(data_dir, settings.sandbox) / "truth"
            inputs["truth_sessions"] = register_raw_input(
                "sandbox_truth_sessions", str(truth / "sessions.parquet"), data_dir
            )
    elif cfg.features_source == "file":
        if not cfg.features_path:
            raise ConfigError("session.features_path is required when features_source is 'file'")
        inputs["features_file"] = register_raw_input(
            "session_features_file", cfg.features_path, data_dir
        )
    result = run_checkpoint_task(
        run_session_task,
        inputs,
        cfg,
        data_dir,
        synthetic,
        data_dir=data_dir,
    )
    publish_checkpoints("session", result["refs"], result["summary"], settings.profile, synthetic)
    return {"data_dir": data_dir, "synthetic": synthetic, **result}
