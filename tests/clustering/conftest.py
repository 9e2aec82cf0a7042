"""Fixtures: a demo sandbox world (generated once per module) and the genre sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodrec.sandbox.config import SandboxConfig
from moodrec.sandbox.world import generate_world


@pytest.fixture(scope="session")
def demo_truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-world")
    generate_world(SandboxConfig(profile="demo", seed=42), out)
    return out / "truth"
