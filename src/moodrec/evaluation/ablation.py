"""Does content help? Tuned CF vs content models on warm, cold and all items (RQ1).

One seeded split holds out a share of the items entirely (their interactions form the
*cold-start* test slice; a second share, the *cold validation* items, is used only to select
the content models), then a share of each user's remaining interactions (the *warm* slice,
HetRec-style per-user holdout) and a validation share of the rest.

Models. The reference is the tuned best CF model (``reference_models[0]``, iALS tuned on the
warm validation matrix within a time budget), not a weakened copy of a hybrid; popularity is
fitted beside it. Each content *family* (audio, genre, lyric topics, Word2Vec lyric map,
clusters, popularity) and ``all`` is a variant of the family model (``cb2cf``: the tuned iALS
plus a content → factor mapping, so warm items keep iALS's factors); the content models
(``lightfm``, ``hybrid``) are fitted on every group of ``all`` and choose their groups and
hyperparameters on validation (warm validation NDCG and cold-validation NDCG against the whole
catalogue, averaged) within the same budget.

Slices (full ranking, training and validation items excluded, ties to the lower item index):

* ``warm``: held-out interactions of items with training data, ranked among those items;
* ``cold`` (the headline): interactions of the cold items, ranked against the **whole
  catalogue** (warm + cold), so content must lift a cold item above the warm ones;
* ``cold_only``: the same interactions ranked among the cold items only (the usual, easier
  cold-start protocol, kept as a second view);
* ``all``: warm and cold held-out interactions together, ranked against the whole catalogue.

Per user NDCG@k and Recall@k, mean ± 95 % bootstrap CI over users, and paired tests against
the reference (Wilcoxon signed-rank and a paired bootstrap CI of the difference).
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from moodrec.errors import InputDataError, ModelError, ModelFitError
from moodrec.evaluation.stats import bootstrap_ci, paired_comparison
from moodrec.interactions.ranking import RANKING_METRICS, hit_matrix, ranking_metrics, top_k
from moodrec.models import create_model, load_models
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.deep_config import AblationConfig, DeepModelsConfig

logger = logging.getLogger(__name__)

SLICES = ("warm", "cold", "cold_only", "all")
#: the torch models whose hyperparameters live in ``DeepModelsConfig``
DEEP_MODELS = ("bpr", "neumf", "hybrid", "lightfm")


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


def family_label(cfg: AblationConfig, family: str) -> str:
    """Table name of a content-family variant, e.g. ``cb2cf:audio``."""
    return f"{cfg.family_model}:{family}"


def variant_names(cfg: AblationConfig) -> list[str]:
    """Every variant of the ablation in table order: references, families, content models."""
    return [
        *cfg.reference_models,
        *(family_label(cfg, f) for f in cfg.variants),
        *cfg.content_models,
    ]


def reference_name(cfg: AblationConfig) -> str:
    """The variant every paired test compares against (the tuned CF model)."""
    return cfg.reference_models[0]


def baseline_name(cfg: AblationConfig) -> str | None:
    """The content-free family variant (no groups: cold items get the mean mapped factor),
    against which each family's own contribution is tested; ``None`` when not configured."""
    for fam, groups in cfg.variants.items():
        if not groups:
            return family_label(cfg, fam)
    return None


def _available_groups(features: ItemFeatures | None, groups: tuple[str, ...]) -> list[str]:
    if features is None:
        return []
    return [g for g in groups if features.groups.get(g)]


def _base_params(deep: DeepModelsConfig, name: str) -> dict[str, Any]:
    """Default parameters of ``name``: the ``DeepModelsConfig`` section for torch models."""
    if name in DEEP_MODELS:
        return dict(getattr(deep, name).model_dump(mode="json"))
    return {}


def make_model(name: str, params: dict[str, Any]) -> Recommender:
    """A new recommender by registry name.

    Raises
    ------
    ModelError
        When no model of that name is registered.
    """
    if name not in load_models():
        raise ModelError(f"ablation: no recommender named {name!r}")
    model: Recommender = create_model(name, **params)
    return model


