"""Checkpoints and stage summaries as report rows and Markdown, and the synthetic-data banner.

Kept free of Prefect: the artifact task only publishes what these functions return.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from moodrec.storage import DatasetRef

SYNTHETIC_BANNER = (
    "**SYNTHETIC DATA** — made by moodrec's sandbox generator; numbers below describe a "
    "simulated world, not real listeners."
)


def describe_checkpoint(ref: DatasetRef) -> dict[str, Any]:
    """One report row for a checkpoint: rows, columns, fingerprint and null coverage.

    Reads only the Parquet footer (row-group statistics), never the data.
    """
    path = Path(ref.path)
    row: dict[str, Any] = {
        "dataset": ref.name,
        "file": path.name,
        "rows": ref.rows,
        "fingerprint": ref.fingerprint[:12],
        "columns": "",
        "coverage": "",
    }
    if path.suffix != ".parquet" or not path.is_file():
        return row
    meta = pq.ParquetFile(path).metadata
    names = meta.schema.names
    nulls = dict.fromkeys(names, 0)
    complete = True
    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        for ci in range(group.num_columns):
            col = group.column(ci)
            top = col.path_in_schema.split(".")[0]
            stats = col.statistics
            if stats is None or not stats.has_null_count:
                complete = False
            elif top in nulls and col.path_in_schema == top:
                nulls[top] += stats.null_count
    row["columns"] = ", ".join(names)
    if complete and meta.num_rows:
        partial = [f"{n} {1 - nulls[n] / meta.num_rows:.1%}" for n in names if nulls[n]]
        row["coverage"] = "; ".join(partial) if partial else "all columns complete"
    return row


def summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten a nested summary dict into ``{"metric", "value"}`` rows for a table."""
    rows: list[dict[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            if isinstance(value, float):
                value = round(value, 4)
            rows.append({"metric": prefix, "value": value})

    walk("", summary)
    return rows


def summary_markdown(title: str, summary: dict[str, Any], *, synthetic: bool) -> str:
    """A Markdown report of a stage summary; its first line says when the data is synthetic."""
    lines = [SYNTHETIC_BANNER, ""] if synthetic else []
    lines += [f"# {title}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {r['metric']} | {r['value']} |" for r in summary_rows(summary)]
    return "\n".join(lines) + "\n"
