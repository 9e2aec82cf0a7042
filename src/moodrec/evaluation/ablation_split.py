"""The ablation's seeded split (cold items held out whole, a per-user warm holdout, validation
shares) and its per-slice ranking metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from moodrec.errors import InputDataError
from moodrec.interactions.ranking import RANKING_METRICS, hit_matrix, ranking_metrics, top_k
from moodrec.models.deep_config import AblationConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AblationSplit:
    """Matrices of one ablation split, all ``(n_users, n_items)`` CSR."""

    train: sp.csr_matrix
    validation: sp.csr_matrix
    warm_test: sp.csr_matrix
    cold_test: sp.csr_matrix
    #: item indices held out entirely for the test (no training interactions)
    cold_items: np.ndarray
    #: interactions of the cold validation items (selection of the content models only)
    cold_validation: sp.csr_matrix | None = None
    cold_validation_items: np.ndarray | None = None

    def known(self) -> sp.csr_matrix:
        """Everything a user's history holds at test time (excluded from every ranking)."""
        seen = self.train + self.validation
        if self.cold_validation is not None:
            seen = seen + self.cold_validation
        return sp.csr_matrix(seen)


def build_matrix(
    plays: pd.DataFrame,
    weighting: str = "log",
    min_item_users: int = 1,
    shuffle_seed: int | None = None,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """User × item matrix from ingest ``plays`` (``user_id``, ``track_id``, ``plays``).

    Parameters
    ----------
    plays
        One row per (user, track) with a positive play count.
    weighting
        ``"binary"`` (1) or ``"log"`` (``log(1 + plays)``).
    min_item_users
        Tracks with fewer distinct listeners are dropped.
    shuffle_seed
        When given, the item columns come in a seeded random order instead of ascending ids:
        rankings break ties by the lower index, and ingest ids follow first appearance (so
        popularity), which would hand a model that scores items equally a popularity ranking.

    Returns
    -------
    (matrix, user_ids, track_ids)
        The CSR matrix and the ids of its rows and columns (ascending, or shuffled).

    Raises
    ------
    InputDataError
        When a column is missing or nothing is left.
    """
    missing = [c for c in ("user_id", "track_id", "plays") if c not in plays.columns]
    if missing:
        raise InputDataError(f"plays: missing column(s) {missing}")
    p = plays[plays["plays"] > 0]
    listeners = p.groupby("track_id")["user_id"].nunique()
    p = p[p["track_id"].isin(listeners.index[listeners >= min_item_users])]
    if p.empty:
        raise InputDataError(f"plays: no interactions left with min_item_users={min_item_users}")
    users = np.sort(p["user_id"].unique())
    items = np.sort(p["track_id"].unique())
    rows = np.searchsorted(users, p["user_id"].to_numpy())
    cols = np.searchsorted(items, p["track_id"].to_numpy())
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(items.size)
        position = np.empty_like(order)
        position[order] = np.arange(items.size)
        items, cols = items[order], position[cols]
    counts = p["plays"].to_numpy(dtype=np.float64)
    values = np.ones_like(counts) if weighting == "binary" else np.log1p(counts)
    matrix = sp.csr_matrix(
        (values.astype(np.float32), (rows, cols)), shape=(users.size, items.size)
    )
    matrix.sum_duplicates()
    return matrix, users, items


def _per_user_holdout(
    matrix: sp.csr_matrix, fraction: float, seed: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """HetRec-style holdout: per user (ascending), the first ⌊f·n⌋ of a permutation → test."""
    rng = np.random.default_rng(seed)
    m = matrix.tocsr()
    m.sort_indices()
    test_mask = np.zeros(m.nnz, dtype=bool)
    for u in range(m.shape[0]):
        lo, hi = m.indptr[u], m.indptr[u + 1]
        n = hi - lo
        take = int(np.floor(fraction * n))
        perm = rng.permutation(n)
        test_mask[lo + perm[:take]] = True
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(
            (m.data[mask], (rows[mask], m.indices[mask])), shape=m.shape, dtype=np.float32
        )

    return part(~test_mask), part(test_mask)


def read_plays_matrix(
    plays_path: str, cfg: AblationConfig
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """:func:`build_matrix` of an ingest ``plays`` Parquet file, weighted and ordered per
    ``cfg``; the items are the ``track_id`` column, or ``artist_id`` in an artist-level log
    (HetRec), under the name ``track_id``."""
    import pyarrow.parquet as pq

    names = pq.ParquetFile(plays_path).schema_arrow.names
    key = "track_id" if "track_id" in names else "artist_id"
    frame = pd.read_parquet(plays_path, columns=["user_id", key, "plays"])
    frame = frame.rename(columns={key: "track_id"})
    shuffle = cfg.seed if cfg.shuffle_items else None
    return build_matrix(frame, cfg.weighting, cfg.min_item_users, shuffle)


def split_cold_warm(matrix: sp.csr_matrix, cfg: AblationConfig) -> AblationSplit:
    """Hold out cold test and cold validation items, then a per-user share of the rest.

    ``train ∪ validation ∪ warm_test ∪ cold_test ∪ cold_validation`` is the input and the
    parts are disjoint; the same seed gives the same split (the cold test items are drawn
    first, so they do not depend on ``cold_validation_fraction``).
    """
    m = sp.csr_matrix(matrix, dtype=np.float32)
    rng = np.random.default_rng(cfg.seed)
    n_items = m.shape[1]
    n_cold = max(1, round(cfg.cold_item_fraction * n_items))
    cold_items = np.sort(rng.choice(n_items, size=n_cold, replace=False))
    is_cold = np.zeros(n_items, dtype=bool)
    is_cold[cold_items] = True
    rest = np.flatnonzero(~is_cold)
    n_val = min(round(cfg.cold_validation_fraction * n_items), max(rest.size - 1, 0))
    cold_val_items = np.sort(rng.choice(rest, size=n_val, replace=False))
    is_val = np.zeros(n_items, dtype=bool)
    is_val[cold_val_items] = True
    coo = m.tocoo()

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(
            (coo.data[mask], (coo.row[mask], coo.col[mask])), shape=m.shape, dtype=np.float32
        )

    cold_mask, val_mask = is_cold[coo.col], is_val[coo.col]
    warm_all = part(~cold_mask & ~val_mask)
    cold_test, cold_validation = part(cold_mask), part(val_mask)
    rest_m, warm_test = _per_user_holdout(warm_all, cfg.holdout_fraction, cfg.seed)
    if cfg.validation_fraction > 0:
        train, validation = _per_user_holdout(rest_m, cfg.validation_fraction, cfg.seed + 1000)
    else:
        train, validation = rest_m, sp.csr_matrix(m.shape, dtype=np.float32)
    return AblationSplit(
        train, validation, warm_test, cold_test, cold_items, cold_validation, cold_val_items
    )


def rank_metrics(
    scores: np.ndarray,
    truth: sp.csr_matrix,
    seen: sp.csr_matrix,
    candidates: np.ndarray,
    k: int,
) -> pd.DataFrame:
    """Per-user ranking metrics among ``candidates``, training items excluded.

    Parameters
    ----------
    scores
        ``(n_rows, n_items)`` scores of the rows of ``truth``.
    truth, seen
        ``(n_rows, n_items)`` relevant (test) and excluded (training) items.
    candidates
        Item indices that may be ranked; relevant items outside are ignored.
    k
        Cut-off.

    Returns
    -------
    DataFrame
        ``row``, ``n_relevant`` and the metrics of
        :func:`moodrec.evaluation.metrics.ranking_metrics` (``ndcg``, ``recall``, ``hr``,
        ``mrr``, ...) for every row with relevant candidates; ties rank the lower item first.
    """
    s = np.array(scores, dtype=np.float64, copy=True)
    allowed = np.zeros(s.shape[1], dtype=bool)
    allowed[candidates] = True
    s[:, ~allowed] = -np.inf
    seen = sp.csr_matrix(seen)
    rows = np.repeat(np.arange(s.shape[0]), np.diff(seen.indptr))
    s[rows, seen.indices] = -np.inf
    s[np.isnan(s)] = -np.inf
    rel = sp.csr_matrix(sp.csr_matrix(truth).multiply(allowed[None, :].astype(np.float32)))
    rel.eliminate_zeros()
    n_rel = np.diff(rel.indptr)
    keep = np.flatnonzero(n_rel > 0)
    if keep.size == 0:
        return pd.DataFrame(columns=["row", "n_relevant", *RANKING_METRICS])
    top, _ = top_k(s[keep], k)
    hits = hit_matrix(top, rel, keep)
    metrics = ranking_metrics(hits, n_rel[keep], k)
    return pd.DataFrame({"row": keep, "n_relevant": n_rel[keep], **metrics})


# -- variants ---------------------------------------------------------------------------------
