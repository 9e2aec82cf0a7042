"""Seeded, pure train/test splits: per-user holdout (HetRec protocol), temporal, cold-start
items, and each user's last session.

Matrix splits take a CSR matrix and return matrices of the same shape whose union is the
input and whose supports are disjoint; frame splits return row subsets of the input frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from moodrec.errors import InputDataError


@dataclass(frozen=True)
class Split:
    """Train / validation / test matrices of one protocol.

    ``train_full`` = ``train`` + ``validation`` (what the final model is refitted on);
    ``validation`` is ``None`` when no validation was cut.
    """

    train: sp.csr_matrix
    test: sp.csr_matrix
    validation: sp.csr_matrix | None = None
    train_full: sp.csr_matrix | None = None
    cold_items: np.ndarray | None = None


def _canonical(matrix: sp.spmatrix) -> sp.csr_matrix:
    m = sp.csr_matrix(matrix, copy=True)
    m.sum_duplicates()
    m.sort_indices()
    m.eliminate_zeros()
    return m


def _take(m: sp.csr_matrix, mask: np.ndarray) -> sp.csr_matrix:
    """The entries of ``m`` (in CSR order) where ``mask`` is True, same shape."""
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    out = sp.csr_matrix((m.data[mask], (rows[mask], m.indices[mask])), shape=m.shape)
    out.sort_indices()
    return out


def per_user_holdout(
    matrix: sp.spmatrix, fraction: float = 0.2, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The HetRec protocol: per user, ⌊fraction·n⌋ random interactions go to test.

    Entries are taken in (user, item) order; ``rng = np.random.default_rng(seed)``; for each
    user in ascending index, the first ``floor(fraction * n)`` positions of
    ``rng.permutation(n)`` (``n`` = the user's interactions) are the test entries. Users with
    no interactions draw nothing (as in the reference implementation, which iterates only
    over users present in the data).

    Returns
    -------
    (train, test)
        CSR matrices of the input's shape, disjoint, ``train + test == matrix``.
    """
    if not 0.0 <= fraction < 1.0:
        raise InputDataError(f"holdout fraction must be in [0, 1), got {fraction}")
    m = _canonical(matrix)
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(m.nnz, dtype=bool)
    counts = np.diff(m.indptr)
    for u in np.flatnonzero(counts):
        n = int(counts[u])
        n_test = int(np.floor(fraction * n))
        perm = rng.permutation(n)
        if n_test:
            test_mask[m.indptr[u] + perm[:n_test]] = True
    return _take(m, ~test_mask), _take(m, test_mask)


def holdout_split(
    matrix: sp.spmatrix,
    fraction: float = 0.2,
    seed: int = 0,
    validation_fraction: float | None = 0.2,
) -> Split:
    """Per-user holdout for test (``seed``), then the same on train for validation (``seed+1000``).

    Parameters
    ----------
    matrix
        ``(n_users, n_items)`` interactions (raw counts: weighting is applied afterwards).
    fraction, validation_fraction
        Test and validation fractions (``None`` or 0 → no validation).
    """
    train_full, test = per_user_holdout(matrix, fraction, seed)
    if not validation_fraction:
        return Split(train=train_full, test=test, validation=None, train_full=train_full)
    train, validation = per_user_holdout(train_full, validation_fraction, seed + 1000)
    return Split(train=train, test=test, validation=validation, train_full=train_full)


def cold_item_split(
    matrix: sp.spmatrix,
    fraction: float = 0.1,
    seed: int = 0,
    validation_fraction: float | None = 0.2,
) -> Split:
    """Cold-start items: a random ``fraction`` of the items with interactions is held out and
    every interaction of those items goes to test; validation is a per-user holdout
    (``seed + 1000``) of the remaining (warm) training matrix.

    Returns
    -------
    Split
        With ``cold_items`` = the held-out item indices (ascending).
    """
    if not 0.0 <= fraction < 1.0:
        raise InputDataError(f"cold-item fraction must be in [0, 1), got {fraction}")
    m = _canonical(matrix)
    rng = np.random.default_rng(seed)
    items = np.unique(m.indices)
    n_cold = int(np.floor(fraction * items.size))
    cold = np.sort(rng.permutation(items)[:n_cold])
    is_cold = np.zeros(m.shape[1], dtype=bool)
    is_cold[cold] = True
    test_mask = is_cold[m.indices]
    train_full, test = _take(m, ~test_mask), _take(m, test_mask)
    validation, train = None, train_full
    if validation_fraction:
        train, validation = per_user_holdout(train_full, validation_fraction, seed + 1000)
    return Split(train, test, validation, train_full, cold_items=cold)


def temporal_split(
    frame: pd.DataFrame,
    *,
    time_col: str = "ts",
    test_fraction: float = 0.2,
    validation_fraction: float = 0.1,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Global temporal split: the latest ``test_fraction`` of rows (by ``time_col``) is test,
    the latest ``validation_fraction`` of the remaining training period is validation.

    Ties on the timestamp are kept on one side (the cut is a timestamp, not a row count), and
    the row order of the input is preserved within each part. Deterministic (no randomness).

    Returns
    -------
    (train, validation, test)
        Row subsets of ``frame`` (a partition of it).
    """
    if time_col not in frame.columns:
        raise InputDataError(f"temporal split: no column {time_col!r}")
    for name, f in (("test_fraction", test_fraction), ("validation_fraction", validation_fraction)):
        if not 0.0 <= f < 1.0:
            raise InputDataError(f"temporal split: {name} must be in [0, 1), got {f}")
    ts = frame[time_col]
    if len(frame) == 0:
        return frame.iloc[:0], frame.iloc[:0], frame.iloc[:0]
    ordered = np.sort(ts.to_numpy())
    n = len(ordered)

    def cut_at(values: np.ndarray, frac: float) -> object | None:
        k = int(np.floor(frac * values.size))
        return values[values.size - k] if k else None

    test_cut = cut_at(ordered, test_fraction)
    is_test = (ts >= test_cut).to_numpy() if test_cut is not None else np.zeros(n, bool)
    rest = np.sort(ts.to_numpy()[~is_test])
    val_cut = cut_at(rest, validation_fraction)
    is_val = ~is_test & ((ts >= val_cut).to_numpy() if val_cut is not None else False)
    is_train = ~is_test & ~is_val
    return frame[is_train], frame[is_val], frame[is_test]


def last_session_split(
    events: pd.DataFrame,
    *,
    user_col: str = "user_id",
    session_col: str = "session_id",
    time_col: str = "ts",
    min_sessions: int = 2,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each user's last session (the one with the latest event) goes to test.

    Users with fewer than ``min_sessions`` sessions stay wholly in train.

    Parameters
    ----------
    events
        Columns ``user_id``, ``session_id``, ``ts`` (names configurable).

    Returns
    -------
    (train, test)
        Row subsets of ``events`` (a partition), input order kept.
    """
    missing = {user_col, session_col, time_col} - set(events.columns)
    if missing:
        raise InputDataError(f"events: missing column(s) {sorted(missing)}")
    per_session = events.groupby([user_col, session_col], sort=True)[time_col].max().reset_index()
    per_session = per_session.sort_values([user_col, time_col, session_col], kind="stable")
    n_sessions = per_session.groupby(user_col)[session_col].transform("size")
    last = per_session[n_sessions >= min_sessions].groupby(user_col).tail(1)
    key = pd.MultiIndex.from_frame(events[[user_col, session_col]])
    test_keys = pd.MultiIndex.from_frame(last[[user_col, session_col]])
    is_test = key.isin(test_keys)
    return events[~is_test], events[is_test]
