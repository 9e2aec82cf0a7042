"""Stopping a run on SIGINT/SIGTERM within seconds, with exit status 128 + signal.

:func:`stop_on_signals` turns the first SIGINT or SIGTERM into :class:`RunInterrupted` (a
``KeyboardInterrupt``) in the main thread: the running task is cancelled, Prefect marks the
flow runs, ``finally`` blocks and context managers close files and stop the temporary
server. Checkpoints stay consistent because every output is written atomically (temp +
rename): a task cut short leaves no half file, and its part is redone by the next run.

Worker threads still inside a request would keep the interpreter alive at exit (it joins
them), so the first signal also arms a timer: if the process has not ended ``grace_s``
later it exits with the same status. A second signal exits at once. The timer is armed from
the signal's wakeup byte (``signal.set_wakeup_fd``), so it runs even while another handler
is installed (Prefect swaps in its own SIGTERM handler while a flow runs and unwinds the
flow before passing the signal on). The timer's own messages are written from threads it does
not wait for: stderr may be a pipe nobody reads until the command ends, full of what the
stopping threads logged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

logger = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_status(signum: int) -> int:
    """The shell's status of a command stopped by ``signum`` (130 for SIGINT, 143 SIGTERM)."""
    return 128 + int(signum)


class RunInterrupted(KeyboardInterrupt):
    """The run was asked to stop by a signal (``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return exit_status(self.signum)


def _force_exit(grace_s: float, status: int) -> None:
    # Every write here happens in a thread of its own that the exit does not wait for (the
    # last one at most a second): stderr may be a full pipe that nobody reads (a supervisor,
    # a test), and a thread still running the stage may hold the stream's lock while blocked
    # on it.
    # The warning is logged here, not in the handler: the main thread may be inside a write
    # to the very stream the handler would write to (a reentrant write raises instead).
    name = signal.Signals(status - 128).name
    _in_background(
        logger.warning, "%s received: stopping the run (at most %gs)", name, grace_s, wait_s=0
    )
    time.sleep(grace_s)
    _in_background(_last_words, f"moodrec: still running {grace_s:g}s after the signal; exiting\n")
    os._exit(status)


def _in_background(fn: Callable[..., object], *args: object, wait_s: float = 1.0) -> None:
    """Run ``fn(*args)`` in a daemon thread, waiting for it at most ``wait_s``."""
    thread = threading.Thread(target=fn, args=args, name="moodrec-exit-write", daemon=True)
    thread.start()
    thread.join(wait_s)


def _last_words(message: str) -> None:
    with contextlib.suppress(Exception):
        sys.stderr.write(message)
        sys.stderr.flush()
        sys.stdout.flush()


@contextlib.contextmanager
def stop_on_signals(grace_s: float = 8.0) -> Iterator[dict[str, int | None]]:
    """Within the block, SIGINT/SIGTERM raise :class:`RunInterrupted` in the main thread.

    Yields a dict whose ``"signum"`` is the signal received (``None`` until one is). Only the
    main thread can install handlers; elsewhere the block runs unchanged.
    """
    state: dict[str, int | None] = {"signum": None}
    armed = threading.Lock()  # held once the force-exit timer runs

    def arm(signum: int) -> None:
        if armed.acquire(blocking=False):
            # Stage threads still inside a request go on logging while the process stops,
            # after the API server is gone: their records are dropped quietly instead of a
            # traceback each from the API's log handler ("can't register atexit after
            # shutdown"), which filled a 64 KB stderr pipe.
            logging.raiseExceptions = False
            threading.Thread(
                target=_force_exit,
                args=(grace_s, exit_status(signum)),
                name="moodrec-force-exit",
                daemon=True,
            ).start()

    def handler(signum: int, frame: FrameType | None) -> None:
        if state["signum"] is not None:
            os._exit(exit_status(signum))  # a second signal: no more waiting
        state["signum"] = signum
        arm(signum)
        raise RunInterrupted(signum)

    def watch(fd: int) -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 64):
                for signum in chunk:
                    if signum in SIGNALS:
                        arm(signum)
        os.close(fd)

    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    threading.Thread(target=watch, args=(read_fd,), name="moodrec-signals", daemon=True).start()
    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield state
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        signal.set_wakeup_fd(previous_fd)
        os.close(write_fd)  # the watcher reads EOF and ends
