"""Hyperparameter search on a validation split within a time budget.

Trials run in a deterministic order (grid: the Cartesian product in the order the space
lists its values; random: a seeded shuffle of it), each fitted on ``train`` and scored by
NDCG@k on ``validation`` with full ranking and training items excluded. The search stops
when the budget is spent (a started trial always finishes), so the first trial always runs.

The budget is counted in **CPU seconds of this process** by default (``budget_clock="cpu"``,
:func:`time.process_time`: user + system time of all its threads, children not included).
Wall-clock seconds (``"wall"``) grow with whatever else the machine runs: on two shared
cores under a load average of 20, one BPR trial took 20 minutes of wall time and used a
whole budget, so how many trials a search ran depended on the neighbours. CPU seconds
measure the search's own work. On an idle many-core machine a multi-threaded fit uses
CPU seconds faster than wall seconds; pass ``"wall"`` where a deadline is what matters.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from moodrec.errors import ModelError, ModelFitError
from moodrec.evaluation.metrics import evaluate_recommender
from moodrec.interactions.matrix import weight_matrix
from moodrec.models import create_model
from moodrec.models.base import ItemFeatures, Recommender, SideInformation
from moodrec.models.budget import within_budget

logger = logging.getLogger(__name__)


def split_params(params: dict[str, Any], default_weighting: str) -> tuple[str, dict[str, Any]]:
    """``(weighting, model_params)``: the ``weighting`` key is not a model parameter."""
    rest = dict(params)
    weighting = str(rest.pop("weighting", default_weighting))
    return weighting, rest


def fit_model(
    name: str,
    params: dict[str, Any],
    train_counts: sp.csr_matrix,
    *,
    default_weighting: str = "log",
    validation: sp.csr_matrix | None = None,
    item_features: ItemFeatures | None = None,
    side: SideInformation | None = None,
) -> tuple[Recommender, float]:
    """Create ``name`` with ``params``, weight the raw counts, fit; returns ``(model, seconds)``.

    ``side`` (friends, item tags) is passed to the models that use it.
    """
    weighting, model_params = split_params(params, default_weighting)
    model = create_model(name, **model_params)
    start = time.perf_counter()
    model.fit(
        weight_matrix(train_counts, weighting),
        validation=validation,
        item_features=item_features,
        side=side,
    )
    return model, time.perf_counter() - start


def candidate_params(
    space: dict[str, list[Any]], *, strategy: str = "grid", max_trials: int = 20, seed: int = 0
) -> list[dict[str, Any]]:
    """The trial parameter sets, in the order they will run.

    ``grid`` takes the first ``max_trials`` of the Cartesian product; ``random`` a seeded
    shuffle of the product (without repetition), first ``max_trials``.
    """
    if not space:
        return [{}]
    keys = list(space)
    grid = [dict(zip(keys, values, strict=True)) for values in itertools.product(*space.values())]
    if strategy == "random":
        order = np.random.default_rng(seed).permutation(len(grid))
        grid = [grid[i] for i in order]
    elif strategy != "grid":
        raise ModelError(f"tuning: unknown strategy {strategy!r} (grid or random)")
    return grid[:max_trials]


@dataclass
class TuningResult:
    """Best parameters (base merged with the best trial) and the table of every trial."""

    best_params: dict[str, Any]
    best_score: float
    trials: pd.DataFrame


def tune_model(
    name: str,
    train_counts: sp.csr_matrix,
    validation: sp.csr_matrix,
    space: dict[str, list[Any]],
    *,
    base_params: dict[str, Any] | None = None,
    default_weighting: str = "log",
    k: int = 20,
    budget_s: float = 60.0,
    max_trials: int = 20,
    strategy: str = "grid",
    seed: int = 0,
    item_features: ItemFeatures | None = None,
    side: SideInformation | None = None,
    budget_clock: str | Callable[[], float] = "cpu",
) -> TuningResult:
    """Search ``space`` for the parameters with the best validation NDCG@``k``.

    Parameters
    ----------
    name
        Registry name of the model.
    train_counts, validation
        Raw-count training matrix and the validation matrix (same shape).
    space
        Parameter → candidate values (``weighting`` allowed).
    base_params
        Fixed parameters every trial starts from.
    side
        Side information for the models that use it (built without held-out pairs).
    budget_s, budget_clock
        The search starts no further trial once ``budget_s`` seconds of ``budget_clock`` have
        passed since it began (``"cpu"``: this process's CPU seconds; ``"wall"``; or a
        callable, read once before the search and once before each further trial).

    Returns
    -------
    TuningResult
        ``best_params`` includes what the best model chose on validation itself
        (:meth:`Recommender.selected_params`). ``trials`` has one row per trial: the
        parameters, ``ndcg@k``, ``fit_s`` (wall), ``cpu_s`` (CPU seconds of the process for
        the fit and its validation), ``status`` (``ok`` or the fit error). Ties keep the
        earlier trial.

    Raises
    ------
    ModelFitError
        When every trial failed.
    """
    base = dict(base_params or {})
    rows: list[dict[str, Any]] = []
    best: tuple[float, dict[str, Any]] | None = None
    trials = candidate_params(space, strategy=strategy, max_trials=max_trials, seed=seed)
    for trial in within_budget(trials, budget_s, budget_clock, label=f"tuning {name}"):
        params = base | trial
        row: dict[str, Any] = {"model": name, **{f"param_{k_}": v for k_, v in trial.items()}}
        cpu_start = time.process_time()
        try:
            model, fit_s = fit_model(
                name,
                params,
                train_counts,
                default_weighting=default_weighting,
                validation=validation,
                item_features=item_features,
                side=side,
            )
        except ModelFitError as exc:
            cpu_s = time.process_time() - cpu_start
            rows.append(
                row
                | {f"ndcg@{k}": float("nan"), "fit_s": np.nan, "cpu_s": cpu_s, "status": str(exc)}
            )
            continue
        score = evaluate_recommender(model, train_counts, validation, ks=(k,)).means()[f"ndcg@{k}"]
        cpu_s = time.process_time() - cpu_start
        rows.append(row | {f"ndcg@{k}": score, "fit_s": fit_s, "cpu_s": cpu_s, "status": "ok"})
        logger.info("tuning %s %s: ndcg@%d=%.4f (%.1fs)", name, trial, k, score, fit_s)
        if best is None or score > best[0]:
            # what the model chose itself on validation (blend weights) is part of the result
            best = (score, params | model.selected_params())
    if best is None:
        raise ModelFitError(
            f"tuning {name}: every trial failed ({rows[-1]['status'] if rows else ''})"
        )
    return TuningResult(best[1], best[0], pd.DataFrame(rows))
