"""Hybrid CF + content model: scores cold items from content, matches CF on warm items."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from moodrec.errors import ModelError
from moodrec.evaluation.ablation import rank_metrics
from moodrec.models.base import Recommender
from moodrec.models.hybrid import HybridRecommender
from tests.models.planted import planted

FAST = {"batch_size": 64, "epochs": 30}


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def fitted(data):
    return {
        name: HybridRecommender(**FAST, groups=groups).fit(data.train, item_features=data.features)
        for name, groups in {"cf": [], "signal": ["audio"], "noise": ["topics"]}.items()
    }


def _ndcg(model, data, items) -> float:
    scores = model.score(np.arange(data.train.shape[0]))
    return float(rank_metrics(scores, data.test, data.train, items, 10)["ndcg"].mean())


def test_hybrid_scores_cold_items_from_content(data, fitted) -> None:
    assert HybridRecommender.scores_cold_items is True
    cold = data.cold_items
    cf, signal, noise = (_ndcg(fitted[n], data, cold) for n in ("cf", "signal", "noise"))
    # content that reveals the planted groups: a wide margin over CF, which cannot rank them
    assert signal > cf + 0.2
    assert signal > noise + 0.15


def test_hybrid_matches_cf_on_warm_items(data, fitted) -> None:
    warm = np.setdiff1d(np.arange(data.train.shape[1]), data.cold_items)
    # within 10 % of CF on 120 users (the planted content adds nothing CF lacks on warm items)
    assert _ndcg(fitted["signal"], data, warm) >= 0.9 * _ndcg(fitted["cf"], data, warm)


def test_hybrid_without_groups_gives_cold_items_a_neutral_score(data, fitted) -> None:
    s = fitted["cf"].score(np.arange(4), data.cold_items)
    assert np.allclose(s, 0.0)


def test_hybrid_save_load_roundtrip_needs_no_features(data, fitted, tmp_path: Path) -> None:
    m = fitted["signal"]
    m.save(tmp_path / "h")
    loaded = Recommender.load(tmp_path / "h")
    assert isinstance(loaded, HybridRecommender)
    assert loaded.params["groups"] == ["audio"]
    np.testing.assert_array_equal(loaded.score(np.arange(7)), m.score(np.arange(7)))


def test_hybrid_is_reproducible(data, fitted) -> None:
    again = HybridRecommender(**FAST, groups=["audio"]).fit(data.train, item_features=data.features)
    np.testing.assert_array_equal(again.score(np.arange(5)), fitted["signal"].score(np.arange(5)))


def test_hybrid_feature_errors(data) -> None:
    with pytest.raises(ModelError, match="need item_features"):
        HybridRecommender(groups=["audio"]).fit(data.train)
    with pytest.raises(ModelError, match="no feature group"):
        HybridRecommender(groups=["genre"]).fit(data.train, item_features=data.features)
    with pytest.raises(ValidationError, match="unknown feature group"):
        HybridRecommender(groups=["lyrics"])
    bad = data.features.values.copy()
    bad[0, 0] = np.nan
    from moodrec.models.base import ItemFeatures

    nan_features = ItemFeatures(bad, data.features.columns, data.features.groups)
    with pytest.raises(ModelError, match="NaN"):
        HybridRecommender(groups=["audio"]).fit(data.train, item_features=nan_features)
