"""``content_flow``: link the catalogue to every configured content source (``content``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from moodrec.catalogue import Catalogue
from moodrec.config.schema import is_synthetic_source
from moodrec.errors import CatalogueError
from moodrec.flows.common import stage_settings
from moodrec.storage import DatasetRef
from moodrec.tasks.artifacts import publish_checkpoints
from moodrec.tasks.checkpoints import register_raw_input, run_checkpoint_task
from moodrec.tasks.content import content_join_task

#: the HetRec files a ``hetrec_tags`` source reads
HETREC_TAG_FILES = ("artists.dat", "tags.dat", "user_taggedartists.dat")


def _catalogue_refs(data_dir: str) -> dict[str, DatasetRef]:
    manifest = Catalogue(data_dir).manifest
    refs: dict[str, DatasetRef] = {}
    # the HetRec tables of `moodrec ingest hetrec` are recorded as hetrec_<name>
    for name, recorded in (
        ("tracks", "tracks"),
        ("artists", "artists"),
        ("artists", "hetrec_artists"),
    ):
        if name in refs:
            continue
        try:
            refs[name] = manifest.get(recorded)
        except CatalogueError:
            continue
    if not refs:
        raise CatalogueError(
            f"content: {data_dir} has neither the ingest stage's tracks nor its artists: "
            "run the ingest stage first (moodrec run, or moodrec ingest)"
        )
    return refs


@flow(name="content", log_prints=False)
def content_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Content stage: catalogue × content sources → linked tables + coverage (items, plays).

    Without ``content.sources`` it does nothing and says so in its summary.
    """
    settings, data_dir = stage_settings(profile, overrides)
    cfg = settings.content
    synthetic = is_synthetic_source(settings)
    if not cfg.sources:
        summary = {"note": "no content sources configured (content.sources)"}
        return {"data_dir": data_dir, "synthetic": synthetic, "refs": {}, "summary": summary}
    sources: dict[str, DatasetRef] = {}
    for src in cfg.sources:
        files = (
            [Path(src.path) / f for f in HETREC_TAG_FILES]
            if src.kind == "hetrec_tags"
            else [Path(src.path)]
        )
        for f in files:
            key = f"content_source_{src.name}" + (f"_{f.stem}" if len(files) > 1 else "")
            sources[key] = register_raw_input(key, str(f), data_dir)
    result = run_checkpoint_task(
        content_join_task, cfg, _catalogue_refs(data_dir), sources, data_dir, data_dir=data_dir
    )
    publish_checkpoints("content", result["refs"], result["summary"], settings.profile, synthetic)
    return {"data_dir": data_dir, "synthetic": synthetic, **result}
