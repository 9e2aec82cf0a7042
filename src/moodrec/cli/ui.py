"""The Prefect UI of ``moodrec run``: its address, and keeping the temporary server's UI up
after the run until Ctrl-C. (Whether Prefect prints run links is decided with the server:
:func:`moodrec.flows.api_server.prefect_api`.)"""

from __future__ import annotations

import sys
from typing import Any

import typer


def current_ui_url() -> str | None:
    """The UI address of the Prefect server in use (None when it serves no UI)."""
    from prefect.settings import get_current_settings

    return get_current_settings().ui_url or None


def keep_ui_up(ui_url: str | None) -> None:
    """Block until Ctrl-C (or SIGTERM), keeping the temporary server and its UI up; then
    return normally (the run itself is over: exit 0 unless it left work not done)."""
    import signal
    import threading

    typer.echo(f"the Prefect UI stays up at {ui_url}; press Ctrl-C to stop it", err=True)
    sys.stdout.flush()
    if threading.current_thread() is not threading.main_thread():
        return  # no signal can reach this thread: nothing to wait for
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    # the run is over: a signal now ends the wait, not a run (stop_on_signals' forced exit)
    wakeup = signal.set_wakeup_fd(-1)
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(1.0):  # wakes up so that the handler runs promptly
            pass
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        if wakeup != -1:
            signal.set_wakeup_fd(wakeup, warn_on_full_buffer=False)
    typer.echo("stopping the Prefect server", err=True)
