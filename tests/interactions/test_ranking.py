"""``top_k`` equals a full stable sort (best first, ties by lower index, no -inf) on any row;
its lists are never longer than the row, whatever ``k`` is asked."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodrec.errors import ModelError
from moodrec.interactions import ranking
from moodrec.interactions.ranking import top_k


def brute(row: np.ndarray, k: int) -> np.ndarray:
    order = np.lexsort((np.arange(row.size), -row))
    order = order[row[order] > -np.inf][:k]
    return np.concatenate([order, np.full(min(k, row.size) - order.size, -1)])


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 6000),
    st.integers(1, 40),
    st.integers(1, 60),
    st.floats(0.0, 0.9),
    st.integers(0, 2**16),
)
def test_top_k_matches_a_full_sort(n: int, k: int, levels: int, p_inf: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    row = rng.integers(0, levels, n).astype(np.float64)  # coarse values: many ties
    row[rng.random(n) < p_inf] = -np.inf
    idx, val = top_k(row, k)
    np.testing.assert_array_equal(idx, brute(row, k))
    np.testing.assert_array_equal(val[idx >= 0], row[idx[idx >= 0]])


def test_two_dimensional_and_bad_k() -> None:
    s = np.array([[1.0, 3.0, 3.0, 0.0], [0.0, 0.0, 0.0, 5.0]])
    idx, _ = top_k(s, 2)
    np.testing.assert_array_equal(idx, [[1, 2], [3, 0]])
    with pytest.raises(ModelError):
        top_k(s, 0)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 300),
    st.integers(1, 4),
    st.integers(1, 10**15),
    st.floats(0.0, 0.9),
    st.integers(0, 2**16),
)
def test_a_huge_k_is_capped_at_the_number_of_items(
    n: int, n_rows: int, k: int, p_inf: float, seed: int
) -> None:
    """The output is ``(n_rows, min(k, n))``: memory follows the catalogue, not ``k``."""
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(n_rows, n))
    s[rng.random(s.shape) < p_inf] = -np.inf
    idx, val = top_k(s, k)
    assert idx.shape == val.shape == (n_rows, min(k, n))
    for r in range(n_rows):
        np.testing.assert_array_equal(idx[r], brute(s[r], k))


@pytest.mark.parametrize("k", [0, -1, -(10**9), 2.5, "10", True])
def test_k_must_be_an_integer_of_at_least_one(k: object) -> None:
    with pytest.raises(ModelError, match="k must be an integer >= 1"):
        top_k(np.zeros(5), k)  # type: ignore[arg-type]


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 400),
    st.integers(1, 6),
    st.integers(1, 30),
    st.integers(1, 20),
    st.floats(0.0, 0.95),
    st.integers(0, 2**16),
)
def test_many_rows_at_once_equal_row_by_row(
    n: int, n_rows: int, k: int, levels: int, p_inf: float, seed: int
) -> None:
    """The batched path (small catalogues, several rows per partition) and the row-by-row
    path rank every row the same, ties and ``-inf`` included, across block boundaries."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, levels, (n_rows, n)).astype(np.float64)
    s[rng.random(s.shape) < p_inf] = -np.inf
    batched_block = ranking.BATCHED_BLOCK
    try:
        ranking.BATCHED_BLOCK = 2 * n  # two rows per block: blocks end mid-matrix
        idx_b, val_b = top_k(s, k)
        ranking.BATCHED_MAX_ITEMS, max_items = 0, ranking.BATCHED_MAX_ITEMS
        try:
            idx_r, val_r = top_k(s, k)
        finally:
            ranking.BATCHED_MAX_ITEMS = max_items
    finally:
        ranking.BATCHED_BLOCK = batched_block
    np.testing.assert_array_equal(idx_b, idx_r)
    np.testing.assert_array_equal(val_b, val_r)
    for r in range(n_rows):
        np.testing.assert_array_equal(idx_b[r], brute(s[r], k))
