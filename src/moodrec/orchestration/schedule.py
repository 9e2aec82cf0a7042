"""Run named steps (the pipeline's stages) as soon as the steps they read from are done.

:func:`run_stages` takes the steps in their pipeline order and, for each, the steps whose
outputs it reads (:mod:`moodrec.orchestration.dependencies`). Concurrently, every step whose
inputs are done starts at once in a thread of this process, earlier steps first; sequentially,
they run one after another in order in the calling thread. Either way a step runs only after
the steps it reads from, so it sees the same inputs and writes the same outputs.

Threads, not processes: the stages are Prefect subflows of the pipeline's flow run. Each
thread runs its step in a copy of the caller's :mod:`contextvars` context, so the flow run
context (the subflow becomes a child of the pipeline's run) and temporary settings carry
over. What threads of one process share is declared per step: ``exclusive`` names resources
two steps must not hold at the same time (e.g. the process's torch generator), ``alone`` the
steps that run with nothing beside them (e.g. a search whose budget is this process's CPU
time, which a neighbour would spend).

A failed step stops the schedule: nothing new starts, the steps already running end (a
thread cannot be stopped from outside), then the first failure is raised. The steps are
daemon threads, so an interrupt (Ctrl-C) in the calling thread ends the process without
waiting for them.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from moodrec.errors import MoodrecError

logger = logging.getLogger(__name__)

R = TypeVar("R")


class ScheduleError(MoodrecError):
    """The steps' dependencies contradict their order (a step needs a later one)."""


def check_order(order: list[str], needs: Mapping[str, Collection[str]]) -> None:
    """Every step needs only steps before it in ``order`` (those not in it are ignored).

    Raises
    ------
    ScheduleError
        Naming the step and the later steps it needs.
    """
    position = {name: i for i, name in enumerate(order)}
    for i, name in enumerate(order):
        later = sorted(n for n in needs.get(name, ()) if position.get(n, -1) >= i)
        if later:
            raise ScheduleError(f"step {name!r} needs {', '.join(later)}, which come(s) after it")


def run_stages(
    order: list[str],
    run: Callable[[str], R],
    *,
    needs: Mapping[str, Collection[str]],
    concurrent: bool = True,
    exclusive: Mapping[str, Collection[str]] | None = None,
    alone: Collection[str] = (),
    max_running: int | None = None,
    on_done: Callable[[str, R], None] | None = None,
) -> dict[str, R]:
    """``run(name)`` for every step of ``order``; the results by name, in ``order``.

    Parameters
    ----------
    order
        The steps, in the order a sequential run takes them.
    run
        Runs one step; called in a new thread per step when ``concurrent``.
    needs
        Step → the steps whose outputs it reads; those not in ``order`` (skipped) count as
        done. Each must come before the step in ``order`` (:func:`check_order`).
    concurrent
        ``False``: one after another, in ``order``, in the calling thread.
    exclusive
        Step → resources it holds while it runs; two steps holding one never overlap.
    alone
        Steps that run with no other step beside them.
    max_running
        At most this many steps at a time (``None``: no limit); the earliest ready ones
        in ``order`` start first.
    on_done
        Called in the calling thread with each step's name and result as it ends.

    Raises
    ------
    ScheduleError
        When a step needs a later one.
    BaseException
        The first failed step's exception, once the steps running beside it have ended.
    """
    check_order(order, needs)
    results: dict[str, R] = {}
    if not concurrent:
        for name in order:
            results[name] = run(name)
            if on_done is not None:
                on_done(name, results[name])
        return results
    held_by = {name: set((exclusive or {}).get(name, ())) for name in order}
    inputs = {name: [n for n in needs.get(name, ()) if n in held_by] for name in order}
    ended: queue.Queue[tuple[str, BaseException | None, Any]] = queue.Queue()
    pending = list(order)
    running: set[str] = set()
    failure: tuple[str, BaseException] | None = None

    def ready(name: str) -> bool:
        if max_running is not None and len(running) >= max_running:
            return False
        if any(n not in results for n in inputs[name]):
            return False
        if running and (name in alone or any(n in alone for n in running)):
            return False
        return not any(held_by[name] & held_by[other] for other in running)

    def start(name: str) -> None:
        context = contextvars.copy_context()  # one copy per thread: a context runs once

        def work() -> None:
            try:
                out = context.run(run, name)
            except BaseException as exc:  # handed to the calling thread, raised there
                ended.put((name, exc, None))
            else:
                ended.put((name, None, out))

        running.add(name)
        threading.Thread(target=work, name=f"moodrec-stage-{name}", daemon=True).start()

    while True:
        if failure is None:
            for name in [n for n in pending if ready(n)]:
                if ready(name):  # a step started just before may block it now
                    pending.remove(name)
                    start(name)
        if not running:
            break
        name, exc, out = ended.get()
        running.discard(name)
        if exc is None:
            results[name] = out
            if on_done is not None:
                on_done(name, out)
        elif failure is None:
            failure = (name, exc)
        else:
            logger.warning("step %s failed too, after %s: %s", name, failure[0], exc)
    if failure is not None:
        raise failure[1]
    if pending:  # cannot happen when check_order passed; never end a run silently short
        raise ScheduleError(f"steps never became ready: {', '.join(pending)}")
    return {name: results[name] for name in order}