def _slice_scores(
    model: Recommender,
    truth: sp.csr_matrix,
    seen: sp.csr_matrix,
    candidates: np.ndarray,
    k: int,
) -> pd.DataFrame:
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    if users.size == 0:
        return pd.DataFrame(columns=["user", "n_relevant", *RANKING_METRICS])
    scores = np.asarray(model.score(users), dtype=np.float64)
    res = rank_metrics(scores, truth[users], seen[users], candidates, k)
    res["user"] = users[res["row"].to_numpy()]
    return res.drop(columns="row")


def validation_score(model: Recommender, split: AblationSplit, k: int, content: bool) -> float:
    """The selection criterion: NDCG@k on the warm validation matrix (ranked among the items
    with training data; for content models against the whole catalogue, averaged with NDCG@k
    of the cold validation items ranked against the whole catalogue)."""
    train = split.train
    # a content model's warm items compete with its cold ones: rank them all together
    warm = np.flatnonzero(np.diff(train.tocsc().indptr) > 0)
    cand = np.arange(train.shape[1]) if content else warm
    value = float(_slice_scores(model, split.validation, train, cand, k)["ndcg"].mean())
    if content and split.cold_validation is not None and split.cold_validation.nnz:
        cold = _slice_scores(model, split.cold_validation, train, np.arange(train.shape[1]), k)[
            "ndcg"
        ].mean()
        value = 0.5 * (value + float(cold))
    return value


def tune_variant(
    name: str,
    base: dict[str, Any],
    space: dict[str, list[Any]],
    split: AblationSplit,
    features: ItemFeatures | None,
    cfg: AblationConfig,
    content: bool,
) -> tuple[Recommender, dict[str, Any], pd.DataFrame]:
    """Budgeted grid search of ``space`` around ``base`` on the split's validation data.

    Trials run in grid order (the space lists defaults first) until ``cfg.tuning_budget_s``
    is spent (the first always runs); each is fitted on the training matrix with the warm
    validation matrix for early stopping and scored by :func:`validation_score`.

    Returns
    -------
    (model, params, trials)
        The best fitted model (no refit: the test uses the same training matrix), its
        parameters including what it chose itself (:meth:`Recommender.selected_params`), and
        one row per trial.

    Raises
    ------
    ModelFitError
        When every trial failed.
    """
    keys = list(space)
    grid = [dict(zip(keys, v, strict=True)) for v in itertools.product(*space.values())] or [{}]
    start = time.perf_counter()
    best: tuple[float, Recommender, dict[str, Any]] | None = None
    rows: list[dict[str, Any]] = []
    for trial in grid:
        if rows and time.perf_counter() - start >= cfg.tuning_budget_s:
            break
        params = base | trial
        t0 = time.perf_counter()
        try:
            model = make_model(name, params)
            model.fit(split.train, validation=split.validation, item_features=features)
        except ModelFitError as exc:
            rows.append({"trial": str(trial), "score": float("nan"), "status": str(exc)})
            continue
        score = validation_score(model, split, cfg.k, content)
        fit_s = time.perf_counter() - t0
        rows.append({"trial": str(trial), "score": score, "fit_s": fit_s, "status": "ok"})
        logger.info("ablation tuning %s %s: %.4f (%.1f s)", name, trial, score, fit_s)
        if best is None or score > best[0]:
            best = (score, model, params | model.selected_params())
    if best is None:
        raise ModelFitError(f"ablation: every trial of {name} failed ({rows[-1]['status']})")
    return best[1], best[2], pd.DataFrame(rows)


def tuned_reference_params(
    split: AblationSplit, features: ItemFeatures | None, deep: DeepModelsConfig
) -> dict[str, Any]:
    """Parameters of the tuned reference model (the family model builds on them)."""
    cfg = deep.ablation
    name = reference_name(cfg)
    _, params, _ = tune_variant(
        name, _base_params(deep, name), cfg.spaces.get(name, {}), split, features, cfg, False
    )
    return params


