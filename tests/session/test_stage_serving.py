"""The whole stage on the tiny sandbox (pure, no Prefect), then serving from its outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moodrec.session.config import SessionConfig
from moodrec.session.data import load_session_data, read_truth_features
from moodrec.session.serving import (
    ServingError,
    SessionServer,
    recommend_in_session,
    write_mood_timeline,
)
from moodrec.session.stage import run_session_stage

CFG = SessionConfig(
    models=("pop", "sknn", "gru4rec", "mood"),
    window_models=("pop", "mood"),
    window_quantiles=(0.7,),
    sequence={"epochs": 1, "embedding_dim": 16, "hidden_dim": 16},
    max_eval_sessions=20,
    bootstrap_rounds=100,
)


@pytest.fixture(scope="module")
def stage(tiny_interim):
    truth = tiny_interim / "world" / "truth"
    data = load_session_data(
        tiny_interim / "data" / "interim", read_truth_features(truth / "tracks.parquet")
    )
    dirs = {layer: tiny_interim / "data" / layer for layer in ("reports", "features", "models")}
    truth_sessions = pd.read_parquet(truth / "sessions.parquet")
    return data, run_session_stage(data, CFG, dirs, True, truth_sessions)


def test_stage_writes_results_for_every_model(stage) -> None:
    data, result = stage
    table = pd.read_parquet(result.outputs["session_results"])
    assert table["model"].tolist() == list(CFG.models)
    for k in CFG.k_values:
        assert (
            (table[f"HR@{k}_lo"] <= table[f"HR@{k}"]) & (table[f"HR@{k}"] <= table[f"HR@{k}_hi"])
        ).all()
    # a longer list never hits less
    assert (table["HR@20"] >= table["HR@5"]).all()
    md = result.outputs["session_results_md"].read_text()
    assert md.splitlines()[0] == "# Session recommenders (synthetic sandbox data)"
    assert "Sliding time windows" in md and "Paired differences" in md
    moods = pd.read_parquet(result.outputs["session_moods"])
    assert len(moods) == data.n_sessions
    assert set(moods["mood"].dropna()) <= {"calm", "happy", "energetic", "sad"}
    agreement = result.report["mood_state_agreement"]
    assert agreement["matched_sessions"] == data.n_sessions
    # learned labels agree with the planted moods far above the 25 % of chance
    assert agreement["label_accuracy"] > 0.4
    assert result.outputs["mood_timeline_png"].is_file()


def test_recommend_in_session_recent_and_mood_override(stage, tiny_interim) -> None:
    data_dir = tiny_interim / "data"
    server = SessionServer(data_dir)
    rec = recommend_in_session(data_dir, "user_000001", k=7)
    assert rec.user == "user_000001" and len(rec.items) == 7
    assert rec.mood in {"calm", "happy", "energetic", "sad"}
    assert sum(rec.mood_posterior.values()) == pytest.approx(1.0, abs=1e-3)
    # the running session is the user's trailing plays within the 30-minute gap
    ts, items = server.user_events(0)
    gaps = np.diff(ts)
    start = int(np.flatnonzero(gaps > 1800)[-1]) + 1 if (gaps > 1800).any() else 0
    assert rec.session.tolist() == items[start:].tolist()
    sad = recommend_in_session(data_dir, 0, k=10, mood="sad")
    happy = recommend_in_session(data_dir, 0, k=10, mood="happy")
    assert sad.mood == "sad" and happy.mood == "happy"
    assert sad.items["valence"].mean() < happy.items["valence"].mean()
    fresh = server.recommend(0, k=5, session="none")
    assert fresh.session.size == 0 and len(fresh.items) == 5
    with pytest.raises(ServingError, match="unknown mood"):
        recommend_in_session(data_dir, 0, mood="grumpy")
    with pytest.raises(ServingError, match="unknown user"):
        recommend_in_session(data_dir, "user_999999")


def test_mood_timeline_and_missing_model(stage, tiny_interim, tmp_path) -> None:
    out = write_mood_timeline(tiny_interim / "data", "user_000002", tmp_path)
    assert out["html"].name == "mood_timeline_user_000002.html" and out["png"].is_file()
    with pytest.raises(ServingError, match="run the session stage"):
        SessionServer(tmp_path)


def test_stage_without_held_out_sessions_is_a_named_error(tmp_path) -> None:
    from moodrec.session.data import SessionDataError, build_session_data
    from tests.session.conftest import make_events

    data = build_session_data(
        make_events([[0, 1], [1, 2]], users=[0, 1]),
        pd.DataFrame({"track_id": [0, 1, 2], "artist_id": [0, 0, 1]}),
    )
    dirs = {layer: tmp_path / layer for layer in ("reports", "features", "models")}
    with pytest.raises(SessionDataError, match="nothing to evaluate"):
        run_session_stage(data, CFG, dirs, synthetic=False)


def test_recent_session_without_mood_features_serves_without_a_mood(tiny_interim, tmp_path):
    # issue 16: `recommend --session recent` on a model without mood features ended in
    # "zip() argument 2 is shorter than argument 1"
    import shutil

    data_dir = tmp_path / "data"
    shutil.copytree(tiny_interim / "data" / "interim", data_dir / "interim")
    data = load_session_data(data_dir / "interim", None)
    dirs = {layer: data_dir / layer for layer in ("reports", "features", "models")}
    cfg = CFG.model_copy(update={"models": ("pop", "mood"), "window_models": ("pop",)})
    run_session_stage(data, cfg, dirs, False)
    rec = recommend_in_session(data_dir, "user_000001", k=5, session="recent")
    assert rec.mood is None and rec.mood_posterior == {}
    assert len(rec.items) == 5
    with pytest.raises(ServingError, match="no mood states"):
        recommend_in_session(data_dir, "user_000001", k=5, mood="calm")
