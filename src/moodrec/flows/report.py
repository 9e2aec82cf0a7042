"""``report_flow``: every stage's result → one self-contained HTML report + Markdown artifacts."""

from __future__ import annotations

import json
from typing import Any

from prefect import flow

from moodrec.catalogue import Catalogue
from moodrec.flows.common import stage_settings
from moodrec.orchestration.config import STAGE_NAMES
from moodrec.report.build import as_ref
from moodrec.tasks.common import run_checkpoint_task
from moodrec.tasks.report import RESULTS_FILE, build_report_task, publish_report


def _slim(stages: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Only what the report reads of a stage result: synthetic flag, refs, summary."""
    out: dict[str, dict[str, Any]] = {}
    for name, result in stages.items():
        refs = {k: as_ref(v) for k, v in (result.get("refs") or {}).items()}
        out[name] = {
            "synthetic": bool(result.get("synthetic")),
            "refs": {k: v for k, v in refs.items() if v is not None},
            "summary": result.get("summary") or {},
        }
    return out


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
    result = run_checkpoint_task(
        build_report_task,
        _slim(stages),
        dict(not_run or {}),
        settings.orchestration.report,
        settings.profile,
        data_dir,
        refs_of=lambda r: r["refs"],
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
