"""Prefect task of the session stage: load sessions and features, run the pure stage,
register the written checkpoints.

The stage's libraries (torch, scipy, pandas) are imported when the task runs, not with this
module: an unchanged re-run, the task cached, never loads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from moodrec.catalogue import Catalogue
from moodrec.enrich.outputs import OPEN_MOOD_INPUTS
from moodrec.session.config import SessionConfig
from moodrec.storage import DatasetRef
from moodrec.tasks.cache_policy import CHECKPOINT_CACHE

_LAYERS = ("features", "models", "reports")


@task(name="session-recommenders", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def run_session_task(
    inputs: dict[str, DatasetRef], cfg: SessionConfig, data_dir: str, synthetic: bool
) -> dict[str, Any]:
    """Fit and evaluate the session recommenders; save the serving model and reports.

    ``inputs`` holds the ingest ``events`` (its folder holds ``tracks`` and ``users`` too,
    fingerprinted as ``tracks``/``users``) and optionally ``truth_tracks`` +
    ``truth_sessions`` (sandbox) or ``features_file``. Returns
    ``{"refs": {name: DatasetRef}, "summary": dict}``.
    """
    import pandas as pd

    from moodrec.enrich.outputs import session_features_from_enrich, session_features_from_open
    from moodrec.session.data import load_session_data, read_features_file, read_truth_features
    from moodrec.session.stage import run_session_stage

    logger = get_run_logger()
    features = None
    truth_sessions = None
    if "truth_tracks" in inputs:
        features = read_truth_features(Path(inputs["truth_tracks"].path))
    elif "features_file" in inputs:
        features = read_features_file(inputs["features_file"].path)
    elif "track_features" in inputs and cfg.enrich_mood == "open_fit":
        tables = {n: inputs[n].path for n in OPEN_MOOD_INPUTS if n in inputs}
        features = session_features_from_open(
            inputs["tracks"].path, tables, cfg.open_mood_min_evidence
        )
    elif "track_features" in inputs:
        features = session_features_from_enrich(
            inputs["tracks"].path, inputs["track_features"].path
        )
    if "truth_sessions" in inputs:
        truth_sessions = pd.read_parquet(inputs["truth_sessions"].path)
    data = load_session_data(Path(inputs["events"].path).parent, features)
    if features is None:
        logger.warning("no mood features: the session models run on item ids alone")
    catalogue = Catalogue(data_dir)
    dirs = {layer: catalogue.layer_dir(layer) for layer in _LAYERS}
    result = run_session_stage(data, cfg, dirs, synthetic, truth_sessions)
    logger.info(
        "session models HR@10 %s (mood error %s) in %.1f s",
        result.report["hr10"],
        result.report["mood_err10"],
        result.report["seconds"],
    )
    refs = catalogue.register_many(result.outputs)
    return {"refs": refs, "summary": result.report}
