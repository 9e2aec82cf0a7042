"""What the ``moodrec`` process does around its command: the garbage collector while the
command loads its modules, and at the end."""

from __future__ import annotations

import gc
import sys

import pytest

from moodrec import cli
from moodrec.cli import common


@pytest.fixture
def entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(common.PROCESS, "entry_point", True)


@pytest.fixture
def freezes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """gc.freeze calls recorded instead of done (a test process's heap stays collectable)."""
    calls: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(len(calls)))
    return calls


def test_modules_load_without_collections_then_the_heap_is_frozen(
    entry_point: None, freezes: list[int]
) -> None:
    assert gc.isenabled()
    with common.loading_modules() as loaded:
        assert not gc.isenabled()
        loaded()
        assert gc.isenabled() and freezes == [0]
        loaded()  # once only
    assert gc.isenabled() and freezes == [0]


def test_a_command_that_fails_while_loading_turns_the_collector_back_on(
    entry_point: None, freezes: list[int]
) -> None:
    with pytest.raises(RuntimeError), common.loading_modules():
        assert not gc.isenabled()
        raise RuntimeError("bad config")
    assert gc.isenabled() and freezes == [0]


def test_a_test_process_calling_commands_is_left_alone(freezes: list[int]) -> None:
    assert common.PROCESS["entry_point"] is False
    with common.loading_modules() as loaded:
        assert gc.isenabled()
        loaded()
    assert gc.isenabled() and freezes == []


def test_the_entry_point_marks_the_process_and_freezes_the_heap_at_the_end(
    monkeypatch: pytest.MonkeyPatch, freezes: list[int]
) -> None:
    monkeypatch.setitem(common.PROCESS, "entry_point", False)
    monkeypatch.setattr(sys, "argv", ["moodrec", "--version"])
    # main() sets these: gone again after the test
    for name in (
        "PREFECT_SERVER_ANALYTICS_ENABLED",
        "DO_NOT_TRACK",
        "PREFECT_LOGGING_EXTRA_LOGGERS",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 0
    assert common.PROCESS["entry_point"] is True
    assert freezes == [0]
