"""Stage results → report sections made of blocks (tables, Markdown, images, figures).

Generic on purpose: a stage's section is built from its result dict alone — the
``summary`` becomes tables, every referenced Markdown file, PNG, interactive HTML figure
and small Parquet table becomes a block — so a new stage gets a section without code here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pyarrow.parquet as pq

from moodrec.orchestration.config import STAGE_NAMES, ReportConfig
from moodrec.report.checkpoints import SYNTHETIC_BANNER, describe_checkpoint
from moodrec.report.sections import section_spec
from moodrec.storage import DatasetRef

BlockKind = Literal["text", "heading", "table", "markdown", "image", "figure", "plotly"]
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Block:
    """One piece of a section.

    ``table`` uses ``columns`` and ``rows`` (cells already formatted as text); ``markdown``
    and ``text`` use ``text``; ``image`` (PNG) and ``figure`` (interactive HTML) use ``path``.
    ``markdown`` blocks keep the folder of their file in ``path`` for relative image links.
    ``heading`` is a sub-heading (its ``title``); ``plotly`` holds a figure's ``<div>`` and
    script in ``text`` (made by the report itself, e.g. the genre map).
    """

    kind: BlockKind
    title: str = ""
    text: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    path: str = ""
    note: str = ""
    #: shown collapsed (HTML ``<details>``): detail a reader opens only when curious
    folded: bool = False


@dataclass(frozen=True)
class Section:
    """The report section of one stage: ``ran`` is false when the stage did not run."""

    stage: str
    title: str
    intro: str
    ran: bool
    reason: str = ""
    synthetic: bool = False
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Report:
    """A whole run report: ``synthetic`` when any stage read sandbox data.

    ``front`` holds the sections a reader sees first (the research questions, the maps, the
    provenance: ``moodrec.report.study``); ``sections`` one per stage, the appendix.
    """

    title: str
    profile: str
    synthetic: bool
    sections: tuple[Section, ...] = field(default_factory=tuple)
    front: tuple[Section, ...] = field(default_factory=tuple)
    provenance: dict[str, Any] = field(default_factory=dict)


def format_cell(value: Any, max_chars: int) -> str:
    """A table cell as text: floats to 4 significant digits, lists joined, long text cut."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = "" if math.isnan(value) else f"{value:.4g}"
    elif isinstance(value, dict):
        text = json.dumps(value, default=str, sort_keys=True)
    elif isinstance(value, list | tuple) or type(value).__name__ == "ndarray":
        items = list(value)
        text = ", ".join(format_cell(v, max_chars) for v in items[:12])
        if len(items) > 12:
            text += f", … ({len(items)} in all)"
    else:
        text = str(value)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text


def as_ref(value: Any) -> DatasetRef | None:
    """``value`` as a ``DatasetRef`` (it may be one or its dict form), else ``None``."""
    if isinstance(value, DatasetRef):
        return value
    if isinstance(value, Mapping) and {"name", "path", "fingerprint"} <= set(value):
        return DatasetRef(
            name=str(value["name"]),
            path=str(value["path"]),
            fingerprint=str(value["fingerprint"]),
            rows=value.get("rows"),
        )
    return None


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out.append((prefix, value))


def _table(
    title: str, columns: Sequence[str], rows: list[list[Any]], limit: int, max_chars: int
) -> Block:
    shown = rows[:limit]
    note = f"first {limit} of {len(rows)} rows" if len(rows) > limit else ""
    if not rows:
        note = "no rows"
    return Block(
        kind="table",
        title=title,
        columns=tuple(columns),
        rows=tuple(tuple(format_cell(c, max_chars) for c in r) for r in shown),
        note=note,
    )


def _records(value: Any) -> dict[str, dict[str, Any]] | None:
    """``value`` as rows of a matrix (name → flattened dict), when it reads as one.

    It does when it maps names to dicts that mostly share their keys (coverage per provider,
    metrics per model); dicts of unrelated parts (stats, demographics, figures) do not.
    """
    if not (isinstance(value, Mapping) and value):
        return None
    if not all(isinstance(v, Mapping) and v for v in value.values()):
        return None
    rows: dict[str, dict[str, Any]] = {}
    if all(
        isinstance(x, Mapping) and x and all(isinstance(y, _SCALARS) for y in x.values())
        for v in value.values()
        for x in v.values()
    ):
        # two levels of names (capability → provider → status counts): one row per pair
        for name, v in value.items():
            for sub, x in v.items():
                rows[f"{name} · {sub}"] = dict(x)
    else:
        for name, v in value.items():
            cells: list[tuple[str, Any]] = []
            _flatten("", v, cells)
            rows[str(name)] = dict(cells)
    n_columns = len({c for row in rows.values() for c in row})
    if any(len(row) * 2 < n_columns for row in rows.values()):
        return None
    return rows


