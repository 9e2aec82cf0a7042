"""Splits partition their input, are reproducible, and follow the HetRec protocol exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from moodrec.errors import InputDataError
from moodrec.evaluation.splits import (
    cold_item_split,
    holdout_split,
    last_session_split,
    per_user_holdout,
    temporal_split,
)


@st.composite
def matrices(draw: st.DrawFn) -> sp.csr_matrix:
    n_users = draw(st.integers(1, 12))
    n_items = draw(st.integers(1, 15))
    density = draw(st.floats(0.0, 1.0))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < density) * rng.integers(1, 50, (n_users, n_items))
    return sp.csr_matrix(dense.astype(np.float32))


def assert_partition(parts: list[sp.csr_matrix], whole: sp.csr_matrix) -> None:
    total = sum(parts[1:], parts[0])
    assert (total != whole).nnz == 0
    support = sum((p != 0).astype(np.int32) for p in parts)
    assert support.max() <= 1 if support.nnz else True


@settings(max_examples=60, deadline=None)
@given(matrices(), st.integers(0, 10_000), st.sampled_from([0.0, 0.2, 0.5]))
def test_per_user_holdout_partitions_and_reproduces(m, seed, fraction) -> None:
    train, test = per_user_holdout(m, fraction, seed)
    assert_partition([train, test], m)
    n = np.diff(m.indptr)
    np.testing.assert_array_equal(np.diff(test.indptr), np.floor(fraction * n).astype(int))
    again_train, again_test = per_user_holdout(m, fraction, seed)
    assert (again_test != test).nnz == 0 and (again_train != train).nnz == 0


@settings(max_examples=40, deadline=None)
@given(matrices(), st.integers(0, 10_000))
def test_holdout_split_with_validation_partitions(m, seed) -> None:
    s = holdout_split(m, 0.2, seed, 0.25)
    assert_partition([s.train, s.validation, s.test], m)
    assert (s.train + s.validation != s.train_full).nnz == 0


@settings(max_examples=40, deadline=None)
@given(matrices(), st.integers(0, 10_000))
def test_cold_item_split_moves_every_interaction_of_cold_items(m, seed) -> None:
    s = cold_item_split(m, 0.3, seed, 0.2)
    assert_partition([s.train, s.validation, s.test], m)
    cold = s.cold_items
    assert s.train_full[:, cold].nnz == 0
    assert s.test[:, cold].nnz == m[:, cold].nnz
    assert set(np.unique(s.test.indices)) <= set(cold.tolist())


def test_hetrec_protocol_reference_implementation() -> None:
    """The issue's protocol written out literally on a frame sorted by (user, item)."""
    rng0 = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "u": rng0.integers(0, 30, 600),
            "i": rng0.integers(0, 80, 600),
            "w": rng0.integers(1, 9, 600).astype(np.float32),
        }
    ).drop_duplicates(["u", "i"])
    frame = frame.sort_values(["u", "i"]).reset_index(drop=True)
    m = sp.csr_matrix((frame["w"], (frame["u"], frame["i"])), shape=(30, 80))
    rng = np.random.default_rng(42)
    test_rows = []
    for _, grp in frame.groupby("u", sort=True):
        n = len(grp)
        test_rows.extend(grp.index[rng.permutation(n)[: int(np.floor(0.2 * n))]])
    expected = frame.loc[sorted(test_rows)]
    _, test = per_user_holdout(m, 0.2, 42)
    got = test.tocoo()
    pairs = sorted(zip(got.row.tolist(), got.col.tolist(), strict=True))
    assert pairs == sorted(zip(expected["u"].tolist(), expected["i"].tolist(), strict=True))


def test_bad_fraction_is_an_input_error() -> None:
    with pytest.raises(InputDataError, match="fraction"):
        per_user_holdout(sp.csr_matrix((2, 2)), 1.0, 0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 50), min_size=0, max_size=40),
    st.floats(0.0, 0.9),
    st.floats(0.0, 0.9),
)
def test_temporal_split_partitions_in_time_order(times, test_f, val_f) -> None:
    frame = pd.DataFrame({"ts": times, "row": range(len(times))})
    train, val, test = temporal_split(
        frame, time_col="ts", test_fraction=test_f, validation_fraction=val_f
    )
    assert sorted(pd.concat([train, val, test])["row"]) == list(range(len(times)))
    if len(test) and len(train):
        assert train["ts"].max() < test["ts"].min()
    if len(val) and len(train):
        assert train["ts"].max() < val["ts"].min()
    if len(val) and len(test):
        assert val["ts"].max() < test["ts"].min()


def test_last_session_split() -> None:
    events = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 1, 2, 2, 3],
            "session_id": [10, 10, 11, 11, 20, 20, 30],
            "ts": pd.to_datetime([1, 2, 5, 6, 1, 2, 1], unit="s"),
            "track_id": [1, 2, 3, 4, 5, 6, 7],
        }
    )
    train, test = last_session_split(events.iloc[::-1])
    assert sorted(test["track_id"]) == [3, 4]
    assert sorted(train["track_id"]) == [1, 2, 5, 6, 7]
    with pytest.raises(InputDataError, match="session_id"):
        last_session_split(events.drop(columns="session_id"))
