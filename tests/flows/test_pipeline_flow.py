"""End to end: the pipeline flow on the tiny sandbox under a real (temporary) Prefect API."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterParentTaskRunId,
)
from prefect.client.schemas.sorting import ArtifactSort

from moodrec.flows.pipeline import STAGE_FLOWS, pipeline_flow
from moodrec.orchestration.config import STAGE_NAMES
from moodrec.report.checkpoints import SYNTHETIC_BANNER
from tests.flows.conftest import TinyRun

pytestmark = pytest.mark.slow


def _task_states(flow_run_id) -> dict[str, list[str]]:
    """Task name → state names of every task run in the flow run and its subflows."""
    with get_client(sync_client=True) as client:
        runs = [flow_run_id]
        states: dict[str, list[str]] = {}
        while runs:
            fr = runs.pop()
            task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [fr]}))
            for tr in sorted(task_runs, key=lambda t: t.expected_start_time or t.created):
                states.setdefault(tr.name.rsplit("-", 1)[0], []).append(tr.state.name)
                children = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        parent_task_run_id=FlowRunFilterParentTaskRunId(any_=[tr.id])
                    )
                )
                runs.extend(c.id for c in children)
        return states


def _flow_run_tree(flow_run_id) -> list:
    """The ids of the flow run and of all its subflow runs."""
    with get_client(sync_client=True) as client:
        todo, found = [flow_run_id], []
        while todo:
            fr = todo.pop()
            found.append(fr)
            task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [fr]}))
            if task_runs:
                children = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        parent_task_run_id=FlowRunFilterParentTaskRunId(
                            any_=[t.id for t in task_runs]
                        )
                    )
                )
                todo.extend(c.id for c in children)
    return found


def _latest_artifacts(flow_run_ids: list) -> dict:
    """Key → the newest artifact of that key made by one of ``flow_run_ids``."""
    latest: dict = {}
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=flow_run_ids)
                ),
                sort=ArtifactSort.CREATED_DESC,
                offset=sum(len(v) for v in latest.values()),
                limit=100,
            )
            for a in page:
                latest.setdefault(a.key, []).append(a)
            if len(page) < 100:
                break
    return {key: arts[0] for key, arts in latest.items() if key}


def test_pipeline_runs_caches_and_publishes(tiny_run: TinyRun, config_env) -> None:
    # The session's shared run (tests/flows/conftest.py), re-run here in its own folder.
    # It has no injected service faults: a batch left with a key in error is (rightly) redone
    # by the next plain run (tests/flows/test_enrich_flow.py checks that), and this test
    # checks that an unchanged, fully settled run is served from the cache.
    assert tiny_run.overrides["enrich"] == {
        "sandbox_servers": {"error_rate": 0.0, "reset_rate": 0.0}
    }
    data_dir, overrides = tiny_run.data_dir, tiny_run.overrides
    results = tiny_run.results
    profile_report = results["profile"]["refs"]["profile_report"].path
    assert Path(profile_report).read_text().splitlines()[0] == SYNTHETIC_BANNER
    result = results["ingest"]
    refs = result["refs"]
    assert result["synthetic"] is True
    events = pd.read_parquet(refs["events"].path)
    world = json.loads((data_dir / "raw/sandbox/tiny-seed7/world.json").read_text())
    # every line of the generated log became an event (the sandbox writes no malformed lines)
    assert len(events) == refs["events"].rows == world["counts"]["events"]
    # the 30-minute gap rule recovers the planted sessions exactly
    assert refs["sessions"].rows == world["counts"]["sessions"]
    assert result["summary"]["events"] == len(events)
    manifest = json.loads((data_dir / "manifest.json").read_text())["datasets"]
    for name in ("events", "tracks", "artists", "users", "plays", "sessions", "rejects"):
        assert manifest[name]["fingerprint"] == refs[name].fingerprint
    first = _task_states(tiny_run.flow_run_id)
    # ingested once; the session stage's own ingest call is served from the cache
    assert sorted(first["ingest-lastfm1k"]) == ["Cached", "Completed"]
    # the world is generated once; later stages that read it get it from cache
    world_states = sorted(first["generate-sandbox-world"])
    assert world_states == ["Cached"] * (len(world_states) - 1) + ["Completed"]

    # unchanged re-run: every task is served from the cache, outputs untouched
    state2 = pipeline_flow(profile="tiny", overrides=overrides, return_state=True)
    second = _task_states(state2.state_details.flow_run_id)
    assert set(second["ingest-lastfm1k"]) == {"Cached"}
    assert set(second["generate-sandbox-world"]) == {"Cached"}
    not_cached = {
        name: states
        for name, states in second.items()
        # the subflow runs of the stages are recorded as task runs of their parent
        if name not in {*STAGE_FLOWS, "report"} and set(states) != {"Cached"}
    }
    assert not_cached == {}
    for name in ("enrich-batch", "enrich-probe", "publish-checkpoints", "register-raw-input"):
        assert second[name] and set(second[name]) == {"Cached"}, name
    assert second["build-report"] == ["Cached"]
    assert state2.result()["ingest"]["refs"] == refs

    # a deleted checkpoint is noticed: the stale cache hit is refreshed, the file comes back
    Path(refs["plays"].path).unlink()
    state3 = pipeline_flow(profile="tiny", overrides=overrides, return_state=True)
    third = _task_states(state3.state_details.flow_run_id)
    # the stale hit is refreshed once; the session stage's ingest call then hits the cache
    assert sorted(third["ingest-lastfm1k"]) == ["Cached", "Cached", "Completed"]
    assert Path(refs["plays"].path).is_file()
    assert state3.result()["ingest"]["refs"]["plays"].fingerprint == refs["plays"].fingerprint

    # artifacts with stable keys; the report says the data is synthetic in its first line
    # the latest of each key made by these three runs: the session's one Prefect API holds
    # other tests' too (runs of the tiny profile with other stages skipped among them)
    runs = [
        tiny_run.flow_run_id,
        state2.state_details.flow_run_id,
        state3.state_details.flow_run_id,
    ]
    arts = _latest_artifacts([fr for run in runs for fr in _flow_run_tree(run)])
    assert {"tiny-ingest-checkpoints", "tiny-ingest-summary", "tiny-ingest-report"} <= set(arts)
    report = arts["tiny-ingest-report"].data
    assert report.splitlines()[0] == SYNTHETIC_BANNER

    # the run report: one self-contained HTML file + one Markdown artifact per section
    html_path = Path(results["report"]["refs"]["report_html"].path)
    assert html_path == data_dir / "reports" / "report.html"
    page = html_path.read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in page.splitlines()[0]
    for stage in STAGE_FLOWS:
        assert f'<section id="{stage}">' in page
    assert "data:image/png;base64," in page  # the profile's figures are embedded
    assert "Plotly.newPlot" in page  # the topic map and song map are interactive
    assert results["report"]["summary"]["sections_run"] == list(STAGE_FLOWS)
    section = arts["tiny-run-report-topics"].data
    assert section.splitlines()[0] == SYNTHETIC_BANNER
    assert "tiny-run-report-html" in arts and "tiny-run-report-session" in arts
    # the stages after genres have their sections: model table with CIs, ablation, session
    evaluate = arts["tiny-run-report-evaluate"].data
    assert "ndcg@10" in evaluate and "[" in evaluate  # mean [CI low, CI high]
    ablation = arts["tiny-run-report-ablation"].data
    assert "cf+audio" in ablation and "cold slice" in ablation
    session = arts["tiny-run-report-session"].data
    assert "HR@10" in session and "mood" in session
    assert '<section id="session">' in page and "mood_timeline" in page

    # progress artifacts of the long work: the pipeline, enrichment, the topic sweep
    progress = {k: a for k, a in arts.items() if a.type == "progress"}
    assert {"tiny-pipeline-progress", "tiny-enrich-progress", "tiny-topics-sweep-progress"} <= set(
        progress
    )
    # every artifact key names its profile
    # (the session's one Prefect API also holds other tests' runs of other profiles)
    from moodrec.config.loader import available_profiles

    prefixes = tuple(f"{p}-" for p in available_profiles())
    with get_client(sync_client=True) as client:
        every = {a.key for a in client.read_latest_artifacts() if a.key}
    assert all(key.startswith(prefixes) for key in every), sorted(every)
    assert progress["tiny-pipeline-progress"].data == 100.0


def test_pipeline_skips_stages_and_reports_them(harness, config_env, tmp_path: Path) -> None:
    """Skipped stages do not run; the deployment form's ``skip`` field sets what is skipped."""
    overrides = {"paths": {"data_dir": str(tmp_path / "data")}}
    skipped = [s for s in STAGE_NAMES if s not in ("ingest", "report")]
    # the flat form field (the deployment's), as the UI sends it
    results = pipeline_flow(profile="tiny", overrides=overrides, skip=skipped)
    assert set(results) == {"ingest", "report"}
    page = Path(results["report"]["refs"]["report_html"].path).read_text(encoding="utf-8")
    assert page.count("Not run: skipped by orchestration.skip.") == len(skipped) == 10
    assert results["report"]["summary"]["sections_not_run"]["topics"] == (
        "skipped by orchestration.skip"
    )
