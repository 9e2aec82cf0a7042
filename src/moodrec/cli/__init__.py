"""The ``moodrec`` command line: every command validates config first, then calls a flow
or a pure stage function. The only package that prints.

:mod:`~moodrec.cli.common` holds the Typer app and what its commands share; each other
module registers one family of commands on it, imported here in the order ``moodrec
--help`` lists them.
"""

from __future__ import annotations

import gc
import os
import sys

from moodrec.cli.common import EXIT_INCOMPLETE, PROCESS, app

# importing a module registers its commands, in this order in ``moodrec --help``
# isort: off
from moodrec.cli import run, stages, serving, profiles, data  # noqa: F401
# isort: on

__all__ = ["EXIT_INCOMPLETE", "app", "main"]


def main() -> None:
    """Console entry point."""
    # moodrec runs offline by default: a temporary Prefect server must not try to phone home
    # (set PREFECT_SERVER_ANALYTICS_ENABLED=true to opt in).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")  # nor the client
    # moodrec's own log records (warnings from pure code) go to the flow runs' logs in the UI
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "moodrec")
    PROCESS["entry_point"] = True
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
    finally:
        # The command is over; exit handlers and the interpreter's teardown follow. Freezing
        # the heap keeps the collector from walking every object of ~2,500 modules again in
        # the teardown's collections (≈ 0.5 s); refcounting still frees them, and every exit
        # handler still runs. Python does not promise ``__del__`` at exit for objects left
        # in reference cycles, frozen or not.
        gc.freeze()
