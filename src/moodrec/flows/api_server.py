"""The Prefect API a CLI command talks to: the configured one, or a temporary local server.

Without ``PREFECT_API_URL`` Prefect starts a temporary server itself when the first flow
runs: the command first imports Prefect's whole server package (FastAPI, SQLAlchemy, the
models; ≈ 4 s), then starts the same package again in a subprocess and waits for it (≈ 4 s),
and only then starts the flow. :func:`prefect_api` starts that subprocess — the command line
Prefect uses (``uvicorn prefect.server.api.server:create_app`` with the UI off and the
ephemeral-server settings) — *before* the command loads Prefect, its flows and their
libraries, so the server boots while they load, and the command itself never imports the
server package. The flows then run against it exactly as against Prefect's own temporary
server (same database under ``PREFECT_HOME``, same result store), and it is stopped when the
command ends. Where ``PREFECT_API_URL`` turns out to be set in a profile or ``.env`` (read
once Prefect is loaded), that early server is stopped unused.

The server dies with the command even when the command cannot stop it (``kill -9``): it runs
in the command's process group, asks the kernel for a SIGTERM when its parent dies (Linux
``prctl(PR_SET_PDEATHSIG)``, when started from the main thread) and, everywhere, a watchdog
thread in it exits once its parent is gone. Two commands starting servers on one fresh
``PREFECT_HOME`` would both create its database at once ("index … already exists"): each
server process holds a file lock in its ``PREFECT_HOME`` from before it sets up the database
until its start-up is over (:func:`serving_app`).

``moodrec run --ui`` starts it as ``prefect server start`` would, with its UI
(:func:`with_ui`): the built UI ships inside the prefect package, and the server serves it at
its root (``http://127.0.0.1:<port>/``) and the API below ``/api``.

An unchanged re-run must not wait on the database: the server's SQLite transactions take the
write lock when they begin (:func:`sqlite_transactions_lock_on_begin`), and it runs with
:data:`TEMPORARY_SERVER_DEFAULTS` (no automations or event feed, task runs recorded in
batches) unless the environment says otherwise.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from moodrec.errors import ApiServerError

logger = logging.getLogger(__name__)

#: environment Prefect gives its own temporary server (``SubprocessASGIServer``)
EPHEMERAL_ENV = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}
#: defaults for the temporary server, below anything set in the environment or Prefect's
#: settings. Measured on an unchanged demo re-run (82 cached task runs): the server's own CPU
#: while the pipeline runs fell from ~3.5 s to ~2 s (``benchmarks/results/pipeline.md``).
#: - automations (triggers and their actions) and the event feed (persister, the websocket
#:   stream out; with the persister off, its vacuum too) serve a long-lived server's UI: a
#:   server that lives as long as one command keeps flow runs, task runs, logs and artifacts
#:   in ``PREFECT_HOME``'s database, not the event feed;
#: - the task-run recorder writes up to 50 task-run events per transaction (at least once a
#:   second, and all of them when the server stops) instead of one each: a stage's cached
#:   task runs are a handful of writes, not one per event, each taking the SQLite write lock;
#: - block types are not registered at start (unless the server serves the UI, whose Blocks
#:   page lists them): to decide whether they changed, Prefect first imports every installed
#:   collection (``prefect_dask`` → ``distributed``) on every start, which took the start-up
#:   (lifespan) from ~0.15 s to ~0.65 s of CPU and ~3 s of wall on a loaded machine. moodrec's
#:   runs use no block document; ``prefect server start`` on the same database registers them.
TEMPORARY_SERVER_DEFAULTS = {
    "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
    "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
    "PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "50",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
}
#: uvicorn's exit status when the port was taken between choosing and binding it
_PORT_IN_USE = 3
#: serialises server start-ups (and so database creation) on one PREFECT_HOME
INIT_LOCK_NAME = ".moodrec-server-start.lock"
#: how long a server process waits for another's start-up before going on without the lock
START_LOCK_TIMEOUT_S = 300.0

#: the server process's entry point: die with the parent (argv[1]: the parent's pid; argv[2]:
#: "1" when started from the parent's main thread), then run uvicorn with the other arguments
_CHILD_MAIN = """
import os, signal, sys, threading, time
parent, main_thread = int(sys.argv.pop(1)), sys.argv.pop(1) == "1"
# Linux: the kernel sends SIGTERM when the parent dies. Only for a server started from the
# main thread: the signal follows the *thread* that started the child, not its process.
if main_thread:
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the watchdog below does it
        pass
