"""The content stage: read each source, join it to the catalogue, write tables + coverage.

Outputs (``features/content/``):

- ``content_<source>.parquet``: every catalogue item with its linked source row (``key``,
  ``score``, the source's names) and the source's payload (features, text or genres);
- ``content_coverage.parquet``: per source and capability, items and plays linked by exact
  keys alone and with fuzzy matching (:func:`~moodrec.content.join.coverage_table`);
- ``content_unmatched.parquet``: the most-played items no source reached;
- ``content_report.json``: the coverage as records, the columns each source had and lacked.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from moodrec.content.config import ContentConfig
from moodrec.content.join import (
    Catalogue,
    catalogue_frame,
    coverage_table,
    join_source,
    unmatched_table,
)
from moodrec.content.sources import read_source
from moodrec.storage import StagedOutputs, stage_outputs

logger = logging.getLogger(__name__)


def source_table_path(out_dir: Path, name: str) -> Path:
    """Where the joined table of source ``name`` is written."""
    return Path(out_dir) / f"content_{name}.parquet"


def run_content_join(
    tracks_path: Path | None, artists_path: Path | None, cfg: ContentConfig, out_dir: Path
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Join every source of ``cfg`` to the catalogue; write the outputs listed above.

    Parameters
    ----------
    tracks_path, artists_path
        The ingest ``tracks`` table (preferred) and ``artists`` table; a log without
        tracks (HetRec) is joined at artist level. Either may be ``None`` or absent.
    cfg
        Sources and thresholds.
    out_dir
        Folder for the outputs (created).

    Returns
    -------
    (outputs, report)
        Dataset name → path, and the report written to ``content_report.json``.

    Raises
    ------
    InputDataError
        No catalogue table, or a source that cannot be read or has nothing to link by.
    """
    tracks = pd.read_parquet(tracks_path) if tracks_path and Path(tracks_path).is_file() else None
    artists = (
        pd.read_parquet(artists_path) if artists_path and Path(artists_path).is_file() else None
    )
    catalogue = catalogue_frame(tracks, artists)
    out_dir = Path(out_dir)
    with stage_outputs(out_dir, label="content") as staging:
        outputs, report = _join_and_write(catalogue, cfg, out_dir, staging)
    for row in report["coverage"]:
        logger.info(
            "content %s/%s: plays linked %.1f%% exact, %.1f%% with fuzzy matching",
            row["source"],
            row["capability"],
            100 * row["share_plays_exact"],
            100 * row["share_plays"],
        )
    return outputs, report


def _join_and_write(
    catalogue: Catalogue, cfg: ContentConfig, out_dir: Path, staging: StagedOutputs
) -> tuple[dict[str, Path], dict[str, Any]]:
    outputs: dict[str, Path] = {}
    tables, joined = {}, {}
    for src in cfg.sources:
        table = read_source(src)
        tables[src.name] = table
        joined[src.name] = join_source(catalogue, table, cfg)
        outputs[f"content_{src.name}"] = staging.write_parquet(
            joined[src.name], source_table_path(out_dir, src.name)
        )
    coverage = coverage_table(joined, tables)
    unmatched = unmatched_table(joined, cfg.top_unmatched)
    outputs["content_coverage"] = staging.write_parquet(
        coverage, out_dir / "content_coverage.parquet"
    )
    outputs["content_unmatched"] = staging.write_parquet(
        unmatched.astype(
            {"artist": "string", **({"title": "string"} if "title" in unmatched else {})}
        ),
        out_dir / "content_unmatched.parquet",
    )
    report = {
        "level": catalogue.item_key,
        "n_items": len(catalogue.frame),
        "sources": {
            n: {
                "kind": t.kind,
                "rows": len(t.frame),
                "columns": t.columns,
                "capabilities": t.capabilities,
                "missing": t.missing,
            }
            for n, t in tables.items()
        },
        "coverage": coverage.to_dict(orient="records"),
    }
    outputs["content_report"] = staging.write_json(out_dir / "content_report.json", report)
    return outputs, report
