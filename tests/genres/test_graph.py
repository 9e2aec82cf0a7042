"""Genre graph: edge lengths, support filters, edge discounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodrec.errors import InputDataError
from moodrec.genres.config import GenresConfig
from moodrec.genres.graph import build_genre_graph, edge_lengths


def _table(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["artist", "genre"]).assign(weight=1.0)


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=50),
    kind=st.sampled_from(["inv_one_plus_log", "inv_log1p"]),
)
def test_edge_lengths_positive_finite_and_decreasing(counts: list[int], kind: str) -> None:
    c = np.sort(np.asarray(counts, dtype=np.int64))
    w = edge_lengths(c, kind)
    assert np.all(np.isfinite(w))
    assert np.all(w > 0)
    assert np.all(np.diff(w) <= 1e-15)  # more co-occurrence, never a longer edge


def test_edge_lengths_reject_counts_below_one() -> None:
    with pytest.raises(InputDataError, match=">= 1"):
        edge_lengths(np.array([0, 3]))


def test_three_row_graph_and_input_untouched() -> None:
    table = _table([("a", "Rock"), ("a", "indie rock"), ("b", "rock ")])
    before = table.copy()
    g = build_genre_graph(table, GenresConfig())
    pd.testing.assert_frame_equal(table, before)
    assert g.nodes["genre"].tolist() == ["indie rock", "rock"]
    assert g.nodes["support"].tolist() == [1, 2]
    assert g.edges[["source", "target", "count"]].values.tolist() == [[0, 1, 1]]


def test_min_support_lists_dropped_genres() -> None:
    table = _table([("a", "rock"), ("b", "rock"), ("a", "polka")])
    g = build_genre_graph(table, GenresConfig(min_genre_support=2))
    assert g.nodes["genre"].tolist() == ["rock"]
    assert g.dropped["genre"].tolist() == ["polka"]


def test_no_genre_with_support_is_an_error() -> None:
    with pytest.raises(InputDataError, match="no genre"):
        build_genre_graph(_table([("a", "rock")]), GenresConfig(min_genre_support=5))


@settings(max_examples=40, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 9)), min_size=1, max_size=30
    )
)
def test_edge_lengths_after_discount_positive_and_finite(pairs) -> None:
    rows = []
    for i, (a, b, n) in enumerate(pairs):
        rows += [(f"art{i}-{k}", f"g{a}") for k in range(n)]
        rows += [(f"art{i}-{k}", f"g{b}") for k in range(n)]
    for discount in ("none", "jaccard", "weighted_jaccard"):
        g = build_genre_graph(_table(rows), GenresConfig(edge_discount=discount))
        for col in ("length", "jaccard", "weighted_jaccard"):
            v = g.edges[col].to_numpy()
            assert np.all(np.isfinite(v))
            assert np.all(v > 0)
        assert np.all(g.edges["jaccard"] <= 1.0)
        assert np.all(g.edges["weighted_jaccard"] <= 1.0 + 1e-12)