def _group_candidates(groups: list[str]) -> list[list[str]]:
    """Feature-group sets a content model's search tries: all, all but popularity, the two
    families planted strongest in the sandbox (audio + genre), in that order."""
    out: list[list[str]] = []
    for cand in (
        groups,
        [g for g in groups if g != "popularity"],
        [g for g in groups if g in ("audio", "genre")],
    ):
        if cand and cand not in out:
            out.append(cand)
    return out


def fit_variant(
    name: str,
    split: AblationSplit,
    features: ItemFeatures | None,
    deep: DeepModelsConfig,
    reference_params: dict[str, Any] | None = None,
) -> tuple[Recommender, dict[str, Any]] | None:
    """The fitted model of one variant and its parameters; ``None`` when its content is absent.

    References are tuned on warm validation; family variants use the family model on the
    tuned reference's parameters with the family's groups; content models search their
    groups (:func:`_group_candidates`) and ``cfg.spaces`` within the budget.
    """
    cfg = deep.ablation
    families = {family_label(cfg, f): g for f, g in cfg.variants.items()}
    if name in cfg.reference_models:
        base = _base_params(deep, name)
        model, params, _ = tune_variant(
            name, base, cfg.spaces.get(name, {}), split, features, cfg, False
        )
        return model, params
    if reference_params is None:
        reference_params = tuned_reference_params(split, features, deep)
    if name in families:
        groups = _available_groups(features, families[name])
        if families[name] and not groups:
            logger.info("ablation: %s skipped (the features have none of %s)", name, families[name])
            return None
        base = _base_params(deep, cfg.family_model) | {"groups": groups}
        if cfg.family_model == "cb2cf":
            base |= {k: v for k, v in reference_params.items() if k != "weighting"}
            base["groups"], base["select_groups"] = groups, len(groups) > 1
        model, params, _ = tune_variant(cfg.family_model, base, {}, split, features, cfg, True)
        return model, params
    if name in cfg.content_models:
        all_groups = _available_groups(features, cfg.variants.get("all", ()))
        if not all_groups:
            return None
        base = _base_params(deep, name)
        space = {"groups": _group_candidates(all_groups), **cfg.spaces.get(name, {})}
        if name == "cb2cf":
            base |= reference_params | {"groups": all_groups}
            space = {}
        model, params, _ = tune_variant(name, base, space, split, features, cfg, True)
        return model, params
    raise ModelError(f"ablation: unknown variant {name!r}; known: {variant_names(cfg)}")


def evaluate_model(
    model: Recommender, split: AblationSplit, k: int, fit_seconds: float = float("nan")
) -> pd.DataFrame:
    """Per-user metrics of a fitted ``model`` on every slice of :data:`SLICES`.

    Returns
    -------
    DataFrame
        ``slice``, ``user``, ``n_relevant`` and the ranking metrics per user and slice;
        ``attrs["fit_seconds"]`` holds ``fit_seconds``.
    """
    n_items = split.train.shape[1]
    everything = np.arange(n_items)
    known_items = np.flatnonzero(np.diff(split.train.tocsc().indptr) > 0)
    seen = split.known().tocsr()
    views = (
        ("warm", split.warm_test, known_items),
        ("cold", split.cold_test, everything),
        ("cold_only", split.cold_test, split.cold_items),
        ("all", sp.csr_matrix(split.warm_test + split.cold_test), everything),
    )
    frames = []
    for slice_name, truth, cand in views:
        res = _slice_scores(model, sp.csr_matrix(truth), seen, cand, k)
        if len(res):
            frames.append(res.assign(slice=slice_name))
    per_user = pd.concat(frames, ignore_index=True)
    per_user.attrs["fit_seconds"] = fit_seconds
    return per_user


def evaluate_variant(
    name: str,
    split: AblationSplit,
    features: ItemFeatures | None,
    deep: DeepModelsConfig,
    reference_params: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, float, dict[str, Any]] | None:
    """Per-user metrics, seconds (selection + fit) and parameters of one variant by name;
    ``None`` when the features lack the variant's content."""
    start = time.perf_counter()
    fitted = fit_variant(name, split, features, deep, reference_params)
    if fitted is None:
        return None
    model, params = fitted
    secs = time.perf_counter() - start
    per_user = evaluate_model(model, split, deep.ablation.k, secs)
    per_user.insert(0, "variant", name)
    means = per_user.groupby("slice")["ndcg"].mean().round(4).to_dict()
    logger.info("ablation %s: %.1f s, NDCG@%d %s", name, secs, deep.ablation.k, means)
    return per_user, secs, params


