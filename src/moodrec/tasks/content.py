"""Prefect task: join the catalogue to the configured content sources (one task per run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from moodrec.catalogue import Catalogue
from moodrec.content.config import ContentConfig
from moodrec.content.stage import run_content_join
from moodrec.storage import DatasetRef
from moodrec.tasks.cache_policy import CHECKPOINT_CACHE


def content_dir(data_dir: str) -> Path:
    """Where the content stage writes (``features/content``)."""
    return Catalogue(data_dir).layer_dir("features") / "content"


@task(name="content-join", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def content_join_task(
    cfg: ContentConfig,
    catalogue: dict[str, DatasetRef],
    sources: dict[str, DatasetRef],
    data_dir: str,
) -> dict[str, Any]:
    """Join ``catalogue`` (``tracks`` and/or ``artists``) to every source; register outputs.

    ``sources`` holds the fingerprinted source files: they are in the cache key, so an edited
    file is joined again. Returns ``{"refs": ..., "summary": ...}``.
    """
    tracks = catalogue.get("tracks")
    artists = catalogue.get("artists")
    outputs, report = run_content_join(
        Path(tracks.path) if tracks else None,
        Path(artists.path) if artists else None,
        cfg,
        content_dir(data_dir),
    )
    logger = get_run_logger()
    for row in report["coverage"]:
        logger.info(
            "%s/%s: %d of %d items, plays %.1f%% (exact keys only: %.1f%%)",
            row["source"],
            row["capability"],
            row["items_linked"],
            row["items"],
            100 * row["share_plays"],
            100 * row["share_plays_exact"],
        )
    refs = Catalogue(data_dir).register_many(outputs)
    summary = {
        "level": report["level"],
        "n_items": report["n_items"],
        "coverage": {
            f"{r['source']}/{r['capability']}": {
                "plays_exact": round(r["share_plays_exact"], 4),
                "plays_linked": round(r["share_plays"], 4),
                "items_linked": r["items_linked"],
                "by_fuzzy": r["by_fuzzy"],
            }
            for r in report["coverage"]
        },
        "missing_columns": {n: s["missing"] for n, s in report["sources"].items() if s["missing"]},
    }
    return {"refs": refs, "summary": summary}
