"""Ranking score rows and scoring a ranked list: top-k, hits, per-user ranking metrics.

Definitions (for one user with test set ``T`` and ranked list ``r_1..r_K``; ``h_j = [r_j in T]``):

- ``Recall@K = sum(h) / |T|``; ``Precision@K = sum(h) / K``; ``HR@K = [sum(h) > 0]``
- ``NDCG@K = sum_j h_j / log2(j + 1)`` divided by ``sum_{j <= min(K, |T|)} 1 / log2(j + 1)``
- ``MRR@K = 1 / (first j with h_j)`` (0 if none)
- ``MAP@K = sum_j h_j * Precision@j / min(K, |T|)``

Ties are broken by the lower item index. Pure NumPy on arrays: no model is involved, so the
recommenders (ranking, selecting on validation) and :mod:`moodrec.evaluation` both use it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from moodrec.errors import InputDataError, ModelError

RANKING_METRICS: tuple[str, ...] = ("ndcg", "recall", "precision", "hr", "mrr", "map")


def exclude_items(scores: np.ndarray, exclude: sp.csr_matrix) -> np.ndarray:
    """Set ``scores[r, i] = -inf`` in place wherever ``exclude[r, i]`` is stored; returns it.

    ``scores`` is ``(n_rows, n_items)`` and ``exclude`` a CSR matrix of the same number of
    rows (e.g. the training rows of the ranked users: items they have already seen).
    """
    rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
    scores[rows, exclude.indices] = -np.inf
    return scores


def _candidates(row: np.ndarray, k: int) -> np.ndarray:
    """Indices of every entry >= the k-th largest value's lower bound (a superset of the top k).

    Large rows: split into ``m >= k`` chunks; the k-th largest chunk maximum ``t`` is a lower
    bound of the k-th largest value (k chunks each hold a value >= t), so ``row >= t`` keeps
    the whole top k plus every tie at its boundary — two vectorised passes, no partition.
    """
    n = row.size
    n_chunks = min(n, max(4 * k, 1024))
    width = n // n_chunks
    if width < 4:
        part = np.argpartition(row, n - k)[n - k :]
        return np.flatnonzero(row >= row[part].min())
    maxima = row[: n_chunks * width].reshape(n_chunks, width).max(axis=1)
    if n_chunks * width < n:
        maxima = np.append(maxima, row[n_chunks * width :].max())
    threshold = np.partition(maxima, maxima.size - k)[maxima.size - k]
    return np.flatnonzero(row >= threshold)


def check_k(k: int, n_items: int) -> int:
    """``k`` validated (an integer >= 1) and capped at ``n_items``, the longest possible list.

    Raises
    ------
    ModelError
        If ``k`` is not an integer >= 1.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ModelError(f"k must be an integer >= 1, got {k!r}")
    return int(min(k, n_items))


#: rows of at most this many items are ranked many rows at a time (:func:`_top_k_block`);
#: longer ones row by row, where the two-pass candidate search beats a partition
BATCHED_MAX_ITEMS = 50_000
#: scores per block of rows ranked at once (a partitioned copy and a mask of that size)
BATCHED_BLOCK = 1 << 21


def _top_k_block(block: np.ndarray, k: int, out_i: np.ndarray, out_v: np.ndarray) -> None:
    """:func:`top_k` of the rows of ``block`` (no NaN) into the first rows of ``out_i`` and
    ``out_v``, all rows at once: one partition finds each row's k-th largest value, every
    finite entry at or above it is a candidate (boundary ties included), and one sort by
    (row, score descending, index) orders them; the first ``k`` of each row are kept."""
    n_items = block.shape[1]
    if k < n_items:
        kth = np.partition(block, n_items - k, axis=1)[:, n_items - k]
        mask = block >= kth[:, None]
        mask &= block > -np.inf
    else:
        mask = block > -np.inf
    rows, cols = np.nonzero(mask)
    vals = block[rows, cols]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    rank = np.arange(rows.size) - np.searchsorted(rows, rows)
    keep = rank < k
    out_i[rows[keep], rank[keep]] = cols[keep]
    out_v[rows[keep], rank[keep]] = vals[keep]


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` highest scores per row, ties broken by lower index.

    Two vectorised passes per row find a small candidate superset of the top ``k`` (see
    :func:`_candidates`), so a 1M-item row takes about a millisecond; the exact tie rule
    (lower item id first) is applied among all candidates, the boundary ties included. Scores of
    ``-inf`` are never returned: rows with fewer finite scores than ``min(k, n_items)`` are
    padded with index ``-1`` and value ``-inf``.

    Parameters
    ----------
    scores
        ``(n_rows, n_items)`` or ``(n_items,)`` float array.
    k
        How many to return per row, ``k >= 1`` (:class:`ModelError` otherwise).

    Returns
    -------
    (indices, values)
        Both ``(n_rows, min(k, n_items))`` (or ``(min(k, n_items),)`` for a 1-D input), best
        first: ``k`` is capped at the number of items, so memory stays ``O(n_rows * n_items)``
        whatever ``k`` is asked.
    """
    one_d = scores.ndim == 1
    s = np.atleast_2d(scores)
    n_rows, n_items = s.shape
    kk = check_k(k, n_items)
    out_i = np.full((n_rows, kk), -1, dtype=np.int64)
    out_v = np.full((n_rows, kk), -np.inf, dtype=np.float64)
    if kk == 0:
        return (out_i[0], out_v[0]) if one_d else (out_i, out_v)
    if n_items <= BATCHED_MAX_ITEMS and not np.isnan(s).any():
        step = max(1, BATCHED_BLOCK // n_items)
        for start in range(0, n_rows, step):
            _top_k_block(s[start : start + step], kk, out_i[start:], out_v[start:])
        return (out_i[0], out_v[0]) if one_d else (out_i, out_v)
    for r in range(n_rows):
        row = s[r]
        cand = _candidates(row, kk) if kk < n_items else np.arange(n_items)
        # best first; among equal scores the lower index first (lexsort: last key primary)
        order = np.lexsort((cand, -row[cand]))
        cand = cand[order][:kk]
        cand = cand[row[cand] > -np.inf]
        out_i[r, : cand.size] = cand
        out_v[r, : cand.size] = row[cand]
    return (out_i[0], out_v[0]) if one_d else (out_i, out_v)


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