def summarise(
    per_user: pd.DataFrame,
    reference: str,
    n_boot: int,
    seed: int,
    fit_seconds: dict[str, float] | None = None,
    baseline: str | None = None,
) -> pd.DataFrame:
    """The ablation table: one row per (variant, slice, metric).

    Parameters
    ----------
    per_user
        ``variant``, ``slice``, ``user``, ``ndcg``, ``recall`` rows.
    reference
        Variant the paired tests compare against (the tuned CF model).
    n_boot, seed
        Bootstrap resamples and seed.
    fit_seconds
        Fit time per variant, copied into the table.
    baseline
        A second variant to compare with (the content-free family model), giving
        ``diff_vs_base``, ``base_ci_low``, ``base_ci_high``, ``p_base`` (Wilcoxon).

    Returns
    -------
    DataFrame
        ``variant``, ``slice``, ``metric``, ``n_users``, ``mean``, ``ci_low``, ``ci_high``,
        ``diff_vs_ref``, ``diff_ci_low``, ``diff_ci_high``, ``p_value`` (paired Wilcoxon),
        ``p_bootstrap`` (paired bootstrap), ``fit_seconds``; CIs and tests from
        :mod:`moodrec.evaluation.stats`.
    """
    table = _summarise(per_user, reference, n_boot, seed, fit_seconds)
    if baseline is None or baseline not in set(per_user["variant"]):
        return table
    vs_base = _summarise(per_user, baseline, n_boot, seed, fit_seconds)
    extra = vs_base[["variant", "slice", "metric", "diff_vs_ref", "diff_ci_low", "diff_ci_high"]]
    extra = extra.assign(p_base=vs_base["p_value"]).rename(
        columns={
            "diff_vs_ref": "diff_vs_base",
            "diff_ci_low": "base_ci_low",
            "diff_ci_high": "base_ci_high",
        }
    )
    return table.merge(extra, on=["variant", "slice", "metric"], how="left")


def _summarise(
    per_user: pd.DataFrame,
    reference: str,
    n_boot: int,
    seed: int,
    fit_seconds: dict[str, float] | None,
) -> pd.DataFrame:
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
    """Fit and evaluate the chosen variants (default :func:`variant_names`) on one split.

    The reference is tuned once and its parameters reused by the family variants.

    Returns
    -------
    (table, per_user)
        See :func:`summarise`; ``per_user`` has one row per (variant, slice, user);
        ``table.attrs["params"]`` holds each variant's chosen parameters.
    """
    cfg = deep.ablation
    split = split_cold_warm(matrix, cfg)
    names = variants or variant_names(cfg)
    reference = reference_name(cfg)
    frames, seconds, chosen = [], {}, {}
    ref_params: dict[str, Any] | None = None
    for name in [reference, *[n for n in names if n != reference]]:
        res = evaluate_variant(name, split, features, deep, ref_params)
        if res is None:
            continue
        per_user, secs, params = res
        if name == reference:
            ref_params = params
        frames.append(per_user)
        seconds[name], chosen[name] = secs, params
    per_user = pd.concat(frames, ignore_index=True)
    table = summarise(per_user, reference, cfg.n_bootstrap, cfg.seed, seconds, baseline_name(cfg))
    table.attrs["params"] = chosen
    return table, per_user


# -- the RQ1 answer -----------------------------------------------------------------------------


def _cell(table: pd.DataFrame, variant: str, slice_name: str) -> pd.Series | None:
    hit = table[
        (table["variant"] == variant) & (table["slice"] == slice_name) & (table["metric"] == "ndcg")
    ]
    return None if hit.empty else hit.iloc[0]


