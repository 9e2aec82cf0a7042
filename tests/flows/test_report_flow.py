"""``report_flow`` under a real (temporary) Prefect API: files, artifacts, cache, re-render."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from prefect import tags
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterTags

from moodrec.flows.report import report_flow
from moodrec.report.checkpoints import SYNTHETIC_BANNER
from moodrec.storage import describe_file, write_parquet_atomic


def _fake_stage(data_dir: Path) -> dict:
    table = write_parquet_atomic(
        pd.DataFrame({"model": ["ease", "ials"], "ndcg": [0.31, 0.29]}),
        data_dir / "reports" / "models.parquet",
    )
    return {
        "data_dir": str(data_dir),
        "synthetic": True,
        "refs": {"models": describe_file("models", table)},
        "summary": {"best": "ease"},
        "extra": "ignored by the report",
    }


def test_report_flow_writes_publishes_and_caches(harness, config_env, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    overrides = {"paths": {"data_dir": str(data_dir)}}
    stages = {"evaluate": _fake_stage(data_dir)}
    not_run = {"session": "skipped by orchestration.skip"}

    # this test's runs, told apart from other tests' on the session's one Prefect API
    mine = TaskRunFilter(tags=TaskRunFilterTags(all_=[f"test-{tmp_path.name}"]))
    with tags(f"test-{tmp_path.name}"):
        state = report_flow("tiny", overrides, stages=stages, not_run=not_run, return_state=True)
    result = state.result()
    html = Path(result["refs"]["report_html"].path)
    assert html == data_dir / "reports" / "report.html"
    page = html.read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in page.splitlines()[0]
    assert "<td>ease</td>" in page and "Not run: skipped by orchestration.skip." in page
    md = Path(result["refs"]["report_md"].path).read_text(encoding="utf-8")
    assert md.splitlines()[0] == SYNTHETIC_BANNER
    record = json.loads((data_dir / "reports" / "pipeline_results.json").read_text())
    assert record["stages"]["evaluate"]["refs"]["models"]["rows"] == 2
    assert "extra" not in record["stages"]["evaluate"]
    manifest = json.loads((data_dir / "manifest.json").read_text())["datasets"]
    assert manifest["report_html"]["fingerprint"] == result["refs"]["report_html"].fingerprint

    with get_client(sync_client=True) as client:
        arts = {a.key: a for a in client.read_latest_artifacts() if a.key}
        runs = client.read_task_runs(task_run_filter=mine)
    assert arts["tiny-run-report-evaluate"].data.splitlines()[0] == SYNTHETIC_BANNER
    assert "Not run" in arts["tiny-run-report-session"].data
    # the report as the UI can show it: the answers (Markdown) and the file's path
    headline = arts["tiny-run-report-html"].data
    assert headline.splitlines()[0] == SYNTHETIC_BANNER and headline.count(SYNTHETIC_BANNER) == 1
    assert "RQ1." in headline and str(html) in headline and "file://" not in headline
    assert [r.state.name for r in runs if r.name.startswith("build-report")] == ["Completed"]

    # unchanged: served from cache; standalone (no stages given) re-renders the recorded run
    with tags(f"test-{tmp_path.name}"):
        again = report_flow("tiny", overrides, stages=stages, not_run=not_run)
        standalone = report_flow("tiny", overrides)
    assert again["refs"] == result["refs"]
    assert Path(standalone["refs"]["report_html"].path).read_text(encoding="utf-8") == page
    with get_client(sync_client=True) as client:
        states = sorted(
            r.state.name
            for r in client.read_task_runs(task_run_filter=mine)
            if r.name.startswith("build-report")
        )
    assert states == ["Cached", "Cached", "Completed"]


def test_report_flow_without_a_recorded_run(harness, config_env, tmp_path: Path) -> None:
    overrides = {"paths": {"data_dir": str(tmp_path / "empty")}}
    result = report_flow("tiny", overrides)
    page = Path(result["refs"]["report_html"].path).read_text(encoding="utf-8")
    # one section per stage but the report itself
    from moodrec.orchestration.config import STAGE_NAMES

    expected = len(STAGE_NAMES) - 1
    assert page.count("Not run: no pipeline run recorded in this data folder.") == expected
    assert result["synthetic"] is False and "SYNTHETIC" not in page
