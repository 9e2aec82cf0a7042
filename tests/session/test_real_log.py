"""Real Last.fm 1K sample: every session model runs end to end on item ids alone."""

from __future__ import annotations

import pandas as pd

from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import ingest_lastfm1k
from moodrec.session.config import SessionConfig
from moodrec.session.data import load_session_data
from moodrec.session.stage import run_session_stage


def test_session_models_run_on_the_real_log_sample(shared_data, tmp_path) -> None:
    log = shared_data / "lastfm_1k" / "userid-timestamp-artid-artname-traid-traname.head5000.tsv"
    ingest_lastfm1k(log, tmp_path / "interim", IngestConfig())
    data = load_session_data(tmp_path / "interim")
    assert data.mood is None and data.items.size == 5000
    cfg = SessionConfig(
        features_source="none",
        test_sessions_per_user=10,
        sequence={"epochs": 1, "embedding_dim": 16, "hidden_dim": 16},
        window_quantiles=(0.8,),
        max_eval_sessions=20,
        bootstrap_rounds=100,
    )
    dirs = {layer: tmp_path / layer for layer in ("reports", "features", "models")}
    result = run_session_stage(data, cfg, dirs, synthetic=False)
    table = pd.read_parquet(result.outputs["session_results"])
    assert table["model"].tolist() == list(cfg.models)
    assert table["mood_err@10"].isna().all()
    assert (table["n_predictions"] > 0).all()
    md = result.outputs["session_results_md"].read_text()
    assert md.splitlines()[0] == "# Session recommenders"
    assert "item ids alone" in md
    assert result.report["mood_states"] == []
