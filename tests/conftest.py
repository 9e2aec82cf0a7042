"""Shared fixtures: paths to the repo, its config profiles and the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# tests run offline; Prefect's temporary servers must not try to send telemetry
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


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
