"""The stage scheduler: needs before a step, exclusive steps apart, failures stop the rest.

No assertion here depends on timing: steps that must run side by side meet at a barrier
(a generous timeout only turns a hang into a failure), and ordering is read from a log
written under a lock.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable

import pytest

from moodrec.orchestration.schedule import ScheduleError, check_order, run_stages

WAIT_S = 30.0  # only a bound on a hang, never reached when the scheduler is right


class Log:
    """``start:<name>`` / ``end:<name>`` entries in the order they happened, and threads."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.threads: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, entry: str) -> None:
        with self._lock:
            self.entries.append(entry)

    def step(self, body: Callable[[str], None] | None = None) -> Callable[[str], str]:
        def run(name: str) -> str:
            self.threads[name] = threading.get_ident()
            self.add(f"start:{name}")
            if body is not None:
                body(name)
            self.add(f"end:{name}")
            return name.upper()

        return run

    def before(self, first: str, then: str) -> bool:
        return self.entries.index(first) < self.entries.index(then)


def test_sequential_runs_in_order_in_the_calling_thread() -> None:
    log = Log()
    done: list[str] = []
    out = run_stages(
        ["a", "b", "c"],
        log.step(),
        needs={},
        concurrent=False,
        on_done=lambda name, result: done.append(f"{name}={result}"),
    )
    assert out == {"a": "A", "b": "B", "c": "C"}
    assert log.entries == ["start:a", "end:a", "start:b", "end:b", "start:c", "end:c"]
    assert set(log.threads.values()) == {threading.get_ident()}
    assert done == ["a=A", "b=B", "c=C"]


def test_independent_steps_run_side_by_side_and_needs_come_first() -> None:
    # b and c both need a only: they must meet at the barrier (each waits for the other)
    log = Log()
    meet = threading.Barrier(2, timeout=WAIT_S)

    def body(name: str) -> None:
        if name in ("b", "c"):
            meet.wait()

    order = ["a", "b", "c", "d"]
    needs = {"b": {"a"}, "c": {"a"}, "d": {"b", "c"}}
    done: list[str] = []
    out = run_stages(order, log.step(body), needs=needs, on_done=lambda n, _: done.append(n))
    assert list(out) == order  # in order, whatever order they ended in
    assert set(out.values()) == {"A", "B", "C", "D"}
    for name, inputs in needs.items():
        for needed in inputs:
            assert log.before(f"end:{needed}", f"start:{name}"), (needed, name)
    assert threading.get_ident() not in log.threads.values()
    assert sorted(done) == order


def test_steps_not_in_the_order_count_as_done() -> None:
    log = Log()
    out = run_stages(["b"], log.step(), needs={"b": {"a"}})  # a was skipped
    assert out == {"b": "B"}


def test_exclusive_steps_never_overlap() -> None:
    # a and b hold the same resource; c is free. a waits until c has started: had b been
    # started beside a, it would have started before a ended.
    log = Log()
    c_started = threading.Event()

    def body(name: str) -> None:
        if name == "c":
            c_started.set()
        if name == "a":
            assert c_started.wait(WAIT_S)

    run_stages(
        ["a", "b", "c"],
        log.step(body),
        needs={},
        exclusive={"a": {"fits"}, "b": {"fits"}},
    )
    assert log.before("end:a", "start:b")
    assert log.before("start:c", "end:a")  # c did run beside a


def test_a_step_run_alone_has_no_neighbour() -> None:
    log = Log()
    run_stages(["a", "b", "c"], log.step(), needs={}, alone={"b"})
    i, j = log.entries.index("start:b"), log.entries.index("end:b")
    assert j == i + 1  # nothing started or ended while b ran
    assert log.before("end:a", "start:b") and log.before("end:c", "start:b")
    log = Log()
    run_stages(["b", "a"], log.step(), needs={}, alone={"b"})
    assert log.entries == ["start:b", "end:b", "start:a", "end:a"]


def test_a_failure_stops_new_steps_and_waits_for_running_ones() -> None:
    log = Log()
    bad_started = threading.Event()

    def body(name: str) -> None:
        if name == "slow":
            assert bad_started.wait(WAIT_S)  # runs beside "bad", ends after it failed
        if name == "bad":
            bad_started.set()
            raise ValueError("boom")

    done: list[str] = []
    with pytest.raises(ValueError, match="boom"):
        run_stages(
            ["slow", "bad", "after_bad", "after_slow"],
            log.step(body),
            needs={"after_bad": {"bad"}, "after_slow": {"slow"}},
            on_done=lambda n, _: done.append(n),
        )
    assert "end:slow" in log.entries  # the running neighbour was waited for
    assert done == ["slow"]
    assert not any(e.endswith(("after_bad", "after_slow")) for e in log.entries)


def test_sequential_failure_stops_at_the_failed_step() -> None:
    def run(name: str) -> str:
        if name == "b":
            raise RuntimeError("b broke")
        return name

    seen: list[str] = []
    with pytest.raises(RuntimeError, match="b broke"):
        run_stages(
            ["a", "b", "c"], run, needs={}, concurrent=False, on_done=lambda n, _: seen.append(n)
        )
    assert seen == ["a"]


def test_steps_see_the_callers_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller's")
    out = run_stages(["a", "b"], lambda name: var.get(), needs={})
    assert out == {"a": "caller's", "b": "caller's"}


def test_a_step_may_only_need_earlier_steps() -> None:
    check_order(["a", "b"], {"b": {"a", "skipped"}})
    with pytest.raises(ScheduleError, match="'a' needs b"):
        check_order(["a", "b"], {"a": {"b"}})
    with pytest.raises(ScheduleError, match="'a' needs a"):
        check_order(["a"], {"a": {"a"}})
    with pytest.raises(ScheduleError):
        run_stages(["a", "b"], str, needs={"a": {"b"}}, concurrent=False)


def test_at_most_max_running_steps_at_a_time() -> None:
    log = Log()
    meet = threading.Barrier(2, timeout=WAIT_S)  # a and b run together: both wait here

    def body(name: str) -> None:
        if name in ("a", "b"):
            meet.wait()

    run_stages(["a", "b", "c"], log.step(body), needs={}, max_running=2)
    running = 0
    for entry in log.entries:
        running += 1 if entry.startswith("start:") else -1
        assert running <= 2
    assert log.before("end:a", "start:c") or log.before("end:b", "start:c")
