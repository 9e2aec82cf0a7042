"""Model evaluation by full ranking: per-user metrics, coverage, novelty, RMSE.

The per-user ranking metrics (NDCG, Recall, Precision, HR, MRR, MAP) and ``top_k`` live in
:mod:`moodrec.interactions.ranking`, below the models, which select on validation with them
too; this module ranks a fitted model's scores over the whole catalogue minus the user's
training items (ties by the lower item index) and tabulates the results.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from moodrec import progress
from moodrec.errors import InputDataError
from moodrec.interactions.ranking import (
    exclude_items,
    hit_matrix,
    ranking_metrics,
    top_k,
)

logger = logging.getLogger(__name__)


class Scorer(Protocol):
    """What evaluation needs of a model: scores (a fitted ``Recommender`` is one)."""

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """``(len(users), n_items)`` scores; higher = better."""
        ...


def coverage(recommended: np.ndarray, n_items: int) -> float:
    """Catalogue coverage: distinct recommended items / ``n_items``."""
    rec = np.asarray(recommended).ravel()
    return float(np.unique(rec[rec >= 0]).size / max(n_items, 1))


def item_self_information(train: sp.csr_matrix) -> np.ndarray:
    """``-log2 p_i`` per item, ``p_i`` = share of training users who interacted with ``i``.

    Items nobody interacted with get ``p_i = 1 / n_users`` (as if one user had), so that
    novelty stays finite for cold items.
    """
    t = sp.csr_matrix(train)
    n_users = max(t.shape[0], 1)
    counts = np.bincount(t.indices, minlength=t.shape[1]).astype(np.float64)
    return -np.log2(np.maximum(counts, 1.0) / n_users)


def novelty(recommended: np.ndarray, self_information: np.ndarray) -> np.ndarray:
    """Per-user mean self-information of the recommended items (padding ignored)."""
    rec = np.asarray(recommended)
    valid = rec >= 0
    info = np.where(valid, self_information[np.where(valid, rec, 0)], 0.0)
    return info.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error of two equal-length arrays."""
    p, a = np.asarray(predicted, np.float64), np.asarray(actual, np.float64)
    if p.shape != a.shape or p.size == 0:
        raise InputDataError(f"rmse: shapes {p.shape} and {a.shape} (need equal, non-empty)")
    return float(np.sqrt(np.mean((p - a) ** 2)))


@dataclass
class EvaluationResult:
    """Per-user metrics of one model on one test matrix, plus catalogue-level numbers."""

    per_user: pd.DataFrame
    coverage: dict[int, float] = field(default_factory=dict)
    ks: tuple[int, ...] = (20,)

    def means(self) -> dict[str, float]:
        """Mean of every metric column over users, plus ``coverage@K``."""
        cols = [c for c in self.per_user.columns if "@" in c]
        out = {c: float(self.per_user[c].mean()) for c in cols}
        out |= {f"coverage@{k}": v for k, v in self.coverage.items()}
        return out


def rank_items(
    model: Scorer,
    users: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None,
    *,
    batch_size: int = 512,
    progress_name: str | None = None,
) -> np.ndarray:
    """Top-``k`` item indices for ``users`` over the full catalogue, ``exclude`` masked out.

    ``progress_name`` (e.g. ``"evaluate ials: users"``): report the users ranked so far
    after each batch (:func:`moodrec.progress.step`).
    """
    # -1 = padding: top_k's lists are at most n_items long (k is capped at the catalogue)
    out = np.full((users.size, k), -1, dtype=np.int64)
    ex = sp.csr_matrix(exclude) if exclude is not None else None
    for start in range(0, users.size, batch_size):
        u = users[start : start + batch_size]
        s = np.array(model.score(u, None), dtype=np.float64, copy=True)
        if ex is not None:
            exclude_items(s, ex[u])
        s[np.isnan(s)] = -np.inf
        top = top_k(s, k)[0]
        out[start : start + u.size, : top.shape[1]] = top
        if progress_name is not None:
            progress.step(progress_name, start + u.size, users.size)
    return out


def evaluate_recommender(
    model: Scorer,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    *,
    ks: tuple[int, ...] | list[int] | int = (10, 20),
    users: np.ndarray | None = None,
    batch_size: int = 512,
    min_test_items: int = 1,
    progress_name: str | None = None,
) -> EvaluationResult:
    """Evaluate a fitted model by full ranking against the catalogue.

    Parameters
    ----------
    model
        A fitted model (:class:`Scorer`) over the same ``(n_users, n_items)`` indices.
    train
        Items to exclude per user (the training interactions) and the popularity base of
        novelty.
    test
        Relevant items per user (any non-zero value counts, binary gain).
    ks
        Cut-offs; the ranking is computed once at ``max(ks)``.
    users
        Restrict to these users (default: every user with at least one test item).
    min_test_items
        Only users with at least this many test items are evaluated.
    progress_name
        Report the users ranked so far under this name (per batch; default: no report).

    Returns
    -------
    EvaluationResult
        ``per_user`` has ``user``, ``n_test`` and ``<metric>@<k>`` columns plus
        ``novelty@<k>``; ``coverage`` maps k → catalogue coverage.
    """
    ks_t = (ks,) if isinstance(ks, int) else tuple(sorted(set(ks)))
    test = sp.csr_matrix(test)
    if test.shape != train.shape:
        raise InputDataError(f"evaluate: train {train.shape} and test {test.shape} differ")
    n_test = np.diff(test.indptr)
    if users is None:
        users = np.flatnonzero(n_test > 0)
    users = np.asarray(users, dtype=np.int64)
    users = users[n_test[users] >= max(min_test_items, 1)]
    kmax = max(ks_t)
    rec = rank_items(model, users, kmax, train, batch_size=batch_size, progress_name=progress_name)
    hits = hit_matrix(rec, test, users)
    info = item_self_information(train)
    cols: dict[str, np.ndarray] = {"user": users, "n_test": n_test[users]}
    cov: dict[int, float] = {}
    for k in ks_t:
        for name, vals in ranking_metrics(hits, n_test[users], k).items():
            cols[f"{name}@{k}"] = vals
        cols[f"novelty@{k}"] = novelty(rec[:, :k], info)
        cov[k] = coverage(rec[:, :k], train.shape[1])
    return EvaluationResult(pd.DataFrame(cols), cov, ks_t)
