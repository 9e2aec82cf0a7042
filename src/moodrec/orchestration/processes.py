"""Worker processes for independent fits (the ablation's variants), so a run uses every core.

The pipeline's process keeps one thread per native pool (:mod:`moodrec.orchestration.threads`),
so a stage that fits several independent models uses one core unless the fits run side by
side. They run in worker *processes*, not threads: torch's random generator and thread
settings are per process, so two torch fits in threads of one process would draw from one
generator and each result would depend on how the two interleaved. A fit in a worker process
gives the result it gives in the calling process (same code, same seeds, one native thread
each: the workers are spawned with the caller's environment, ``OMP_NUM_THREADS`` included).

Use: a flow opens :func:`worker_processes` around the tasks it runs concurrently and each
task sends its computation through :func:`run_in_worker`. The pool starts on the first call
(a run whose tasks are all cached starts none) and stops when the block ends. With one
worker, or outside such a block, :func:`run_in_worker` calls the function in place.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from moodrec.errors import MoodrecError

logger = logging.getLogger(__name__)

R = TypeVar("R")

_lock = threading.Lock()
#: the open block's worker count and, once started, its pool
_state: dict[str, Any] = {"workers": 1, "pool": None}


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity; the CPU count where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_workers(workers: int | None) -> int:
    """``workers``, or the available cores when ``None`` (at least 1)."""
    return max(1, available_cores() if workers is None else int(workers))


@contextlib.contextmanager
def worker_processes(workers: int) -> Iterator[int]:
    """Within the body, :func:`run_in_worker` runs calls in up to ``workers`` processes.

    Yields the worker count. Blocks do not nest (an inner one keeps the outer one's pool).
    The processes start on the first call and are shut down (waiting for running calls)
    when the block ends.
    """
    with _lock:
        if _state["workers"] > 1 or _state["pool"] is not None:  # nested: keep the outer one
            outer = True
        else:
            outer = False
            _state["workers"] = max(1, int(workers))
    try:
        yield _state["workers"]
    finally:
        if not outer:
            with _lock:
                pool, _state["pool"], _state["workers"] = _state["pool"], None, 1
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


def _pool() -> ProcessPoolExecutor | None:
    with _lock:
        if _state["workers"] <= 1:
            return None
        if _state["pool"] is None:
            logger.debug("starting %d worker processes", _state["workers"])
            # spawn, not fork: the caller has threads (Prefect's, the task runner's), and a
            # forked child inherits their locks in whatever state they were
            _state["pool"] = ProcessPoolExecutor(
                max_workers=_state["workers"], mp_context=multiprocessing.get_context("spawn")
            )
        pool: ProcessPoolExecutor = _state["pool"]
        return pool


def run_in_worker(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """``fn(*args, **kwargs)``, in a worker process of the open :func:`worker_processes`
    block (in place with one worker or none open); blocks until the result is back.

    ``fn`` must be a module-level function and its arguments and result picklable.

    Raises
    ------
    MoodrecError
        When a worker process died (e.g. killed for memory); ``fn``'s own exceptions
        propagate unchanged.
    """
    pool = _pool()
    if pool is None:
        return fn(*args, **kwargs)
    try:
        return pool.submit(fn, *args, **kwargs).result()
    except BrokenProcessPool as exc:
        raise MoodrecError(
            f"a worker process died while running {getattr(fn, '__name__', fn)} ({exc}); "
            "fewer workers (orchestration.process_workers) need less memory"
        ) from exc
