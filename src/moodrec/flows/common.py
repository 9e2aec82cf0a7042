"""Wiring every stage flow shares: settings + data folder, and the sandbox world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moodrec.config import Settings, load_settings
from moodrec.storage import DatasetRef
from moodrec.tasks.common import run_checkpoint_task
from moodrec.tasks.sandbox import generate_sandbox_world


def stage_settings(profile: str, overrides: dict[str, Any] | None) -> tuple[Settings, str]:
    """Validated settings for ``profile`` and the absolute data folder tasks write into."""
    settings = load_settings(profile, overrides=overrides)
    return settings, str(Path(settings.paths.data_dir).resolve())


def sandbox_world(settings: Settings, data_dir: str) -> dict[str, DatasetRef]:
    """The sandbox world of ``settings.sandbox``: generated once, then served from cache."""
    return run_checkpoint_task(
        generate_sandbox_world,
        settings.sandbox,
        data_dir,
        refs_of=lambda refs: refs,
        data_dir=data_dir,
    )
