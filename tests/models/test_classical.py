"""Model-specific behaviour of the classical recommenders."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from moodrec.errors import ModelError, ModelFitError
from moodrec.models.ease import EASE, EASE_MAX_ITEMS
from moodrec.models.ials import IALS
from moodrec.models.itemknn import ItemKNN


def random_matrix(seed: int = 0, shape: tuple[int, int] = (40, 30)) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random(shape) < 0.2) * rng.integers(1, 20, shape)
    return sp.csr_matrix(dense.astype(np.float32))


def test_ease_prunes_to_the_most_popular_items_and_ranks_the_rest_below() -> None:
    m = random_matrix()
    pop = np.bincount(m.indices, minlength=m.shape[1])
    model = EASE(lambda_=10.0, max_items=12).fit(m)
    kept = set(model.kept.tolist())
    assert len(kept) == 12
    assert min(pop[list(kept)]) >= max(pop[[i for i in range(30) if i not in kept]])
    s = model.score(np.arange(5))
    dropped = [i for i in range(30) if i not in kept]
    assert (s[:, dropped].max(axis=1) < s[:, sorted(kept)].min(axis=1)).all()
    with pytest.raises(ModelError, match=str(EASE_MAX_ITEMS)):
        EASE(max_items=EASE_MAX_ITEMS + 1)


def test_ease_matches_the_closed_form() -> None:
    m = random_matrix(1, (25, 8))
    x = m.toarray().astype(np.float64)
    p = np.linalg.inv(x.T @ x + 5.0 * np.eye(8))
    b = np.eye(8) - p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    np.testing.assert_allclose(EASE(lambda_=5.0).fit(m).weights, b, rtol=1e-4, atol=1e-5)


def test_itemknn_keeps_at_most_k_neighbours_and_matches_cosine() -> None:
    m = random_matrix(2)
    model = ItemKNN(k=5).fit(m)
    s = model.similarity.tocsc()
    assert np.diff(s.indptr).max() <= 5
    x = m.toarray().astype(np.float64)
    norms = np.linalg.norm(x, axis=0)
    full = (x.T @ x) / np.outer(norms, norms).clip(1e-12)
    i, j = s.nonzero()
    np.testing.assert_allclose(s[i, j].A1, full[i, j], rtol=1e-5)


def test_ials_nan_is_a_fit_error_and_it_learns() -> None:
    with pytest.raises(ModelFitError, match="NaN"):
        IALS(factors=4, alpha=float("nan"), iterations=2).fit(random_matrix())
    m = random_matrix(3, (60, 40))
    a = IALS(factors=8, reg=0.1, iterations=10, seed=1).fit(m)
    # observed entries score higher than unobserved ones on average
    s = a.score(np.arange(60))
    observed = m.toarray() > 0
    assert s[observed].mean() > s[~observed].mean() + 0.2
