"""Does content help? CF vs CF + audio / genre / topics / all, on warm and cold-start items.

The seed study's first question, answered honestly: one seeded split holds out a share of
the items entirely (their interactions form the *cold-start* slice) and a share of each
user's remaining interactions (the *warm* slice, HetRec-style per-user holdout). Every
variant is the hybrid model (:mod:`moodrec.models.hybrid`) with a subset of content feature
groups; plain CF recommenders (BPR-MF, or R1's best model) are fitted beside as references.

Ranking protocol: full ranking over the candidates, training items excluded, ties broken by
the lower item index. Warm slice candidates: every item that is not held out as cold. Cold
slice candidates: the cold items only (the usual cold-start protocol: CF gives them all the
same score, so it ranks them by index, i.e. at random). Per-user NDCG@k and Recall@k,
mean ± 95 % bootstrap CI over users, and paired tests against the CF-only variant
(Wilcoxon signed-rank and a paired bootstrap CI of the difference).
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from moodrec.errors import InputDataError, ModelError
from moodrec.evaluation.stats import bootstrap_ci, paired_comparison
from moodrec.interactions.ranking import RANKING_METRICS, hit_matrix, ranking_metrics, top_k
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.deep_config import AblationConfig, DeepModelsConfig

logger = logging.getLogger(__name__)

SLICES = ("warm", "cold")


@dataclass(frozen=True)
class AblationSplit:
    """Matrices of one ablation split, all ``(n_users, n_items)`` CSR."""

    train: sp.csr_matrix
    validation: sp.csr_matrix
    warm_test: sp.csr_matrix
    cold_test: sp.csr_matrix
    #: item indices held out entirely (no training interactions)
    cold_items: np.ndarray


def build_matrix(
    plays: pd.DataFrame, weighting: str = "log", min_item_users: int = 1
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

    Returns
    -------
    (matrix, user_ids, track_ids)
        The CSR matrix and the ids of its rows and columns (ascending).

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


def split_cold_warm(matrix: sp.csr_matrix, cfg: AblationConfig) -> AblationSplit:
    """Hold out ``cold_item_fraction`` of the items, then a per-user share of the rest.

    ``train ∪ validation ∪ warm_test ∪ cold_test`` is the input and the four are disjoint;
    the same seed gives the same split.
    """
    m = sp.csr_matrix(matrix, dtype=np.float32)
    rng = np.random.default_rng(cfg.seed)
    n_items = m.shape[1]
    n_cold = max(1, round(cfg.cold_item_fraction * n_items))
    cold_items = np.sort(rng.choice(n_items, size=n_cold, replace=False))
    is_cold = np.zeros(n_items, dtype=bool)
    is_cold[cold_items] = True
    coo = m.tocoo()
    cold_mask = is_cold[coo.col]

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(
            (coo.data[mask], (coo.row[mask], coo.col[mask])), shape=m.shape, dtype=np.float32
        )

    warm_all, cold_test = part(~cold_mask), part(cold_mask)
    rest, warm_test = _per_user_holdout(warm_all, cfg.holdout_fraction, cfg.seed)
    if cfg.validation_fraction > 0:
        train, validation = _per_user_holdout(rest, cfg.validation_fraction, cfg.seed + 1000)
    else:
        train, validation = rest, sp.csr_matrix(m.shape, dtype=np.float32)
    return AblationSplit(train, validation, warm_test, cold_test, cold_items)


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


def make_variant_model(deep: DeepModelsConfig, groups: tuple[str, ...] | list[str]) -> Recommender:
    """The hybrid model of the ablation with feature ``groups`` (empty = plain CF)."""
    from moodrec.models.hybrid import HybridRecommender

    params = deep.hybrid.model_dump(mode="json")
    params["groups"] = list(groups)
    return HybridRecommender(**params)


def make_reference_model(deep: DeepModelsConfig, name: str) -> Recommender:
    """A plain CF recommender by registry name (``bpr`` uses ``deep.bpr``).

    Raises
    ------
    ModelError
        When no model of that name can be found.
    """
    if name not in Recommender.registry:
        try:
            importlib.import_module(f"moodrec.models.{name}")
        except ImportError as exc:
            raise ModelError(f"ablation: no recommender named {name!r} ({exc})") from exc
    if name == "bpr":
        from moodrec.models.bpr import BPRMF

        return BPRMF(**deep.bpr.model_dump(mode="json"))
    klass = Recommender.registry.get(name)
    if klass is None:
        raise ModelError(f"ablation: no recommender named {name!r}")
    return klass()


def evaluate_model(
    model: Recommender,
    split: AblationSplit,
    features: ItemFeatures | None,
    k: int,
) -> pd.DataFrame:
    """Fit ``model`` on the split's training matrix and score both slices.

    Returns
    -------
    DataFrame
        ``slice``, ``user`` (row index), ``n_relevant``, ``ndcg``, ``recall`` per user and
        slice; ``attrs["fit_seconds"]`` holds the fit time.
    """
    start = time.perf_counter()
    model.fit(split.train, validation=split.validation, item_features=features)
    fit_seconds = time.perf_counter() - start
    n_items = split.train.shape[1]
    is_cold = np.zeros(n_items, dtype=bool)
    is_cold[split.cold_items] = True
    # the validation interactions are known history at test time: never recommend them
    seen = (split.train + split.validation).tocsr()
    frames = []
    for slice_name, truth, cand in (
        ("warm", split.warm_test, np.flatnonzero(~is_cold)),
        ("cold", split.cold_test, split.cold_items),
    ):
        users = np.flatnonzero(np.diff(truth.indptr) > 0)
        if users.size == 0:
            continue
        scores = np.asarray(model.score(users), dtype=np.float64)
        res = rank_metrics(scores, truth[users], seen[users], cand, k)
        res["user"] = users[res["row"].to_numpy()]
        res["slice"] = slice_name
        frames.append(res.drop(columns="row"))
    per_user = pd.concat(frames, ignore_index=True)
    per_user.attrs["fit_seconds"] = fit_seconds
    return per_user


def summarise(
    per_user: pd.DataFrame,
    reference: str,
    n_boot: int,
    seed: int,
    fit_seconds: dict[str, float] | None = None,
) -> pd.DataFrame:
    """The ablation table: one row per (variant, slice, metric).

    Parameters
    ----------
    per_user
        ``variant``, ``slice``, ``user``, ``ndcg``, ``recall`` rows.
    reference
        Variant the paired tests compare against (CF only).
    n_boot, seed
        Bootstrap resamples and seed.
    fit_seconds
        Fit time per variant, copied into the table.

    Returns
    -------
    DataFrame
        ``variant``, ``slice``, ``metric``, ``n_users``, ``mean``, ``ci_low``, ``ci_high``,
        ``diff_vs_ref``, ``diff_ci_low``, ``diff_ci_high``, ``p_value`` (paired Wilcoxon),
        ``p_bootstrap`` (paired bootstrap), ``fit_seconds``; CIs and tests from
        :mod:`moodrec.evaluation.stats`.
    """
    rows = []
    for (variant, slice_name), grp in per_user.groupby(["variant", "slice"], sort=False):
        ref = per_user[(per_user["variant"] == reference) & (per_user["slice"] == slice_name)]
        for metric in ("ndcg", "recall"):
            vals = grp[metric].to_numpy()
            mean, lo, hi = bootstrap_ci(vals, n_boot=n_boot, seed=seed)
            row: dict[str, Any] = {
                "variant": variant,
                "slice": slice_name,
                "metric": metric,
                "n_users": int(vals.size),
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "diff_vs_ref": float("nan"),
                "diff_ci_low": float("nan"),
                "diff_ci_high": float("nan"),
                "p_value": float("nan"),
                "p_bootstrap": float("nan"),
                "fit_seconds": float((fit_seconds or {}).get(str(variant), float("nan"))),
            }
            if variant != reference and not ref.empty:
                paired = grp.merge(ref[["user", metric]], on="user", suffixes=("", "_ref"))
                cmp = paired_comparison(
                    paired[metric].to_numpy(),
                    paired[f"{metric}_ref"].to_numpy(),
                    n_boot=n_boot,
                    seed=seed,
                )
                row["diff_vs_ref"] = cmp.mean_diff
                row["diff_ci_low"], row["diff_ci_high"] = cmp.ci_low, cmp.ci_high
                row["p_value"], row["p_bootstrap"] = cmp.p_wilcoxon, cmp.p_bootstrap
            rows.append(row)
    return pd.DataFrame(rows)


def run_ablation(
    matrix: sp.csr_matrix,
    features: ItemFeatures,
    deep: DeepModelsConfig,
    variants: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit and evaluate the chosen variants (default all + references) on one split.

    Returns
    -------
    (table, per_user)
        See :func:`summarise`; ``per_user`` has one row per (variant, slice, user).
    """
    cfg = deep.ablation
    split = split_cold_warm(matrix, cfg)
    names = variants or [*cfg.variants, *cfg.reference_models]
    frames, seconds = [], {}
    for name in names:
        per_user, secs = evaluate_variant(name, split, features, deep)
        frames.append(per_user)
        seconds[name] = secs
    per_user = pd.concat(frames, ignore_index=True)
    reference = next(iter(cfg.variants))
    return summarise(per_user, reference, cfg.n_bootstrap, cfg.seed, seconds), per_user


def evaluate_variant(
    name: str, split: AblationSplit, features: ItemFeatures, deep: DeepModelsConfig
) -> tuple[pd.DataFrame, float]:
    """Per-user metrics and fit seconds of one variant (or reference model) by name."""
    cfg = deep.ablation
    if name in cfg.variants:
        model = make_variant_model(deep, cfg.variants[name])
    else:
        model = make_reference_model(deep, name)
    per_user = evaluate_model(model, split, features, cfg.k)
    per_user.insert(0, "variant", name)
    secs = float(per_user.attrs["fit_seconds"])
    logger.info(
        "ablation %s: fit %.1f s, NDCG@%d warm %.4f cold %.4f",
        name,
        secs,
        cfg.k,
        per_user.loc[per_user["slice"] == "warm", "ndcg"].mean(),
        per_user.loc[per_user["slice"] == "cold", "ndcg"].mean(),
    )
    return per_user, secs
