"""Worker processes for independent fits: in place without a pool, in other processes with
one, the same results either way, a dead worker a named error."""

from __future__ import annotations

import os
import threading

import pytest

from moodrec.errors import MoodrecError
from moodrec.orchestration.processes import (
    available_cores,
    resolve_workers,
    run_in_worker,
    worker_processes,
)


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def _die() -> None:
    os._exit(3)  # a worker killed mid-call (as by the OOM killer)


def _fail() -> None:
    raise ValueError("the function's own error")


def test_worker_count_defaults_to_the_available_cores() -> None:
    assert available_cores() >= 1
    assert resolve_workers(None) == available_cores()
    assert resolve_workers(3) == 3
    assert resolve_workers(0) == 1


def test_outside_a_block_and_with_one_worker_calls_run_in_place() -> None:
    assert run_in_worker(_pid_and_square, 3) == (os.getpid(), 9)
    with worker_processes(1) as n:
        assert n == 1
        assert run_in_worker(_pid_and_square, 4) == (os.getpid(), 16)


def test_calls_from_threads_run_in_worker_processes_with_the_same_results() -> None:
    results: dict[int, tuple[int, int]] = {}

    def call(x: int) -> None:
        results[x] = run_in_worker(_pid_and_square, x)

    with worker_processes(2) as n:
        assert n == 2
        threads = [threading.Thread(target=call, args=(x,)) for x in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert {x: sq for x, (_, sq) in results.items()} == {x: x * x for x in range(4)}
    pids = {pid for pid, _ in results.values()}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    # the block ended: calls run in place again
    assert run_in_worker(_pid_and_square, 5) == (os.getpid(), 25)


def test_errors_propagate_and_a_dead_worker_is_a_moodrec_error() -> None:
    with worker_processes(2):
        with pytest.raises(ValueError, match="own error"):
            run_in_worker(_fail)
        with pytest.raises(MoodrecError, match="worker process died"):
            run_in_worker(_die)
