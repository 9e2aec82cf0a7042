"""``report_flow``: every stage's result → one self-contained HTML report + Markdown artifacts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from prefect import flow

from moodrec.catalogue import Catalogue
from moodrec.flows.common import stage_settings
from moodrec.orchestration.config import STAGE_NAMES
from moodrec.report.build import as_ref
from moodrec.runs import provenance, read_run_record
from moodrec.storage import DatasetRef
from moodrec.tasks.checkpoints import run_checkpoint_task
from moodrec.tasks.report import RESULTS_FILE, build_report_task, publish_report


def _nested(result: dict[str, Any], key: str) -> dict[str, Any]:
    """``key`` of every part of a result that is not a flat stage result itself.

    ``train_flow`` returns ``{"split": {"refs", "summary"}, "fits": {model: {"refs",
    "summary"}}}`` rather than one ``refs``/``summary`` pair: gather them.
    """
    found: dict[str, Any] = {}
    for part, value in result.items():
        if not isinstance(value, dict):
            continue
        if isinstance(value.get(key), dict):
            found[part] = value[key]
        else:
            sub = {k: v[key] for k, v in value.items() if isinstance(v, dict) and key in v}
            if sub:
                found[part] = sub
    return found


def stage_refs(result: dict[str, Any]) -> dict[str, DatasetRef]:
    """A stage result's checkpoint references (its ``refs``, else those of its parts)."""
    raw = result.get("refs")
    if raw is None:
        raw = {}
        for value in _nested(result, "refs").values():
            looks_flat = any(as_ref(v) is not None for v in value.values())
            for inner in [value] if looks_flat else list(value.values()):
                raw.update(inner)
    refs = {k: as_ref(v) for k, v in raw.items()}
    return {k: v for k, v in refs.items() if v is not None}


def stage_summary(result: dict[str, Any]) -> dict[str, Any]:
    """A stage result's summary: ``summary``, else ``table`` (evaluate), else its parts'."""
    for key in ("summary", "table"):
        if isinstance(result.get(key), dict):
            return result[key]
    return _nested(result, "summary")


def _slim(stages: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Only what the report reads of a stage result: synthetic flag, refs, summary."""
    return {
        name: {
            "synthetic": bool(result.get("synthetic")),
            "refs": stage_refs(result),
            "summary": stage_summary(result),
        }
        for name, result in stages.items()
    }


def _last_run(data_dir: str) -> tuple[dict[str, Any], dict[str, str]]:
    path = Catalogue(data_dir).layer_dir("reports") / RESULTS_FILE
    if not path.is_file():
        reason = "no pipeline run recorded in this data folder"
        return {}, {s: reason for s in STAGE_NAMES if s != "report"}
    record = json.loads(path.read_text(encoding="utf-8"))
    return record.get("stages", {}), record.get("not_run", {})


@flow(name="report", log_prints=False)
def report_flow(
    profile: str = "demo",
    overrides: dict[str, Any] | None = None,
    stages: dict[str, Any] | None = None,
    not_run: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Report stage: ``reports/report.html`` (self-contained) and ``report.md``.

    Parameters
    ----------
    profile
        Config profile name or path.
    overrides
        Nested setting overrides; ``{"orchestration": {"report": {...}}}`` sets
        ``ReportConfig`` fields.
    stages
        Stage name → stage flow result (``synthetic``, ``refs``, ``summary``). ``None``
        re-renders the last pipeline run recorded in the data folder.
    not_run
        Stage name → why it did not run (its section says so).
    """
    settings, data_dir = stage_settings(profile, overrides)
    if stages is None:
        stages, recorded = _last_run(data_dir)
        not_run = {**recorded, **(not_run or {})}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    record = read_run_record(data_dir) or {}
    made_by = provenance(settings, data_dir, started=record.get("started") or now, finished=now)
    result = run_checkpoint_task(
        build_report_task,
        _slim(stages),
        dict(not_run or {}),
        settings.orchestration.report,
        settings.profile,
        data_dir,
        made_by,
        data_dir=data_dir,
    )
    if settings.orchestration.report.markdown_artifacts:
        publish_report(
            result["sections"], result["refs"]["report_html"], settings.profile, result["synthetic"]
        )
    return {
        "data_dir": data_dir,
        "synthetic": result["synthetic"],
        "refs": result["refs"],
        "summary": result["summary"],
    }
