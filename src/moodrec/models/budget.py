"""The time budget of a hyperparameter search: which clock it counts on, and the trials it
allows.

Both searches (:func:`moodrec.experiment.tuning.tune_model` and the ablation's
:func:`moodrec.evaluation.ablation` grid) stop starting trials once the budget is spent; a
started trial always finishes, so the first trial always runs. The default clock is CPU
seconds of this process (:func:`time.process_time`: all its threads, children not included),
so a search on a busy machine tries the same trials as on an idle one; ``"wall"`` counts
wall-clock seconds, for a deadline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from moodrec.errors import ModelError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: the clocks a search budget can be counted on (name → seconds function)
BUDGET_CLOCKS: dict[str, Callable[[], float]] = {
    "cpu": time.process_time,
    "wall": time.perf_counter,
}


def budget_clock_of(clock: str | Callable[[], float]) -> Callable[[], float]:
    """The seconds function of ``clock``: a name of :data:`BUDGET_CLOCKS`, or a callable
    (tests inject one that does not depend on timing).

    Raises
    ------
    ModelError
        When the name is unknown.
    """
    if callable(clock):
        return clock
    if clock not in BUDGET_CLOCKS:
        raise ModelError(f"tuning: unknown budget clock {clock!r} ({', '.join(BUDGET_CLOCKS)})")
    return BUDGET_CLOCKS[clock]


def within_budget(
    trials: Iterable[T],
    budget_s: float,
    clock: str | Callable[[], float] = "cpu",
    *,
    label: str = "search",
) -> Iterator[T]:
    """``trials`` in order until ``budget_s`` seconds of ``clock`` have passed since the first
    was handed out; the clock is read once before the first and once before each further
    trial, so the first always comes and a started one always finishes."""
    read = budget_clock_of(clock)
    start = read()
    for i, trial in enumerate(trials):
        if i and read() - start >= budget_s:
            logger.info("%s: budget %.0fs spent after %d trials", label, budget_s, i)
            return
        yield trial
