"""One writer per data folder: the lock refuses a second process, names the holder, and is
taken over (with a warning) when its holder died."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from moodrec.locking import (
    FolderLockedError,
    data_folder_lock,
    lock_path,
    read_holder,
    waiting_file_lock,
)

REPO = Path(__file__).resolve().parents[1]
#: a child process that takes the lock, says so, then waits to be killed
HOLDER = """
import sys, time
from moodrec.locking import acquire
acquire(sys.argv[1], command="moodrec run --seed 7")
print("held", flush=True)
time.sleep(600)
"""


def _start_holder(folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the child holds the lock (or dies)
    if line.strip() != "held":
        proc.kill()
        pytest.fail(f"the lock-holding child did not start: {line!r}")
    return proc


def test_second_process_is_refused_with_the_holders_name(tmp_path: Path) -> None:
    proc = _start_holder(tmp_path)
    try:
        with pytest.raises(FolderLockedError) as err, data_folder_lock(tmp_path):
            pass
        message = str(err.value)
        assert f"pid {proc.pid}" in message
        assert "moodrec run --seed 7" in message
        assert str(tmp_path.resolve()) in message
    finally:
        proc.kill()
        proc.wait()


def test_lock_of_a_killed_holder_is_taken_over_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    proc = _start_holder(tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert read_holder(lock_path(tmp_path))["pid"] == proc.pid  # left behind by kill -9
    with (
        caplog.at_level(logging.WARNING, logger="moodrec.locking"),
        data_folder_lock(tmp_path, command="second"),
    ):
        holder = read_holder(lock_path(tmp_path))
        assert holder["pid"] == os.getpid() and holder["command"] == "second"
    assert f"pid {proc.pid}" in caplog.text and "stale" in caplog.text
    assert not lock_path(tmp_path).exists()  # released cleanly: nothing left behind


def test_lock_is_reentrant_in_one_process_and_released_by_the_outermost(tmp_path: Path) -> None:
    with data_folder_lock(tmp_path):
        with data_folder_lock(tmp_path / "."):  # same folder, another spelling
            assert lock_path(tmp_path).exists()
        assert json.loads(lock_path(tmp_path).read_text())["pid"] == os.getpid()
    assert not lock_path(tmp_path).exists()


def test_lock_creates_a_missing_folder(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "data"
    with data_folder_lock(folder):
        assert lock_path(folder).is_file()


def test_waiting_file_lock_goes_on_after_its_timeout_when_held(tmp_path: Path) -> None:
    path = tmp_path / "init.lock"
    with waiting_file_lock(path) as first:
        assert first
        # a second open file description in this process conflicts like another process
        with waiting_file_lock(path, timeout_s=0) as second:
            assert not second
    with waiting_file_lock(path, timeout_s=0) as again:
        assert again


def test_folders_the_lock_created_are_removed_when_left_empty(tmp_path: Path) -> None:
    with data_folder_lock(tmp_path / "a" / "b"):
        pass
    assert list(tmp_path.iterdir()) == []
    with data_folder_lock(tmp_path / "a" / "b"):
        (tmp_path / "a" / "kept.txt").write_text("x")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["kept.txt"]
