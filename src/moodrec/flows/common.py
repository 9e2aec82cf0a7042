"""Wiring every stage flow shares: settings + data folder, and the sandbox world."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from moodrec.catalogue import Catalogue
from moodrec.config.loader import load_settings
from moodrec.config.schema import Settings
from moodrec.errors import CatalogueError, ConfigError
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


#: the checkpoints real-log item content comes from (the content join's report names its
#: tables; the others are the genres, clusters and topics stages' track tables)
CONTENT_STAGE_OUTPUTS = ("content_report", "track_genre_vectors", "track_clusters", "track_topics")


def content_stage_refs(data_dir: str, users: list[str]) -> dict[str, DatasetRef]:
    """The recorded :data:`CONTENT_STAGE_OUTPUTS` of ``data_dir``.

    Raises
    ------
    ConfigError
        None is on record: ``users`` (models or variants) would have no content.
    """
    manifest = Catalogue(data_dir).manifest
    refs: dict[str, DatasetRef] = {}
    for name in CONTENT_STAGE_OUTPUTS:
        with contextlib.suppress(CatalogueError):
            refs[name] = manifest.get(name)
    if not refs:
        raise ConfigError(
            f"{', '.join(users)} need item content, and {data_dir} has none: configure "
            "content.sources (a features, lyrics or genres file, HetRec tags) and run the "
            "content stage, or the genres/clusters/topics stages, first"
        )
    return refs