def summary_blocks(summary: Mapping[str, Any], cfg: ReportConfig) -> list[Block]:
    """Tables of a stage summary.

    A top-level value that maps names to dicts of mostly the same keys (e.g. coverage
    per provider) becomes a matrix table; one that maps names to scalars becomes a
    two-column table; scalars and other nesting are flattened into one ``Summary`` table
    of ``metric | value``.
    """
    flat: list[tuple[str, Any]] = []
    blocks: list[Block] = []
    limit, width = cfg.max_summary_rows, cfg.max_cell_chars
    for key, value in summary.items():
        matrix = _records(value)
        if matrix is not None:
            columns = list(dict.fromkeys(c for row in matrix.values() for c in row))
            rows = [[name, *(row.get(c) for c in columns)] for name, row in matrix.items()]
            blocks.append(_table(str(key), ["", *columns], rows, limit, width))
        elif (
            isinstance(value, Mapping)
            and len(value) >= 2
            and all(isinstance(v, _SCALARS) for v in value.values())
        ):
            rows = [[k, v] for k, v in value.items()]
            blocks.append(_table(str(key), ["name", "value"], rows, limit, width))
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, Mapping) for v in value)
            and len(value) > 1
        ):
            columns = list(dict.fromkeys(c for row in value for c in row))
            rows = [[row.get(c) for c in columns] for row in value]
            blocks.append(_table(str(key), columns, rows, limit, width))
        else:
            _flatten(str(key), value, flat)
    if flat:
        blocks.insert(
            0, _table("Summary", ["metric", "value"], [list(r) for r in flat], limit, width)
        )
    return blocks


#: layers whose tables are inputs or internals, never shown as report tables
_UNSHOWN_LAYERS = frozenset({"raw", "interim", "models"})


def _parquet_table(ref: DatasetRef, cfg: ReportConfig) -> Block | None:
    """A table block for a Parquet checkpoint worth reading in a report, else ``None``.

    Tables of the ``reports`` layer are shown (their first ``max_table_rows`` rows); feature
    tables only when they are that small; raw, interim and model files never.
    """
    path = Path(ref.path)
    if _UNSHOWN_LAYERS & set(path.parts[:-1]):
        return None
    meta = pq.ParquetFile(path).metadata
    if meta.num_rows > cfg.max_table_rows and "reports" not in path.parts[:-1]:
        return None
    frame = pq.read_table(path).slice(0, cfg.max_table_rows).to_pandas()
    rows = [list(r) for r in frame.itertuples(index=False, name=None)]
    block = _table(
        f"{ref.name} ({path.name})",
        [str(c) for c in frame.columns],
        rows,
        cfg.max_table_rows,
        cfg.max_cell_chars,
    )
    if meta.num_rows > len(rows):
        block = replace(block, note=f"first {len(rows)} of {meta.num_rows} rows")
    return block


def _without_banner(text: str) -> str:
    """A stage's Markdown without its synthetic-data banner (the report states it once)."""
    lines = text.splitlines()
    if lines and lines[0].strip() == SYNTHETIC_BANNER:
        lines = lines[1:]
    return "\n".join(lines).lstrip("\n") + "\n"


def _images_in_markdown(text: str, folder: Path) -> set[str]:
    return {
        str((folder / m).resolve())
        for m in _MD_IMAGE.findall(text)
        if "://" not in m and not m.startswith("data:")
    }


