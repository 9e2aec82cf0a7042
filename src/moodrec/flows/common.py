"""Wiring every stage flow shares: settings + data folder, and the sandbox world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moodrec.catalogue import Catalogue
from moodrec.config.loader import load_settings
from moodrec.config.schema import Settings
from moodrec.errors import CatalogueError
from moodrec.storage import DatasetRef
from moodrec.tasks.checkpoints import result_is_refs, run_checkpoint_task
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
        refs_of=result_is_refs,
        data_dir=data_dir,
    )


def enrich_inputs(data_dir: str, names: tuple[str, ...], stage: str) -> dict[str, DatasetRef]:
    """The catalogue's records of ``names`` (ingest/enrich checkpoints) for ``source: enrich``.

    Raises
    ------
    CatalogueError
        Naming the missing datasets and the stage that writes them.
    """
    manifest = Catalogue(data_dir).manifest
    refs: dict[str, DatasetRef] = {}
    missing: list[str] = []
    for name in names:
        try:
            refs[name] = manifest.get(name)
        except CatalogueError:
            missing.append(name)
    if missing:
        raise CatalogueError(
            f"{stage}: source 'enrich' reads {', '.join(missing)} from {data_dir}, which has "
            "none yet: run the ingest and enrich stages first (moodrec run, or moodrec ingest "
            "then moodrec enrich)"
        )
    return refs
