"""Shared fixtures: paths to the repo, its config profiles, the shared real data, the
session's one temporary Prefect API, and the demo sandbox world (generated once)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests run offline; Prefect's temporary servers must not try to send telemetry
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
#: seconds a temporary Prefect server may take to answer. Prefect's default (30 s of sleeps)
#: is too short on a busy machine ("Timed out while attempting to connect to ephemeral
#: Prefect API server"); this also covers servers Prefect starts by itself in tests.
PREFECT_STARTUP_TIMEOUT_S = int(
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")
)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The heavy tests run last (a stable sort: the others keep their order).

    ``make test`` runs the whole suite as one session, so the expensive session fixtures
    (the Prefect API, the tiny pipeline run, the demo world) and the imports of collection
    are paid once, and a failure in the main suite still shows before the long tests run.
    """
    items.sort(key=lambda item: item.get_closest_marker("heavy") is not None)


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def config_env(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point profile lookup at the repo's config/ whatever the working directory."""
    monkeypatch.setenv("MOODREC_CONFIG_DIR", str(REPO / "config"))
    return REPO / "config"


@pytest.fixture(scope="session")
def demo_truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted truth (tracks, genres, lyrics, topics) of the demo sandbox world, seed 42,
    generated once per session (~3 s of CPU) for the clustering, genre and topic tests that
    read it: read it, never write it."""
    from moodrec.sandbox.config import SandboxConfig
    from moodrec.sandbox.world import generate_world

    out = tmp_path_factory.mktemp("demo-world")
    generate_world(SandboxConfig(profile="demo", seed=42), out)
    return out / "truth"


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect API (SQLite) and result store for the whole test session.

    Started by the first test that asks for it, with a long start-up timeout; one server
    per session instead of one per module saves its start-up (seconds of CPU each) and the
    chance of timing out under load. Tests keep apart by their own ``tmp_path`` data folders
    (part of every task's cache key).
    """
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    with (
        temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}),
        prefect_test_harness(server_startup_timeout=PREFECT_STARTUP_TIMEOUT_S),
    ):
        yield
