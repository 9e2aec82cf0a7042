"""The seed's rating regression: MF and deep model beat the global mean in RMSE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from moodrec.errors import ModelError
from moodrec.models.base import Recommender
from moodrec.models.rating import RatingDeep, RatingMF


@pytest.fixture(scope="module")
def ratings():
    """Ratings in [3, 10] from planted user/item biases and a rank-2 interaction."""
    rng = np.random.default_rng(3)
    n_users, n_items = 80, 120
    mask = rng.random((n_users, n_items)) < 0.3
    pu, qi = rng.normal(0, 1, (n_users, 2)), rng.normal(0, 1, (n_items, 2))
    bu, bi = rng.normal(0, 0.7, n_users), rng.normal(0, 0.7, n_items)
    logits = bu[:, None] + bi[None, :] + pu @ qi.T
    full = 3 + 7 / (1 + np.exp(-logits)) + rng.normal(0, 0.2, logits.shape)
    test_mask = mask & (rng.random(mask.shape) < 0.2)
    train = sp.csr_matrix(np.where(mask & ~test_mask, full, 0.0).astype(np.float32))
    test = sp.csr_matrix(np.where(test_mask, full, 0.0).astype(np.float32))
    return train, test


@pytest.mark.parametrize("klass", [RatingMF, RatingDeep])
def test_rating_models_beat_the_global_mean(ratings, klass, tmp_path: Path) -> None:
    train, test = ratings
    model = klass(epochs=40, batch_size=64, lr=0.01).fit(train, validation=test)
    mean_rmse = float(np.sqrt(np.mean((test.data - train.data.mean()) ** 2)))
    rmse = model.rmse(test)
    assert rmse < 0.8 * mean_rmse
    assert model.fit_info["best_rmse"] == pytest.approx(rmse, rel=1e-5)
    # score() and predict() agree; the saved model predicts the same
    coo = test.tocoo()
    np.testing.assert_allclose(
        model.score(coo.row[:5], None)[np.arange(5), coo.col[:5]],
        model.predict(coo.row[:5], coo.col[:5]),
        rtol=1e-5,
    )
    model.save(tmp_path / klass.name)
    loaded = Recommender.load(tmp_path / klass.name)
    assert loaded.rmse(test) == pytest.approx(rmse, rel=1e-6)


def test_rmse_of_empty_matrix_is_an_error(ratings) -> None:
    train, _ = ratings
    model = RatingMF(epochs=1).fit(train)
    with pytest.raises(ModelError, match="empty"):
        model.rmse(sp.csr_matrix(train.shape, dtype=np.float32))
