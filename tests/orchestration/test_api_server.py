"""The CLI's Prefect API: the configured one, or a temporary server started early."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.settings import (
    PREFECT_API_DATABASE_CONNECTION_URL,
    PREFECT_API_URL,
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    PREFECT_HOME,
    PREFECT_LOCAL_STORAGE_PATH,
    PREFECT_UI_URL,
    temporary_settings,
)

from moodrec.errors import ApiServerError
from moodrec.flows.api_server import (
    INIT_LOCK_NAME,
    TemporaryServer,
    prefect_api,
    server_environment,
    sqlite_transactions_lock_on_begin,
)
from moodrec.locking import waiting_file_lock

REPO = Path(__file__).resolve().parents[2]
#: the CLI's server path in a child process: imports done, wait for the test's "go" on stdin
#: (so that several children start their servers at the same moment), print the URL once the
#: server answers, then wait
CLI_SERVER = """
import sys, time
from moodrec.flows.api_server import prefect_api
sys.stdin.readline()
with prefect_api() as url:
    print(url, flush=True)
    time.sleep(600)
"""


def _cli_server(home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {
        "PYTHONPATH": str(REPO / "src"),
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-c", CLI_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _go(*commands: subprocess.Popen[str]) -> None:
    for command in commands:
        assert command.stdin is not None
        command.stdin.write("go\n")
    for command in commands:
        assert command.stdin is not None
        command.stdin.flush()


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # exited, not yet reaped by init
    except psutil.NoSuchProcess:
        return True


@flow(name="api-server-probe")
def _probe(x: int) -> int:
    return x + 1


def test_configured_api_is_used_and_nothing_is_started() -> None:
    loaded: list[str] = []
    configured = temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"})
    with configured, prefect_api(lambda: loaded.append("x")) as url:
        assert url == "http://127.0.0.1:9/api" and not url.temporary
    assert loaded == ["x"]


@pytest.mark.slow
def test_temporary_server_runs_flows_and_is_stopped(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}"
    order: list[str] = []
    with temporary_settings(
        {PREFECT_API_DATABASE_CONNECTION_URL: db, PREFECT_LOCAL_STORAGE_PATH: tmp_path / "r"},
        restore_defaults={PREFECT_API_URL},
    ):
        with prefect_api(lambda: order.append("preload")) as url:
            assert url.startswith("http://127.0.0.1:") and url.endswith("/api")
            assert PREFECT_API_URL.value() == url
            # nothing reads heartbeats on a server without automations
            assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None
            assert PREFECT_UI_URL.value() == ""  # no UI: Prefect prints no run links
            assert url.temporary
            state = _probe(41, return_state=True)
            assert state.result() == 42
            with get_client(sync_client=True) as client:
                run = client.read_flow_run(state.state_details.flow_run_id)
            assert run.state is not None and run.state.is_completed()
            assert httpx.get(f"{url}/health").status_code == 200
        assert order == ["preload"]
        assert PREFECT_API_URL.value() is None  # the setting is restored
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/health", timeout=2.0)


@pytest.mark.slow
def test_a_server_sets_up_its_database_only_while_holding_the_start_lock(
    tmp_path: Path,
) -> None:
    """The server process takes the start lock in its PREFECT_HOME before it creates the
    database and gives it up once its start-up is over: concurrent first starts never create
    one database together (the race itself: the two-first-starts test below)."""
    home = tmp_path / "home"
    lock, db = home / INIT_LOCK_NAME, home / "prefect.db"
    # the database named, in case another test's settings (a harness) name another one
    database = {PREFECT_API_DATABASE_CONNECTION_URL: f"sqlite+aiosqlite:///{db}"}
    with temporary_settings({PREFECT_HOME: home, **database}, restore_defaults={PREFECT_API_URL}):
        server = TemporaryServer()
        try:
            with waiting_file_lock(lock, timeout_s=0) as taken:
                assert taken
                server.start()
                assert server.process is not None
                process = psutil.Process(server.process.pid)
                deadline = time.monotonic() + 180  # generous: a busy machine
                while str(lock) not in {f.path for f in process.open_files()}:
                    assert server.process.poll() is None, "the server exited"
                    assert time.monotonic() < deadline, "the server never reached the lock"
                    time.sleep(0.2)
                # it waits on the lock: no database yet, nothing answers
                assert not db.exists()
                with pytest.raises(httpx.TransportError):
                    httpx.get(f"{server.api_url}/health", timeout=2.0)
            server.wait_healthy(timeout_s=180)
            assert db.is_file()
            with waiting_file_lock(lock, timeout_s=0) as free:
                assert free, "the started server still holds the start lock"
        finally:
            server.stop()


#: a command's process that has not loaded Prefect: when does prefect_api start the server,
#: and is the API it yields the temporary server?
EARLY_START = """
import sys
from moodrec.flows import api_server

loaded_at_start, servers = [], []
start = api_server.TemporaryServer.start
def recording_start(self):
    loaded_at_start.append("prefect.settings" in sys.modules)
    servers.append(self)
    return start(self)
api_server.TemporaryServer.start = recording_start
with api_server.prefect_api() as url:
    print(loaded_at_start, url.temporary, url)