if os.getppid() != parent:  # the parent died before prctl
    os._exit(1)
def watchdog():
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
threading.Thread(target=watchdog, name="parent-watchdog", daemon=True).start()
if os.environ.get("MOODREC_SQLITE_IMMEDIATE", "1") == "1":
    from moodrec.flows.api_server import sqlite_transactions_lock_on_begin
    sqlite_transactions_lock_on_begin()
from uvicorn.main import main
sys.argv[0] = "uvicorn"
main()
"""


def sqlite_transactions_lock_on_begin() -> None:
    """Make every transaction of Prefect's SQLite server take the write lock when it begins
    (``BEGIN IMMEDIATE``), in the server process only.

    Prefect opens most of its API transactions ``BEGIN DEFERRED``; one that reads before it
    writes (``POST /task_runs/``, which each stage's subflow sends) fails at once with
    "database is locked" — SQLite cannot wait for a lock that would invalidate the snapshot it
    read — whenever the server's task-run recorder commits in between, and the client then
    sleeps 2 s before it retries. That was most of an unchanged re-run (8 such waits). An
    immediate transaction instead waits on the busy timeout (60 s) until the other writer is
    done, which costs milliseconds. A single-user temporary server loses nothing by
    serialising its writers. Postgres servers are not touched. ``MOODREC_SQLITE_IMMEDIATE=0``
    in the command's environment keeps Prefect's deferred transactions (to compare).
    """
    from prefect.server.database.configurations import AioSqliteConfiguration

    deferred = AioSqliteConfiguration.begin_transaction
    if getattr(deferred, "moodrec_lock_on_begin", False):
        return

    def begin_transaction(
        self: AioSqliteConfiguration, session: Any, with_for_update: bool = False
    ) -> Any:
        return deferred(self, session, with_for_update=True)

    begin_transaction.moodrec_lock_on_begin = True  # type: ignore[attr-defined]
    AioSqliteConfiguration.begin_transaction = begin_transaction  # type: ignore[method-assign]


#: the event feed a UI shows (the event persister and the stream out): on for a server with a UI
UI_EVENT_FEED = (
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED",
    "PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED",
)
#: block-type registration at start, which the UI's Blocks page shows
UI_BLOCK_TYPES = (
    "PREFECT_SERVER_REGISTER_BLOCKS_ON_START",
    "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION",
)


def ui_assets() -> Path:
    """The built Prefect UI inside the installed prefect package (its ``index.html``).

    Raises
    ------
    ApiServerError
        The package ships no built UI (e.g. a source install without ``npm run build``).
    """
    import prefect

    index = Path(prefect.__ui_static_path__) / "index.html"
    if not index.is_file():
        raise ApiServerError(
            f"--ui: the installed prefect package ({prefect.__version__}) has no built UI "
            f"({index} is missing); install prefect from PyPI, or run without --ui and point "
            "PREFECT_API_URL at a server with a UI (prefect server start)"
        )
    return index


def with_ui(env: dict[str, str], api_url: str) -> dict[str, str]:
    """A temporary server's environment (:func:`server_environment`) changed to serve the UI,
    as ``prefect server start`` does: not ephemeral (Prefect serves no UI from an ephemeral
    server), the UI on, told where its API is, the event feed on and block types registered
    unless the environment says otherwise. Telemetry stays off (as on an ephemeral server)
    unless the environment turns it on."""
    env = {
        **env,
        **{f"PREFECT_{infix}UI_ENABLED": "1" for infix in ("", "SERVER_")},
        **{f"PREFECT_{infix}UI_API_URL": api_url for infix in ("", "SERVER_")},
    }
    env.pop("PREFECT__SERVER_EPHEMERAL", None)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    for name in (*UI_EVENT_FEED, *UI_BLOCK_TYPES):
        if name not in os.environ:
            env.pop(name, None)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment() -> dict[str, str]:
    """The temporary server's environment: :data:`TEMPORARY_SERVER_DEFAULTS`, then this
    process's environment, Prefect's ephemeral-server switches and the Prefect settings this
    process holds; never ``PREFECT_API_URL`` (the server is the API).

    A process that has not loaded Prefect's settings yet holds none beyond its environment:
    the server reads the same profile, ``.env`` and ``prefect.toml`` itself (same environment,
    same working directory), so they are not read here (which would load Prefect, ≈ 0.65 s).
    """
    env = {**TEMPORARY_SERVER_DEFAULTS, **os.environ, **EPHEMERAL_ENV}
    if prefect_settings_loaded():
        from prefect.settings import get_current_settings

        env |= get_current_settings().to_environment_variables(exclude_unset=True)
    env.pop("PREFECT_API_URL", None)
    return env


def prefect_settings_loaded() -> bool:
    """Whether this process has loaded Prefect's settings (and so may hold settings, e.g.
    from ``temporary_settings``, that its environment does not show)."""
    return "prefect.settings" in sys.modules


def _site_of(package: str) -> str:
    """The folder ``package`` is installed in, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ApiServerError(f"cannot start a Prefect server: {package} is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


def serving_app() -> Any:
    """The server process's ASGI app (its uvicorn factory): Prefect's ``create_app()``,
    holding the start lock in ``PREFECT_HOME`` from before the app is made until its
    start-up (database creation and migrations, services) is over.

    Prefect's server package is imported before the lock is taken, so servers starting
    together import it side by side and only set up the database one at a time.
    """
    from prefect.server.api.server import create_app
    from prefect.settings import get_current_settings

    from moodrec.locking import waiting_file_lock

    held = contextlib.ExitStack()
    home = Path(get_current_settings().home).expanduser()
    held.enter_context(waiting_file_lock(home / INIT_LOCK_NAME, timeout_s=START_LOCK_TIMEOUT_S))
    try:
        app = create_app()
    except BaseException:
        held.close()
        raise

    async def releasing_after_start_up(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def send_and_release(message: Any) -> None:
            if message["type"] in {"lifespan.startup.complete", "lifespan.startup.failed"}:
                held.close()
            await send(message)

        try:
            await app(scope, receive, send_and_release)
        finally:
            held.close()

    return releasing_after_start_up


class TemporaryServer:
    """A Prefect API server in a child process on 127.0.0.1 (started by :meth:`start`)."""

    def __init__(self, port: int | None = None, *, ui: bool = False) -> None:
        self.port = port or free_port()
        self.ui = ui
        self.process: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str | None:
        """The UI's address (a server started with ``ui=True``), else None."""
        return f"http://127.0.0.1:{self.port}" if self.ui else None

    def start(self) -> TemporaryServer:
        """Start the server process and return at once (see :meth:`wait_healthy`); loads
        none of Prefect in this process."""
        env = server_environment()
        if self.ui:
            env = with_ui(env, self.api_url)
        self.env = env
        args = [
            sys.executable,
            "-c",
            _CHILD_MAIN,
            str(os.getpid()),
            "1" if threading.current_thread() is threading.main_thread() else "0",
            "--app-dir",
            _site_of("prefect"),
            "--factory",
            "moodrec.flows.api_server:serving_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ]
        # same process group as the command (no new session): a Ctrl-C or a group kill
        # reaches the server too
        self.process = subprocess.Popen(args, env=env)
        atexit.register(self.stop)
        logger.info("starting a temporary Prefect server on %s", self.api_url)
        return self

    def wants_heartbeats(self) -> bool:
        """Whether flow runs against this server should send heartbeats: only when the
        settings ask for them explicitly or the server runs automations (triggers).

        Heartbeats let a long-lived server's automation mark the runs of a process that died
        as crashed. A temporary server lives exactly as long as its command and, by default,
        runs no automations, so nothing reads them; and each flow run's heartbeat thread
        sleeps in 1 s steps and is joined when the run ends, up to 1 s (0.5 s on average) at
        the end of every run.
        """
        from pydantic import TypeAdapter

        # read as Prefect's settings read it (pydantic: "false", "0", "off", "no", ...)
        triggers = self.env.get("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED", "true")
        return heartbeat_frequency_set() or TypeAdapter(bool).validate_python(triggers.strip())

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        """Block until ``/health`` answers 200; restart once on another port if the chosen
        one was taken; raise :class:`ApiServerError` on exit or timeout."""
        import httpx

        deadline = time.monotonic() + timeout_s
        restarted = False
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None, "start() first"
                code = self.process.poll()
                if code == _PORT_IN_USE and not restarted:
                    self.port, restarted = free_port(), True
                    self.start()
                    continue
                if code is not None:
                    raise ApiServerError(f"the temporary Prefect server exited with status {code}")
                try:
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise ApiServerError(f"the temporary Prefect server did not answer within {timeout_s} s")

    def stop(self) -> None:
        """Terminate the server (kill it after 5 s); safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ApiUrl(str):
    """The Prefect API URL a command talks to (a ``str``), and whether it is the command's
    own temporary server (:func:`prefect_api`)."""

    temporary: bool

    def __new__(cls, url: str, *, temporary: bool) -> ApiUrl:
        self = super().__new__(cls, url)
        self.temporary = temporary
        return self


@contextlib.contextmanager
def prefect_api(
    preload: Callable[[], object] | None = None, *, ui: bool = False
) -> Iterator[ApiUrl]:
    """Run the body against the configured Prefect API, or against a temporary server
    started before ``preload`` (the command's imports) runs and stopped at the end.

    In a process that has not loaded Prefect yet and has no ``PREFECT_API_URL`` in its
    environment, the server is started before Prefect is loaded (≈ 0.65 s earlier); should
    Prefect's settings then name an API after all (a profile, ``.env``), it is stopped unused.

    ``ui``: the temporary server serves the Prefect UI too, and ``PREFECT_UI_URL`` names it
    in the body (Prefect's "View at" links then open); without ``ui`` ``PREFECT_UI_URL`` is
    empty in the body, so Prefect prints no links, which would not open. Raises
    :class:`ApiServerError` when the prefect package has no built UI. Yields the API URL.
    """
    early = "PREFECT_API_URL" not in os.environ and not prefect_settings_loaded()
    server = TemporaryServer(ui=ui).start() if early and not ui else None
    try:
        from prefect.settings import (
            PREFECT_API_URL,
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
            PREFECT_UI_URL,
            get_current_settings,
            temporary_settings,
        )

        configured = get_current_settings().api.url
        if configured:
            if server is not None:
                server.stop()  # named in a profile or .env: not needed after all
            if preload is not None:
                preload()
            yield ApiUrl(str(configured), temporary=False)
            return
        if server is None:
            if ui:
                ui_assets()
            server = TemporaryServer(ui=ui).start()
        if preload is not None:
            preload()
        server.wait_healthy()
        urls: dict[Any, Any] = {
            PREFECT_API_URL: server.api_url,
            PREFECT_UI_URL: server.ui_url or "",
        }
        if not server.wants_heartbeats():
            urls[PREFECT_FLOWS_HEARTBEAT_FREQUENCY] = None
        with temporary_settings(urls):
            try:
                yield ApiUrl(server.api_url, temporary=True)
            finally:
                drain_prefect_workers()
    finally:
        if server is not None:
            server.stop()


def heartbeat_frequency_set() -> bool:
    """Whether ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` is set (environment, ``.env``, profile)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings

    names = get_current_settings().to_environment_variables(exclude_unset=True)
    return PREFECT_FLOWS_HEARTBEAT_FREQUENCY.name in names


def drain_prefect_workers(timeout_s: float = 10.0) -> None:
    """Send the run's queued logs and events to the API and stop Prefect's workers for
    them (as ``prefect_test_harness`` does), before the server they talk to stops."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(RuntimeError):  # never started
            worker.drain_all(timeout=timeout_s)
