"""The recommend stage without Prefect: split → tune and fit → evaluate → table, in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.errors import InputDataError
from moodrec.experiment import stage
from moodrec.interactions.matrix import InteractionData, load_matrix
from moodrec.models import load_model
from moodrec.models.config import RecommendConfig


def plays_frame(seed: int = 0, n_users: int = 40, n_items: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (u, i, int(rng.integers(1, 9)))
        for u in range(n_users)
        for i in range(n_items)
        if rng.random() < 0.3
    ]
    return pd.DataFrame(rows, columns=["user_id", "track_id", "plays"])


def test_split_config_is_the_split_fields_of_the_recommend_config() -> None:
    cfg = RecommendConfig(split="cold_items", seed=4, models=["ease"])
    split = stage.SplitConfig.of(cfg)
    assert split.split == "cold_items" and split.seed == 4
    assert stage.SplitConfig.of(cfg.model_copy(update={"models": ["ials"]})) == split


def test_model_tuning_keeps_only_the_models_space() -> None:
    cfg = RecommendConfig(
        tuning={"enabled": True, "spaces": {"ease": {"lambda_": [1.0]}, "ials": {"reg": [1.0]}}}
    )
    assert stage.model_tuning(cfg, "ease").spaces == {"ease": {"lambda_": [1.0]}}
    assert stage.model_tuning(cfg, "itemknn").spaces == {}
    off = cfg.model_copy(update={"tuning": cfg.tuning.model_copy(update={"enabled": False})})
    assert stage.model_tuning(off, "ease").spaces == {}


def test_the_stage_end_to_end(tmp_path: Path) -> None:
    cfg = RecommendConfig(
        models=["popularity", "ease"],
        tuning={"enabled": True, "spaces": {"ease": {"lambda_": [10.0, 100.0]}}},
        n_bootstrap=20,
    )
    plays = plays_frame()
    catalogue = np.arange(35)  # five tracks nobody played: cold columns
    split_dir = tmp_path / "models" / "split"
    paths, summary = stage.build_split(plays, catalogue, stage.SplitConfig.of(cfg), split_dir)
    assert summary["n_items"] == 35 and summary["n_users"] == 40
    parts = {p: load_matrix(split_dir / f"{p}.npz") for p in stage.SPLIT_PARTS}
    assert parts["train"].nnz + parts["validation"].nnz == parts["train_full"].nnz
    assert parts["train_full"].nnz + parts["test"].nnz == summary["n_interactions"]
    assert set(paths) == {f"recommend_{p}" for p in (*stage.SPLIT_PARTS, "maps")}

    fits, evaluations, per_user = {}, {}, {}
    for name in cfg.models:
        fitted = stage.tune_and_fit(
            name,
            stage.model_params(cfg, name),
            split_dir,
            stage.model_tuning(cfg, name),
            cfg.weighting,
        )
        folder = tmp_path / "models" / name
        saved = stage.save_fitted(fitted, split_dir, folder, cfg.weighting)
        assert load_model(folder).params == fitted.model.params
        assert InteractionData.load_maps(folder)[1].tolist() == catalogue.tolist()
        assert (f"model_{name}_tuning" in saved) == (name == "ease")
        fits[name] = fitted.summary
        out = tmp_path / "reports" / f"{name}.parquet"
        path, evaluations[name] = stage.evaluate_saved(folder, split_dir, list(cfg.ks), out)
        per_user[name] = pd.read_parquet(path)
    assert fits["ease"]["params"]["lambda_"] in (10.0, 100.0) and fits["ease"]["tuning_s"] > 0

    table = stage.metrics_table(per_user, evaluations, fits, list(cfg.ks), 20, 0)
    assert table["ndcg@20"].is_monotonic_decreasing
    assert {"coverage@20", "fit_s", "eval_s", "ndcg@20_ci_low"} <= set(table.columns)
    written, summary, markdown = stage.write_summary(table, fits, list(cfg.ks), tmp_path / "r")
    assert summary["best_model"] == table["model"].iloc[0]
    assert written["recommend_metrics_md"].read_text() == markdown


def test_a_missing_split_matrix_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match=r"train\.npz"):
        load_matrix(tmp_path / "train.npz")
