"""Session-rec evaluation: splits by time, exact HR/MRR/mood error, CIs, windows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from moodrec.session.base import SessionRecommender
from moodrec.session.data import ItemMood, build_session_data
from moodrec.session.evaluate import (
    bootstrap_table,
    evaluate_sessions,
    paired_differences,
    results_markdown,
    sample_sessions,
    split_last_sessions,
    window_splits,
)
from tests.session.conftest import make_events


class FixedRanking(SessionRecommender):
    """Test double: always ranks items by a fixed score vector."""

    name = ""  # not registered

    def __init__(self, scores: np.ndarray, **params: Any) -> None:
        super().__init__(**params)
        self.scores = np.asarray(scores, dtype=float)

    def _fit(self, train) -> None:
        pass

    def score_next(self, prefix, user=None, target_mood=None) -> np.ndarray:
        return self.scores


def test_split_holds_out_each_users_last_sessions(world) -> None:
    split = split_last_sessions(world, n_test=2)
    assert np.intersect1d(split.train, split.test).size == 0
    assert np.union1d(split.train, split.test).size == world.n_sessions
    for u in range(world.n_users):
        mine = np.flatnonzero(world.session_user == u)
        held = np.intersect1d(mine, split.test)
        assert held.size == 2
        # held-out sessions are the user's latest by time
        assert world.session_start[held].min() > world.session_start[np.setdiff1d(mine, held)].max()


def test_a_single_session_user_keeps_it_for_training() -> None:
    data = build_session_data(
        make_events([[0, 1], [1, 2], [2, 0]], users=[0, 1, 1]),
        pd.DataFrame({"track_id": [0, 1, 2], "artist_id": [0, 0, 0]}),
    )
    split = split_last_sessions(data, n_test=1)
    assert split.test.tolist() == [2] and split.train.tolist() == [0, 1]


def test_hit_rate_mrr_and_mood_error_are_exact() -> None:
    # one session 0 → 1 → 2; the model ranks 2, 1, 0, 3 always
    events = make_events([[0, 1, 2]], users=[0])
    tracks = pd.DataFrame({"track_id": range(4), "artist_id": [0] * 4})
    ve = np.array([[0.0, 0.0], [0.0, 0.3], [0.0, 0.4], [np.nan, np.nan]])
    data = build_session_data(
        events, tracks, mood=ItemMood(ve=ve, content=np.zeros((4, 0)), content_columns=[])
    )
    model = FixedRanking(np.array([1.0, 2.0, 3.0, 0.0])).fit(data)
    per = evaluate_sessions({"fixed": model}, data, ks=(1, 2))
    row = per.iloc[0]
    # targets: 1 (rank 2), 2 (rank 1)
    assert row["n_predictions"] == 2
    assert row["HR@1"] == 0.5 and row["HR@2"] == 1.0
    assert row["MRR@1"] == 0.5 and row["MRR@2"] == pytest.approx((0.5 + 1.0) / 2)
    # top-10 = 2, 1, 0, 3 (3 has no features): distances to target 1: .1, 0, .3; to 2: 0, .1, .4
    assert row["mood_err@10"] == pytest.approx(((0.1 + 0 + 0.3) / 3 + (0 + 0.1 + 0.4) / 3) / 2)
    limited = evaluate_sessions({"fixed": model}, data, ks=(1,), max_positions=1)
    assert limited.iloc[0]["n_predictions"] == 1 and limited.iloc[0]["HR@1"] == 0.0


def test_bootstrap_ci_brackets_the_mean_and_paired_differences() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for s in range(60):
        a = float(rng.random() < 0.6)
        rows.append(
            {
                "model": "a",
                "session": s,
                "n_predictions": 3,
                "HR@10": a,
                "MRR@10": a / 2,
                "mood_err@10": 0.3,
                "ms_per_call": 1.0,
            }
        )
        rows.append(
            {
                "model": "b",
                "session": s,
                "n_predictions": 3,
                "HR@10": a * 0.0,
                "MRR@10": 0.0,
                "mood_err@10": np.nan,
                "ms_per_call": 1.0,
            }
        )
    per = pd.DataFrame(rows)
    table = bootstrap_table(per, (10,), rounds=200, seed=1).set_index("model")
    a = table.loc["a"]
    assert a["HR@10_lo"] <= a["HR@10"] <= a["HR@10_hi"] and a["HR@10_lo"] < a["HR@10_hi"]
    assert np.isnan(table.loc["b", "mood_err@10"])
    diffs = paired_differences(per, "a", ["b", "missing"], ["HR@10", "mood_err@10"], 200, 1)
    assert diffs["baseline"].tolist() == ["b"]  # mood error all-NaN for b, missing model skipped
    d = diffs.iloc[0]
    assert d["diff"] == pytest.approx(per.query("model == 'a'")["HR@10"].mean())
    assert 0 < d["lo"] <= d["diff"] <= d["hi"]
    md = results_markdown(
        table.reset_index(), (10,), "Session recommenders (synthetic)", ["n"], diffs
    )
    assert md.splitlines()[0] == "# Session recommenders (synthetic)"
    assert "| b |" in md and "n/a" in md


def test_windows_train_before_and_test_after_each_cut(world) -> None:
    splits = window_splits(world, (0.5, 0.75))
    assert len(splits) == 2
    start = world.session_start
    for sp in splits:
        assert start[sp.train].max() < start[sp.test].min()
    assert window_splits(world, ()) == []
    assert sample_sessions(np.arange(10), 3, 0).size == 3
    assert sample_sessions(np.arange(10), 0, 0).size == 10
