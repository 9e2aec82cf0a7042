"""SIGINT/SIGTERM stop a run within seconds with status 130/143, even when threads hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: a "run" whose worker thread never ends (as a request stuck in a socket would)
CHILD = """
import signal, sys, threading, time
from moodrec.orchestration.interrupt import RunInterrupted, stop_on_signals

threading.Thread(target=time.sleep, args=(600,)).start()  # non-daemon: blocks a normal exit
if sys.argv[1] == "full-stderr":
    # a thread still writing (a stage logging) blocks in a write to a stderr pipe that nobody
    # reads, holding the stream's lock: no write of the timer's may wait on it
    def flood():
        while True:
            sys.stderr.write("x" * 4096)
    threading.Thread(target=flood).start()
with stop_on_signals(grace_s=1.0):
    if sys.argv[1] == "foreign":
        # another handler took over (as Prefect does for SIGTERM during a flow) and the
        # unwinding it starts hangs: only the armed timer can end the process
        signal.signal(signal.SIGTERM, lambda s, f: time.sleep(600))
    try:
        print("ready", flush=True)  # inside: the signal may land before the next line
        time.sleep(600)
    except RunInterrupted as exc:
        print("interrupted", exc.signum, flush=True)
        sys.exit(exc.exit_status)
"""


def _run_and_signal(mode: str, signum: int) -> tuple[int, float, str]:
    """Run :data:`CHILD` in ``mode``, signal it once it is ready; its exit status, seconds
    from signal to exit and output. stderr is read only after the exit (as a supervisor
    that collects it at the end would)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        start = time.monotonic()
        proc.send_signal(signum)
        rc = proc.wait(timeout=60)
        return rc, time.monotonic() - start, proc.stdout.read() + proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_interrupts_and_exits_with_its_status(signum: int, status: int) -> None:
    rc, elapsed, out = _run_and_signal("own", signum)
    assert rc == status
    assert f"interrupted {int(signum)}" in out
    assert elapsed < 30  # generous: the grace is 1 s


def test_a_hanging_foreign_handler_still_ends_within_the_grace() -> None:
    rc, elapsed, _ = _run_and_signal("foreign", signal.SIGTERM)
    assert rc == 143
    assert elapsed < 30


def test_the_timer_ends_the_process_while_stderr_is_a_full_pipe() -> None:
    rc, elapsed, _ = _run_and_signal("full-stderr", signal.SIGTERM)
    assert rc == 143
    assert elapsed < 30
