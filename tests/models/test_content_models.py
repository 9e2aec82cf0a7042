"""cb2cf (iALS + content → factor mapping), lightfm (feature embeddings), missing-content flags."""

from __future__ import annotations

import numpy as np
import pytest

from moodrec.errors import ModelError
from moodrec.models import cb2cf
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.cb2cf import CB2CF, fit_ials_factors, fit_ridge
from moodrec.models.content_input import content_matrix
from moodrec.models.ials import IALS
from moodrec.models.lightfm import LightFMRecommender
from tests.models.planted import Planted, planted

IALS_PARAMS = {"factors": 8, "reg": 1.0, "alpha": 4.0, "iterations": 10}


def _cold_ndcg_proxy(model: Recommender, data: Planted) -> float:
    """Share of cold-item test hits in each user's top 20 of the whole catalogue."""
    users = np.flatnonzero(np.diff(data.test[:, data.cold_items].tocsr().indptr) > 0)
    top, _ = model.recommend(users, 20, exclude_seen=True)
    is_cold = np.zeros(data.train.shape[1], dtype=bool)
    is_cold[data.cold_items] = True
    hits = [
        len(set(top[r][top[r] >= 0]) & set(data.test[u].indices[is_cold[data.test[u].indices]]))
        for r, u in enumerate(users)
    ]
    return float(np.mean(hits))


def test_content_matrix_flags_missing_content_instead_of_a_silent_zero() -> None:
    values = np.array([[1.0, 10.0], [3.0, 0.0], [5.0, 30.0]], dtype=np.float32)
    avail = np.array([[True, True], [True, False], [True, True]])
    f = ItemFeatures(values, ["a", "b"], {"audio": ["a"], "genre": ["b"]}, avail)
    x, cols, has = content_matrix(f, ["audio", "genre"])
    assert cols == ["a", "b", "missing_genre"]  # audio is never missing: no flag
    np.testing.assert_allclose(x[:, 2], [0, 1, 0])
    # genre standardised over the two items that have it; the missing one sits at 0
    np.testing.assert_allclose(x[:, 1], [-1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(x[:, 0].mean(), 0, atol=1e-6)
    assert has.all()
    with pytest.raises(ModelError, match="no feature group"):
        content_matrix(f, ["lyrics"])


def test_ridge_recovers_a_linear_map() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    w = rng.normal(size=(3, 2))
    y = x @ w + np.array([1.0, -2.0])
    got_w, got_b = fit_ridge(x, y, 1e-6)
    np.testing.assert_allclose(got_w, w, atol=1e-4)
    np.testing.assert_allclose(got_b, [1.0, -2.0], atol=1e-4)
    w0, b0 = fit_ridge(np.zeros((5, 0)), y[:5], 1.0)
    assert w0.shape == (0, 2) and np.allclose(b0, y[:5].mean(0))


def test_cb2cf_keeps_ials_on_warm_items_and_maps_cold_ones() -> None:
    data = planted(seed=1)
    ials = IALS(**IALS_PARAMS).fit(data.train)
    model = CB2CF(**IALS_PARAMS).fit(data.train, item_features=data.features)
    warm = np.diff(data.train.tocsc().indptr) > 0
    np.testing.assert_allclose(model.item_factors[warm], ials.item_factors[warm])
    np.testing.assert_allclose(model.user_factors, ials.user_factors)
    assert np.abs(model.item_factors[data.cold_items]).sum() > 0
    # the informative group is chosen, the noise group is not
    chosen = model.selected_params()
    assert chosen["groups"] == ["audio"] and chosen["select"] is False
    assert _cold_ndcg_proxy(model, data) > _cold_ndcg_proxy(ials, data) + 0.5
    # the refit with the selected parameters reproduces the mapping without selecting again
    again = CB2CF(**(IALS_PARAMS | chosen)).fit(data.train, item_features=data.features)
    np.testing.assert_allclose(again.item_factors, model.item_factors, rtol=1e-5, atol=1e-6)


def test_kept_ials_fits_equal_new_ones() -> None:
    """A cb2cf fit reuses this process's last iALS fits of the same parameters and matrix
    (the ablation's families): the factors are the ones a new fit gives, the matrix content
    (not the object) is the key, and what the caller gets is its own copy."""
    data = planted(seed=1)
    cb2cf._IALS_FITS.clear()
    params = IALS(**IALS_PARAMS).params
    fresh = IALS(**IALS_PARAMS).fit(data.train)
    user, _ = fit_ials_factors(params, data.train)
    assert len(cb2cf._IALS_FITS) == 1
    user[:] = 0.0  # the caller's copy: the kept fit is untouched
    again_user, again_item = fit_ials_factors(params, data.train.copy())
    assert len(cb2cf._IALS_FITS) == 1  # same content, other object: a hit
    np.testing.assert_array_equal(again_user, fresh.user_factors)
    np.testing.assert_array_equal(again_item, fresh.item_factors)
    changed = data.train.copy()
    changed.data[0] += 1.0
    other_user, _ = fit_ials_factors(params, changed)
    assert len(cb2cf._IALS_FITS) == 2
    assert not np.array_equal(other_user, fresh.user_factors)
    # a second cb2cf fit (all hits) gives the first one's model exactly
    first = CB2CF(**IALS_PARAMS).fit(data.train, item_features=data.features)
    second = CB2CF(**IALS_PARAMS).fit(data.train, item_features=data.features)
    np.testing.assert_array_equal(first.item_factors, second.item_factors)
    np.testing.assert_array_equal(first.user_factors, second.user_factors)
    assert len(cb2cf._IALS_FITS) == 2  # at most the last two fits are kept


def test_cb2cf_without_features_is_ials_and_rejects_unknown_groups() -> None:
    data = planted(seed=1)
    ials = IALS(**IALS_PARAMS).fit(data.train)
    model = CB2CF(**IALS_PARAMS).fit(data.train)
    np.testing.assert_allclose(model.item_factors, ials.item_factors)
    with pytest.raises(ModelError, match="no feature group"):
        CB2CF(**IALS_PARAMS, groups=["genre"]).fit(data.train, item_features=data.features)
    with pytest.raises(ModelError, match="holdout_fraction"):
        CB2CF(holdout_fraction=1.5)


def test_lightfm_scores_cold_items_from_their_features() -> None:
    data = planted(seed=1)
    params = {"factors": 8, "epochs": 15, "batch_size": 64, "lr": 0.03, "groups": ["audio"]}
    model = LightFMRecommender(**params).fit(data.train, item_features=data.features)
    blind = LightFMRecommender(**(params | {"groups": ["topics"]})).fit(
        data.train, item_features=data.features
    )
    assert _cold_ndcg_proxy(model, data) > _cold_ndcg_proxy(blind, data) + 0.3
    with pytest.raises(ValueError, match="linear"):
        LightFMRecommender(hidden=[16])
