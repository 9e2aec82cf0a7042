"""The CLI's Prefect API: the configured one, or a temporary server started early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.settings import (
    PREFECT_API_DATABASE_CONNECTION_URL,
    PREFECT_API_URL,
    PREFECT_LOCAL_STORAGE_PATH,
    temporary_settings,
)

from moodrec.errors import ApiServerError
from moodrec.flows.api_server import TemporaryServer, prefect_api


@flow(name="api-server-probe")
def _probe(x: int) -> int:
    return x + 1


def test_configured_api_is_used_and_nothing_is_started() -> None:
    loaded: list[str] = []
    configured = temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"})
    with configured, prefect_api(lambda: loaded.append("x")) as url:
        assert url == "http://127.0.0.1:9/api"
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


def test_a_server_that_exits_is_reported() -> None:
    server = TemporaryServer()
    # a process that exits at once with status 1 stands in for a server that fails to start
    server.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    with pytest.raises(ApiServerError, match="exited with status 1"):
        server.wait_healthy(timeout_s=10)
    server.stop()  # idempotent once the process is gone
