"""train_flow / evaluate_flow on the tiny sandbox under a temporary Prefect API."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from moodrec import progress
from moodrec.errors import ModelError
from moodrec.flows.recommend import evaluate_flow, recommend_user, train_flow
from moodrec.models.base import Recommender
from moodrec.models.serving import RecommenderService, recommend_for_user

pytestmark = pytest.mark.slow

MODELS = ["popularity", "itemknn", "ease", "ials"]


def test_train_evaluate_and_recommend(harness, config_env, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    overrides = {
        "paths": {"data_dir": str(data_dir)},
        "recommend": {
            "models": MODELS,
            "params": {"ials": {"factors": 8, "iterations": 5, "reg": 1.0}},
            "n_bootstrap": 50,
            "tuning": {"enabled": True, "spaces": {"ease": {"lambda_": [10.0, 100.0]}}},
        },
    }
    trained = train_flow(profile="tiny", overrides=overrides)
    for name in MODELS:
        model = Recommender.load(data_dir / "models" / name)
        assert model.name == name and model.n_items == trained["split"]["summary"]["n_items"]
    tuning = pd.read_parquet(data_dir / "models" / "ease" / "tuning.parquet")
    assert len(tuning) == 2 and (tuning["status"] == "ok").all()
    assert trained["fits"]["ease"]["summary"]["params"]["lambda_"] in (10.0, 100.0)

    events: list[progress.ProgressEvent] = []
    with progress.listening(events.append):
        result = evaluate_flow(profile="tiny", overrides=overrides)
    # the terminal view's bars: models evaluated so far, and each model's users ranked
    per_model = [(e.done, e.total) for e in events if e.name == "evaluate: models"]
    assert per_model == [(i, len(MODELS)) for i in range(len(MODELS) + 1)]
    for name in MODELS:
        users = [e for e in events if e.name == f"evaluate {name}: users"]
        assert users and users[-1].done == users[-1].total > 0
    table = pd.read_parquet(data_dir / "reports" / "recommend_metrics.parquet")
    assert set(table["model"]) == set(MODELS)
    for col in ("ndcg@20", "recall@10", "hr@20", "mrr@20", "map@20", "precision@20"):
        assert table[col].between(0, 1).all()
        assert (table[f"{col}_ci_low"] <= table[col]).all()
        assert (table[col] <= table[f"{col}_ci_high"]).all()
    assert {"coverage@20", "novelty@20", "fit_s"} <= set(table.columns)
    assert (data_dir / "reports" / "recommend_metrics.md").read_text().startswith("| model")
    assert result["table"]["best_model"] in MODELS
    manifest = json.loads((data_dir / "manifest.json").read_text())["datasets"]
    assert "recommend_metrics" in manifest and "model_ials" in manifest

    # a re-run with nothing changed is served from the cache
    again = evaluate_flow(profile="tiny", overrides=overrides)
    assert again["refs"] == result["refs"]

    # serving from the saved model: titles, ranks, seen items excluded on request
    plays = pd.read_parquet(data_dir / "interim" / "plays.parquet")
    user = int(plays["user_id"].iloc[0])
    recs = recommend_for_user(data_dir / "models" / "ials", data_dir, user, k=5, exclude_seen=True)
    assert list(recs.columns) == ["rank", "track_id", "artist", "title", "score"]
    assert list(recs["rank"]) == [1, 2, 3, 4, 5]
    service = RecommenderService(data_dir / "models" / "ials", data_dir)
    seen = set(plays.loc[plays["user_id"] == user, "track_id"])
    split_seen = service.model._seen_matrix()[service.user_index(user)].indices
    assert not set(recs["track_id"]) & set(service.item_ids[split_seen].tolist())
    assert seen  # the user has plays
    assert (recs["title"] != "").all()
    via_profile = recommend_user(
        "tiny", user, k=5, exclude_seen=True, overrides={"paths": {"data_dir": str(data_dir)}}
    )
    pd.testing.assert_frame_equal(via_profile, recs)
    with pytest.raises(ModelError, match="no saved model"):
        recommend_user("tiny", user, model="bpr", overrides={"paths": {"data_dir": str(data_dir)}})


def test_unknown_model_is_an_error(harness, config_env, tmp_path: Path) -> None:
    overrides = {"paths": {"data_dir": str(tmp_path)}, "recommend": {"models": ["nope"]}}
    with pytest.raises(ModelError, match="nope"):
        train_flow.fn(profile="tiny", overrides=overrides)
