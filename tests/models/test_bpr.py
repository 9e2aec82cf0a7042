"""BPR matrix factorisation: learns planted tastes, reproducible, saves without pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodrec.errors import ModelFitError
from moodrec.evaluation.ablation import rank_metrics
from moodrec.models.base import Recommender
from moodrec.models.bpr import BPRMF
from tests.models.planted import planted

# the planted matrix has ~900 interactions: 30 epochs of 64-pair batches need a larger step
# than the default (tuned on HetRec, ~60k interactions)
FAST = {"batch_size": 64, "epochs": 30, "lr": 0.01}


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def model(data):
    return BPRMF(**FAST).fit(data.train)


def _warm_ndcg(scores: np.ndarray, data) -> float:
    warm = np.setdiff1d(np.arange(data.train.shape[1]), data.cold_items)
    return float(rank_metrics(scores, data.test, data.train, warm, 10)["ndcg"].mean())


def test_bpr_beats_popularity_and_nears_the_planted_oracle(data, model) -> None:
    n_users = data.train.shape[0]
    pop = np.tile(np.asarray(data.train.sum(0)).ravel(), (n_users, 1))
    oracle = (data.user_group[:, None] == data.item_group[None, :]).astype(float)
    got = _warm_ndcg(model.score(np.arange(n_users)), data)
    assert got > 2 * _warm_ndcg(pop, data)
    assert got > 0.7 * _warm_ndcg(oracle, data)


def test_bpr_is_reproducible_with_a_seed(data, model) -> None:
    again = BPRMF(**FAST).fit(data.train)
    np.testing.assert_array_equal(again.score(np.arange(5)), model.score(np.arange(5)))
    other = BPRMF(**FAST, seed=1).fit(data.train)
    assert not np.allclose(other.score(np.arange(5)), model.score(np.arange(5)))


def test_bpr_save_load_roundtrip(data, model, tmp_path: Path) -> None:
    model.save(tmp_path / "bpr")
    loaded = Recommender.load(tmp_path / "bpr")
    assert isinstance(loaded, BPRMF)
    assert loaded.params == model.params
    users = np.arange(10)
    np.testing.assert_array_equal(loaded.score(users), model.score(users))
    np.testing.assert_array_equal(loaded.recommend(users, 5)[0], model.recommend(users, 5)[0])


def test_bpr_cannot_score_cold_items_and_never_recommends_seen(data, model) -> None:
    assert BPRMF.scores_cold_items is False
    s = model.score(np.arange(3), data.cold_items)
    # cold items carry no factors: their score is the same for every item of a user
    assert np.allclose(s, s[:, :1])
    idx, _ = model.recommend(np.arange(20), 10)
    for u in range(20):
        seen = data.train[u].indices
        assert not set(idx[u]) & set(seen)


def test_bpr_early_stops_on_validation(data) -> None:
    m = BPRMF(**{**FAST, "epochs": 40, "patience": 2}).fit(data.train, validation=data.test)
    info = m.fit_info
    assert info["epochs"] <= 40
    assert len(info["history"]) == info["epochs"]
    assert info["best_epoch"] == int(np.argmax(info["history"]))


def test_bpr_divergence_is_a_model_fit_error(data) -> None:
    with pytest.raises(ModelFitError, match="not finite"):
        BPRMF(batch_size=64, epochs=3, lr=1e30, reg=0.0).fit(data.train)
