"""Full-ranking top-K metrics (vectorised), coverage, novelty, RMSE, and model evaluation.

Definitions (for one user with test set ``T`` and ranked list ``r_1..r_K``; ``h_j = [r_j in T]``):

- ``Recall@K = sum(h) / |T|``; ``Precision@K = sum(h) / K``; ``HR@K = [sum(h) > 0]``
- ``NDCG@K = sum_j h_j / log2(j + 1)`` divided by ``sum_{j <= min(K, |T|)} 1 / log2(j + 1)``
- ``MRR@K = 1 / (first j with h_j)`` (0 if none)
- ``MAP@K = sum_j h_j * Precision@j / min(K, |T|)``

Ranking covers the whole catalogue minus the user's training items; ties are broken by the
lower item index (:func:`moodrec.models.base.top_k`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from moodrec.errors import InputDataError
from moodrec.models.base import Recommender, top_k

logger = logging.getLogger(__name__)

RANKING_METRICS: tuple[str, ...] = ("ndcg", "recall", "precision", "hr", "mrr", "map")


def hit_matrix(recommended: np.ndarray, test: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
    """``(n_users, K)`` bool: whether each recommended item is in the user's test set.

    ``recommended`` holds item indices (``-1`` = padding, never a hit).
    """
    t = sp.csr_matrix(test)
    t.sort_indices()
    n_items = t.shape[1]
    rows = np.repeat(np.arange(t.shape[0], dtype=np.int64), np.diff(t.indptr))
    keys = rows * n_items + t.indices.astype(np.int64)  # sorted: CSR order with sorted indices
    rec = np.asarray(recommended, dtype=np.int64)
    q = users.astype(np.int64)[:, None] * n_items + rec
    pos = np.searchsorted(keys, q)
    pos = np.minimum(pos, max(keys.size - 1, 0))
    hits = (keys[pos] == q) if keys.size else np.zeros(q.shape, bool)
    return hits & (rec >= 0)


def ranking_metrics(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-user Recall/Precision/HR/NDCG/MRR/MAP@k from a hit matrix.

    Parameters
    ----------
    hits
        ``(n_users, >= k)`` bool, ranked best first.
    n_relevant
        ``(n_users,)`` size of each user's test set (> 0).
    k
        Cut-off.

    Returns
    -------
    dict
        metric name → ``(n_users,)`` float64 array.
    """
    h = np.asarray(hits[:, :k], dtype=np.float64)
    if h.shape[1] < k:
        h = np.pad(h, ((0, 0), (0, k - h.shape[1])))
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    if np.any(n_rel <= 0):
        raise InputDataError("ranking_metrics: every user needs at least one test item")
    ranks = np.arange(1, k + 1, dtype=np.float64)
    discount = 1.0 / np.log2(ranks + 1.0)
    n_hits = h.sum(axis=1)
    dcg = h @ discount
    ideal_len = np.minimum(n_rel, k).astype(np.int64)
    idcg = np.concatenate([[0.0], np.cumsum(discount)])[ideal_len]
    first = np.where(n_hits > 0, h.argmax(axis=1) + 1.0, np.inf)
    prec_at = np.cumsum(h, axis=1) / ranks
    return {
        "ndcg": dcg / idcg,
        "recall": n_hits / n_rel,
        "precision": n_hits / k,
        "hr": (n_hits > 0).astype(np.float64),
        "mrr": np.where(np.isfinite(first), 1.0 / first, 0.0),
        "map": (prec_at * h).sum(axis=1) / np.minimum(n_rel, k),
    }


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
    model: Recommender,
    users: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None,
    *,
    batch_size: int = 512,
) -> np.ndarray:
    """Top-``k`` item indices for ``users`` over the full catalogue, ``exclude`` masked out."""
    out = np.empty((users.size, k), dtype=np.int64)
    ex = sp.csr_matrix(exclude) if exclude is not None else None
    for start in range(0, users.size, batch_size):
        u = users[start : start + batch_size]
        s = np.array(model.score(u, None), dtype=np.float64, copy=True)
        if ex is not None:
            sub = ex[u]
            rows = np.repeat(np.arange(u.size), np.diff(sub.indptr))
            s[rows, sub.indices] = -np.inf
        s[np.isnan(s)] = -np.inf
        out[start : start + u.size] = top_k(s, k)[0]
    return out


def evaluate_recommender(
    model: Recommender,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    *,
    ks: tuple[int, ...] | list[int] | int = (10, 20),
    users: np.ndarray | None = None,
    batch_size: int = 512,
) -> EvaluationResult:
    """Evaluate a fitted model by full ranking against the catalogue.

    Parameters
    ----------
    model
        A fitted :class:`Recommender` over the same ``(n_users, n_items)`` indices.
    train
        Items to exclude per user (the training interactions) and the popularity base of
        novelty.
    test
        Relevant items per user (any non-zero value counts, binary gain).
    ks
        Cut-offs; the ranking is computed once at ``max(ks)``.
    users
        Restrict to these users (default: every user with at least one test item).

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
    users = users[n_test[users] > 0]
    kmax = max(ks_t)
    rec = rank_items(model, users, kmax, train, batch_size=batch_size)
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