def rq1_answer(table: pd.DataFrame, cfg: AblationConfig) -> dict[str, Any]:
    """The RQ1 verdict drawn from the table (NDCG): the best content model on the headline
    cold slice, how it compares with the reference on warm and cold items, and which families
    help on cold items (paired 95 % CI of the difference vs the reference above zero).

    Returns
    -------
    dict
        ``reference``, ``best`` (variant), ``cold`` and ``warm`` (mean, reference mean,
        difference and its CI), ``warm_verdict`` (``"above"``, ``"within"`` or ``"below"`` the
        reference: the paired CI of the difference above zero, spanning it, below it),
        ``families_helping`` / ``families_not_helping`` (family names: cold-slice paired CI
        vs the content-free family variant above zero, or vs the reference without one),
        ``sentence``.
    """
    reference = reference_name(cfg)
    content = [v for v in table["variant"].unique() if v not in cfg.reference_models]
    cold = {v: _cell(table, v, "cold") for v in content}
    cold = {v: c for v, c in cold.items() if c is not None}
    if not cold:
        return {"reference": reference, "best": None, "sentence": "No content model was fitted."}
    best = max(cold, key=lambda v: float(cold[v]["mean"]))
    bc, bw = cold[best], _cell(table, best, "warm")
    rc, rw = _cell(table, reference, "cold"), _cell(table, reference, "warm")

    def verdict(row: pd.Series | None) -> str:
        if row is None or np.isnan(row["diff_ci_low"]):
            return "n/a"
        if row["diff_ci_low"] > 0:
            return "above"
        if row["diff_ci_high"] < 0:
            return "below"
        return "within"

    # a family helps when it beats the content-free family model (same mapping, no content;
    # else the reference) on cold items: paired 95 % CI of the difference above zero
    base = baseline_name(cfg)
    low = "base_ci_low" if base is not None and "base_ci_low" in table.columns else "diff_ci_low"
    helping, not_helping = [], []
    for fam, groups in cfg.variants.items():
        if fam == "all" or not groups:
            continue
        c = cold.get(family_label(cfg, fam))
        if c is None:
            continue
        (helping if c[low] > 0 else not_helping).append(fam)
    against = f"`{base}`" if low == "base_ci_low" else f"`{reference}`"
    warm_verdict = verdict(bw)
    warm_words = {
        "above": "above it on warm items",
        "within": "within its confidence interval on warm items",
        "below": "below it on warm items",
        "n/a": "not comparable on warm items",
    }[warm_verdict]
    k = cfg.k
    sentence = (
        f"Content helps where collaborative filtering has nothing to go on: on cold items ranked "
        f"against the whole catalogue, `{best}` reaches NDCG@{k} {bc['mean']:.3f} against "
        f"{rc['mean'] if rc is not None else float('nan'):.3f} for tuned `{reference}` "
        f"(Δ {bc['diff_vs_ref']:+.3f}, 95 % CI [{bc['diff_ci_low']:+.3f}, "
        f"{bc['diff_ci_high']:+.3f}]), while staying {warm_words} "
        f"({bw['mean'] if bw is not None else float('nan'):.3f} vs "
        f"{rw['mean'] if rw is not None else float('nan'):.3f}); "
        f"families that help on cold items alone (paired CI vs {against} above 0): "
        f"{', '.join(helping) or 'none'}"
        + (f"; not significantly: {', '.join(not_helping)}." if not_helping else ".")
    )
    return {
        "reference": reference,
        "best": best,
        "cold": {
            "mean": float(bc["mean"]),
            "reference_mean": float(rc["mean"]) if rc is not None else float("nan"),
            "diff": float(bc["diff_vs_ref"]),
            "diff_ci": [float(bc["diff_ci_low"]), float(bc["diff_ci_high"])],
        },
        "warm": None
        if bw is None
        else {
            "mean": float(bw["mean"]),
            "reference_mean": float(rw["mean"]) if rw is not None else float("nan"),
            "diff": float(bw["diff_vs_ref"]),
            "diff_ci": [float(bw["diff_ci_low"]), float(bw["diff_ci_high"])],
        },
        "warm_verdict": warm_verdict,
        "families_helping": helping,
        "families_not_helping": not_helping,
        "sentence": sentence,
    }
