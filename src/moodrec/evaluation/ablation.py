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
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from moodrec.errors import ModelError, ModelFitError
from moodrec.evaluation.ablation_split import (
    AblationSplit,
    build_matrix,
    rank_metrics,
    read_plays_matrix,
    split_cold_warm,
)
from moodrec.evaluation.ablation_summary import (
    baseline_name,
    family_label,
    pool_seeds,
    reference_name,
    rq1_answer,
    summarise,
    uses_reference_params,
    variant_names,
)
from moodrec.interactions.ranking import RANKING_METRICS
from moodrec.models import create_model, load_models
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.budget import within_budget
from moodrec.models.deep_config import AblationConfig, DeepModelsConfig

#: the ablation's whole interface, in one place for its callers (split, protocol, table)
__all__ = [
    "SLICES",
    "AblationSplit",
    "baseline_name",
    "build_matrix",
    "evaluate_variant",
    "evaluate_variant_files",
    "family_label",
    "fit_variant",
    "make_model",
    "pool_seeds",
    "rank_metrics",
    "read_plays_matrix",
    "reference_name",
    "rq1_answer",
    "run_ablation",
    "split_cold_warm",
    "summarise",
    "uses_reference_params",
    "variant_names",
]

logger = logging.getLogger(__name__)

SLICES = ("warm", "cold", "cold_only", "all")
#: the torch models whose hyperparameters live in ``DeepModelsConfig``
DEEP_MODELS = ("bpr", "neumf", "hybrid", "lightfm")


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
    CPU seconds of this process are spent (the first always runs); each is fitted on the
    training matrix with the warm validation matrix for early stopping and scored by
    :func:`validation_score`. CPU, not wall-clock, time: a search that shares the machine
    (other jobs, the other variants' worker processes) tries the same trials, so it chooses
    the same model.

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
    best: tuple[float, Recommender, dict[str, Any]] | None = None
    rows: list[dict[str, Any]] = []
    for trial in within_budget(grid, cfg.tuning_budget_s, "cpu", label=f"ablation tuning {name}"):
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
    ``reference_params`` are the tuned reference's (:func:`evaluate_variant` returns them);
    ``None`` tunes the reference again when the variant needs them
    (:func:`uses_reference_params`), so pass them on when fitting more than one variant.
    """
    cfg = deep.ablation
    families = {family_label(cfg, f): g for f, g in cfg.variants.items()}
    if name in cfg.reference_models:
        base = _base_params(deep, name)
        model, params, _ = tune_variant(
            name, base, cfg.spaces.get(name, {}), split, features, cfg, False
        )
        return model, params
    if reference_params is None and uses_reference_params(name, cfg):
        reference_params = tuned_reference_params(split, features, deep)
    reference_params = reference_params or {}
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


def evaluate_variant_files(
    name: str,
    plays_path: str,
    features_path: str,
    groups: dict[str, list[str]],
    deep: DeepModelsConfig,
    reference_params: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, float, dict[str, Any]] | None:
    """:func:`evaluate_variant` on the matrix of an ingest ``plays`` file and the item
    features of ``features_path`` (``groups``: group → columns), both read here.

    A module-level function of paths and plain values, so a worker process can run it
    (:func:`moodrec.orchestration.processes.run_in_worker`); the split is rebuilt from its
    seed, the same in every process.
    """
    from moodrec.features.content import features_from_frame

    matrix, _, _ = read_plays_matrix(plays_path, deep.ablation)
    split = split_cold_warm(matrix, deep.ablation)
    features = features_from_frame(pd.read_parquet(features_path), groups)
    return evaluate_variant(name, split, features, deep, reference_params)


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
