"""The norm-ordered factor index returns exactly the brute-force top-k (items, order, ties)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from moodrec.errors import ModelError
from moodrec.interactions.ranking import top_k
from moodrec.models.bpr import BPRMF
from moodrec.models.hybrid import HybridRecommender
from moodrec.models.ials import IALS
from moodrec.models.mips import FactorIndex


def brute(item_factors: np.ndarray, x: np.ndarray, k: int, exclude: np.ndarray) -> tuple:
    s = (x[None, :] @ item_factors.T).astype(np.float64)
    s[0, exclude] = -np.inf
    idx, val = top_k(s, k)
    return idx[0], val[0]


def long_tail_factors(rng: np.random.Generator, n: int, f: int, levels: int) -> np.ndarray:
    """Coarse integer factors scaled by a power-law norm profile (most items small), all
    exactly representable, so every BLAS kernel computes the same float32 dot products and
    ties are frequent."""
    v = rng.integers(-levels, levels + 1, (n, f)).astype(np.float32)
    scale = np.floor(16.0 / np.arange(1, n + 1) ** 0.7 + 0.5)  # 16, 10, 7, ..., 0
    return v * scale[rng.permutation(n)][:, None].astype(np.float32)


@settings(max_examples=120, deadline=None)
@given(
    n=st.integers(1, 3000),
    f=st.integers(1, 12),
    k=st.integers(1, 30),
    levels=st.integers(0, 3),
    block=st.sampled_from([1, 7, 64, 500]),
    n_exclude=st.integers(0, 60),
    seed=st.integers(0, 2**16),
    scan=st.sampled_from([0.0, 0.125, 1.0]),
)
def test_search_equals_brute_force(
    n: int, f: int, k: int, levels: int, block: int, n_exclude: int, seed: int, scan: float
) -> None:
    rng = np.random.default_rng(seed)
    v = long_tail_factors(rng, n, f, levels)
    x = rng.integers(-3, 4, f).astype(np.float32)
    exclude = rng.choice(n, size=min(n_exclude, n), replace=False)
    index = FactorIndex(v, block_size=block, scan_fraction=scan)
    idx, val, n_scored = index.search(x, k, exclude)
    b_idx, b_val = brute(v, x, k, exclude)
    np.testing.assert_array_equal(idx, b_idx)
    np.testing.assert_array_equal(val, b_val)
    assert 0 <= n_scored <= n


def test_long_tail_catalogue_is_mostly_skipped_and_still_exact() -> None:
    rng = np.random.default_rng(1)
    n, f = 60_000, 16
    norms = 1.0 / np.arange(1, n + 1) ** 0.8
    v = (rng.normal(size=(n, f)) * norms[rng.permutation(n)][:, None]).astype(np.float32)
    index = FactorIndex(v, block_size=1024)
    for _ in range(5):
        x = rng.normal(size=f).astype(np.float32)
        exclude = rng.choice(n, 300, replace=False)
        idx, val, n_scored = index.search(x, 10, exclude)
        b_idx, b_val = brute(v, x, 10, exclude)
        np.testing.assert_array_equal(idx, b_idx)
        np.testing.assert_allclose(val, b_val, rtol=1e-6)
        assert n_scored <= n // 4  # the bound stops the scan early


def test_a_tie_in_a_later_block_with_a_lower_index_wins() -> None:
    # item 3 (norm 2) sorts after item 5 (norm √5) but ties its score 2 and has the lower index
    v = np.zeros((6, 2), np.float32)
    v[3], v[5] = [2.0, 0.0], [2.0, 1.0]
    index = FactorIndex(v, block_size=1, scan_fraction=1.0)
    idx, val, n_scored = index.search(np.array([1.0, 0.0], np.float32), 1)
    assert idx.tolist() == [3] and val.tolist() == [2.0]
    assert n_scored == 2  # items 5 and 3; the zero items' bound (0 < 2) stops the scan


def test_fewer_candidates_than_k_are_padded() -> None:
    v = np.eye(3, dtype=np.float32)
    idx, val, _ = FactorIndex(v).search(np.ones(3, np.float32), 5, np.array([1]))
    np.testing.assert_array_equal(idx, [0, 2, -1])  # k is capped at the 3 items
    assert np.isneginf(val[2:]).all()
    idx, _, _ = FactorIndex(v).search(np.ones(3, np.float32), 10**12)
    assert idx.shape == (3,)


def test_bad_arguments_raise() -> None:
    index = FactorIndex(np.ones((4, 2), np.float32))
    with pytest.raises(ModelError):
        index.search(np.ones(3, np.float32), 2)
    with pytest.raises(ModelError):
        index.search(np.ones(2, np.float32), 0)
    with pytest.raises(ModelError):
        FactorIndex(np.ones(4, np.float32))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), k=st.integers(1, 12), exclude_seen=st.booleans())
def test_ials_recommend_uses_the_index_and_matches_brute_force(
    seed: int, k: int, exclude_seen: bool
) -> None:
    rng = np.random.default_rng(seed)
    n_users, n_items, f = 5, 400, 4
    model = IALS(factors=f)
    seen = sp.random(n_users, n_items, density=0.05, random_state=seed, format="csr")
    model._seen, model.n_users, model.n_items = seen.astype(np.float32), n_users, n_items
    model.user_factors = rng.integers(-2, 3, (n_users, f)).astype(np.float32)
    model.item_factors = long_tail_factors(rng, n_items, f, 2)
    users = np.arange(n_users)
    model.index_min_items = 10**9
    want = model.recommend(users, k, exclude_seen=exclude_seen)
    model.index_min_items = 0
    model._reset_index()
    got = model.recommend(users, k, exclude_seen=exclude_seen)
    assert model._index is not None  # the indexed path ran
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    k=st.integers(1, 12),
    exclude_seen=st.booleans(),
    model_cls=st.sampled_from([BPRMF, HybridRecommender]),
)
def test_biased_dot_product_models_use_the_index_and_match_brute_force(
    seed: int, k: int, exclude_seen: bool, model_cls: type
) -> None:
    """BPR and the hybrid score ``p_u · v_i + b_i``: the index of ``[v_i, b_i]`` searched
    with ``[p_u, 1]`` gives the brute-force top-k (exact values, so equal bit for bit)."""
    rng = np.random.default_rng(seed)
    n_users, n_items, f = 5, 400, 4
    model = model_cls(factors=f)
    seen = sp.random(n_users, n_items, density=0.05, random_state=seed, format="csr")
    model._seen, model.n_users, model.n_items = seen.astype(np.float32), n_users, n_items
    model.user_factors = rng.integers(-2, 3, (n_users, f)).astype(np.float32)
    model.item_vectors = long_tail_factors(rng, n_items, f, 2)
    model.item_bias = rng.integers(-8, 9, n_items).astype(np.float32)
    users = np.arange(n_users)
    model.index_min_items = 10**9
    want = model.recommend(users, k, exclude_seen=exclude_seen)
    assert model._index is None  # brute force ran
    model.index_min_items = 0
    got = model.recommend(users, k, exclude_seen=exclude_seen)
    assert model._index is not None  # the indexed path ran
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    # new item arrays (a refit or a load) are noticed: the index is rebuilt
    model.item_bias = model.item_bias + np.float32(10_000) * (np.arange(n_items) == 7)
    top = model.recommend(users, 1, exclude_seen=False)[0]
    assert (top[:, 0] == 7).all()