print("server running after:", [s.process is not None for s in servers])
"""


def _run_early_start(cwd: Path, home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {"PYTHONPATH": str(REPO / "src"), "PREFECT_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", EARLY_START],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_a_command_starts_the_server_before_it_loads_prefect(tmp_path: Path) -> None:
    first, after = _run_early_start(tmp_path, tmp_path / "home").splitlines()
    loaded, temporary, url = first.split(" ")
    assert (loaded, temporary) == ("[False]", "True") and url.startswith("http://127.0.0.1:")
    assert after == "server running after: [False]"


def test_an_api_named_in_a_dotenv_file_stops_the_early_server_unused(tmp_path: Path) -> None:
    # Prefect reads .env in the working directory: the API is only known once it is loaded
    (tmp_path / ".env").write_text("PREFECT_API_URL=http://127.0.0.1:9/api\n")
    out = _run_early_start(tmp_path, tmp_path / "home")
    assert out.splitlines() == [
        "[False] False http://127.0.0.1:9/api",
        "server running after: [False]",
    ]


@pytest.mark.parametrize(
    ("environment", "heartbeats"),
    [
        ({}, False),  # the temporary server's defaults: no automations
        ({"PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "true"}, True),
        ({"PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "off"}, False),  # as pydantic reads it
        ({"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "60"}, True),
    ],
)
def test_flow_runs_send_heartbeats_only_where_something_reads_them(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], heartbeats: bool
) -> None:
    for name in ("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED", "PREFECT_FLOWS_HEARTBEAT_FREQUENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    server = TemporaryServer()
    server.env = server_environment()  # what start() hands the server process
    # Prefect read its settings from the environment at import: set this one as it would be
    set_here = "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" in environment
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 60} if set_here else {}):
        assert server.wants_heartbeats() is heartbeats


def test_a_server_that_exits_is_reported() -> None:
    server = TemporaryServer()
    # a process that exits at once with status 1 stands in for a server that fails to start
    server.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    with pytest.raises(ApiServerError, match="exited with status 1"):
        server.wait_healthy(timeout_s=10)
    server.stop()  # idempotent once the process is gone


@pytest.mark.slow
def test_server_dies_with_a_command_killed_by_sigkill(tmp_path: Path) -> None:
    command = _cli_server(tmp_path / "home")
    _go(command)
    try:
        assert command.stdout is not None
        url = command.stdout.readline().strip()  # blocks until the server answers
        assert url.startswith("http://127.0.0.1:"), url or command.stderr.read()
        servers = psutil.Process(command.pid).children(recursive=True)
        assert servers, "the command started no server process"
        command.kill()  # kill -9: no atexit, no finally
        command.wait()
        deadline = time.monotonic() + 120  # a generous bound for a busy machine
        while not all(_gone(p) for p in servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert all(_gone(p) for p in servers), [p.pid for p in servers if not _gone(p)]
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/health", timeout=5.0)
    finally:
        command.kill()
        command.wait()


@pytest.mark.slow
def test_two_first_starts_on_one_fresh_prefect_home_both_come_up(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"
    # both start at once: without the start lock they may create the database together and
    # one fails with "index ... already exists" (a race: the deterministic check of the lock
    # is test_server_start_is_serialised_by_a_lock_in_prefect_home)
    commands = [_cli_server(home) for _ in range(2)]
    _go(*commands)
    try:
        for command in commands:
            assert command.stdout is not None and command.stderr is not None
            url = command.stdout.readline().strip()
            if not url:  # the server failed to start: show why
                command.wait()
                pytest.fail(command.stderr.read()[-3000:])
            assert httpx.get(f"{url}/health", timeout=10.0).status_code == 200
    finally:
        for command in commands:
            command.terminate()
            command.wait()


@pytest.mark.parametrize("lock_on_begin", [False, True])
def test_server_transactions_hold_the_sqlite_write_lock_from_their_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lock_on_begin: bool
) -> None:
    """A transaction that reads first holds the write lock from BEGIN once patched (so a
    concurrent writer waits for it instead of invalidating its snapshot); Prefect's own
    deferred transaction holds none until it writes."""
    import asyncio
    import sqlite3

    import sqlalchemy as sa
    from prefect.server.database.configurations import AioSqliteConfiguration

    # restored after the test: the patch below must not outlive it
    monkeypatch.setattr(
        AioSqliteConfiguration, "begin_transaction", AioSqliteConfiguration.begin_transaction
    )
    if lock_on_begin:
        sqlite_transactions_lock_on_begin()
        sqlite_transactions_lock_on_begin()  # idempotent: wraps once
    path = tmp_path / "t.db"
    sqlite3.connect(path).executescript("CREATE TABLE t (x INTEGER); PRAGMA journal_mode=WAL;")

    def other_writer_can_begin() -> bool:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return False
        finally:
            other.close()
        return True

    async def read_in_a_transaction() -> bool:
        config = AioSqliteConfiguration(connection_url=f"sqlite+aiosqlite:///{path}")
        engine = await config.engine()
        try:
            session = await config.session(engine)
            async with session, config.begin_transaction(session):
                await session.execute(sa.text("SELECT count(*) FROM t"))
                return await asyncio.to_thread(other_writer_can_begin)
        finally:
            await engine.dispose()

    assert asyncio.run(read_in_a_transaction()) is not lock_on_begin


def test_server_environment_defaults_yield_to_the_users_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED", "true")
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        env = server_environment()
    assert env["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED"] == "false"  # a default
    assert env["PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED"].lower() == "true"  # the user's wins
    assert env["PREFECT__SERVER_EPHEMERAL"] == "1"
    assert "PREFECT_API_URL" not in env  # the server is the API


def test_block_types_are_registered_only_by_a_server_with_the_ui(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Registering them imports every Prefect collection at each start; only the UI's Blocks
    page shows them."""
    from moodrec.flows.api_server import UI_BLOCK_TYPES, with_ui

    for name in UI_BLOCK_TYPES:
        monkeypatch.delenv(name, raising=False)
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        env = server_environment()
    assert all(env[name] == "false" for name in UI_BLOCK_TYPES)
    ui_env = with_ui(env, "http://127.0.0.1:9/api")
    assert not any(name in ui_env for name in UI_BLOCK_TYPES)  # Prefect's default: on