def ref_blocks(refs: Mapping[str, Any], cfg: ReportConfig) -> list[Block]:
    """Blocks for a stage's referenced files, in this order: Markdown reports, images,
    interactive figures, small Parquet tables, then the list of every checkpoint."""
    parsed = [r for r in (as_ref(v) for v in refs.values()) if r is not None]
    present = [r for r in parsed if Path(r.path).is_file()]
    markdown: list[Block] = []
    shown_images: set[str] = set()
    for ref in present:
        path = Path(ref.path)
        if path.suffix.lower() == ".md":
            text = _without_banner(path.read_text(encoding="utf-8"))
            shown_images |= _images_in_markdown(text, path.parent)
            markdown.append(
                Block(kind="markdown", title=ref.name, text=text, path=str(path.parent))
            )
    images = [
        Block(kind="image", title=ref.name, path=ref.path)
        for ref in present
        if Path(ref.path).suffix.lower() == ".png"
        and str(Path(ref.path).resolve()) not in shown_images
    ]
    figures = [
        Block(kind="figure", title=ref.name, path=ref.path)
        for ref in present
        if Path(ref.path).suffix.lower() in {".html", ".htm"}
    ]
    # a table with a Markdown twin (ablation.parquet beside ablation.md) is already shown
    # readably by the Markdown: keep the raw table folded
    md_twins = {Path(r.path).with_suffix("") for r in present if Path(r.path).suffix == ".md"}
    tables = []
    for ref in present:
        if Path(ref.path).suffix != ".parquet":
            continue
        block = _parquet_table(ref, cfg)
        if block is not None:
            folded = Path(ref.path).with_suffix("") in md_twins
            tables.append(replace(block, folded=folded))
    checkpoints: list[list[Any]] = []
    for ref in parsed:
        row = describe_checkpoint(ref) if Path(ref.path).is_file() else {}
        checkpoints.append(
            [
                ref.name,
                Path(ref.path).name,
                ref.rows,
                ref.fingerprint[:12],
                row.get("coverage", "missing on disk") if row else "missing on disk",
            ]
        )
    blocks = [*markdown, *images, *figures, *tables]
    if checkpoints:
        table = _table(
            "Checkpoints",
            ["dataset", "file", "rows", "fingerprint", "coverage"],
            checkpoints,
            len(checkpoints),
            cfg.max_cell_chars,
        )
        blocks.append(replace(table, folded=True))
    return blocks


def build_section(
    stage: str, result: Mapping[str, Any] | None, reason: str, cfg: ReportConfig
) -> Section:
    """The section of one stage from its flow result (``None`` when it did not run)."""
    spec = section_spec(stage)
    if result is None:
        return Section(stage=stage, title=spec.title, intro=spec.intro, ran=False, reason=reason)
    files = ref_blocks(result.get("refs") or {}, cfg)
    summary = summary_blocks(result.get("summary") or {}, cfg)
    if any(b.kind == "markdown" for b in files):
        # the stage's own report says it in prose: its raw summary values go behind a fold
        summary = [replace(b, folded=True) for b in summary]
    blocks = [*summary, *files]
    return Section(
        stage=stage,
        title=spec.title,
        intro=spec.intro,
        ran=True,
        synthetic=bool(result.get("synthetic")),
        blocks=tuple(blocks),
    )


def build_report(
    stages: Mapping[str, Mapping[str, Any]],
    not_run: Mapping[str, str],
    cfg: ReportConfig,
    *,
    profile: str,
    order: Sequence[str] = STAGE_NAMES,
) -> Report:
    """The report of one run.

    Parameters
    ----------
    stages
        Stage name → that stage flow's result (``synthetic``, ``refs``: name →
        ``DatasetRef`` or its dict, ``summary``).
    not_run
        Stage name → why it did not run (skipped by config, not in the pipeline yet).
    cfg
        Report options (table sizes, title).
    profile
        The config profile of the run (shown in the title).
    order
        Section order; stages not in it follow at the end. ``report`` itself is left out.

    Returns
    -------
    Report
        ``synthetic`` is true when any stage says its data is synthetic.
    """
    names = [s for s in order if s != "report"]
    names += [s for s in [*stages, *not_run] if s not in names and s != "report"]
    sections = []
    for name in names:
        if name in stages:
            sections.append(build_section(name, stages[name], "", cfg))
        elif name in not_run:
            sections.append(build_section(name, None, not_run[name], cfg))
        else:
            sections.append(build_section(name, None, "not run", cfg))
    synthetic = any(bool(r.get("synthetic")) for r in stages.values())
    return Report(title=cfg.title, profile=profile, synthetic=synthetic, sections=tuple(sections))
