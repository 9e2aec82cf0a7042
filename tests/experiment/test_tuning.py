"""The budgeted hyperparameter search: deterministic trial order, best-on-validation, budget."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from moodrec.errors import ModelError
from moodrec.evaluation.splits import per_user_holdout
from moodrec.experiment.tuning import candidate_params, tune_model
from moodrec.models.budget import budget_clock_of
from tests.models.test_classical import random_matrix


def test_candidate_params_order_is_deterministic() -> None:
    space = {"a": [1, 2], "b": ["x", "y"]}
    grid = candidate_params(space)
    assert grid == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    r1 = candidate_params(space, strategy="random", max_trials=3, seed=4)
    assert r1 == candidate_params(space, strategy="random", max_trials=3, seed=4)
    assert len(r1) == 3 and all(p in grid for p in r1)
    assert candidate_params({}) == [{}]
    with pytest.raises(ModelError):
        candidate_params(space, strategy="bayes")


def test_tune_model_picks_the_best_and_respects_the_budget() -> None:
    train, validation = per_user_holdout(random_matrix(4, (80, 30)), 0.3, 0)
    result = tune_model("itemknn", train, validation, {"k": [1, 20]}, k=10, budget_s=60)
    assert len(result.trials) == 2 and (result.trials["status"] == "ok").all()
    best_row = result.trials.loc[result.trials["ndcg@10"].idxmax()]
    assert result.best_params["k"] == best_row["param_k"]
    assert result.best_score == pytest.approx(best_row["ndcg@10"])
    tiny = tune_model("itemknn", train, validation, {"k": [1, 20, 5]}, k=10, budget_s=1e-9)
    assert len(tiny.trials) == 1  # the first trial always runs, then the budget is spent


def test_the_budget_is_counted_on_the_given_clock_and_a_started_trial_finishes() -> None:
    train, validation = per_user_holdout(random_matrix(4, (80, 30)), 0.3, 0)
    space = {"k": [1, 2, 3, 4, 5, 6]}

    def clock_of(readings: list[float]) -> Callable[[], float]:
        # read once before the search, then once before each trial after the first
        values = iter(readings)
        return lambda: next(values)

    # budget 25: the checks before trials 2 and 3 read 10 and 20 (< 25), the next reads 30
    ticking = clock_of([0.0, 10.0, 20.0, 30.0])
    result = tune_model(
        "itemknn", train, validation, space, k=10, budget_s=25, budget_clock=ticking
    )
    assert result.trials["param_k"].tolist() == [1, 2, 3]
    # a first trial that overruns the whole budget still finishes, and is the only one
    overrun = clock_of([0.0, 1e6])
    result = tune_model(
        "itemknn", train, validation, space, k=10, budget_s=25, budget_clock=overrun
    )
    assert result.trials["param_k"].tolist() == [1] and result.best_params["k"] == 1
    assert (result.trials["status"] == "ok").all() and (result.trials["cpu_s"] >= 0).all()


def test_budget_clocks_by_name() -> None:
    assert budget_clock_of("cpu") is time.process_time
    assert budget_clock_of("wall") is time.perf_counter
    with pytest.raises(ModelError):
        budget_clock_of("sundial")
