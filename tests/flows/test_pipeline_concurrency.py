"""Stages side by side (``orchestration.concurrent_stages``): the same outputs as one after
another, and a stage failing beside others fails the run, naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentTaskRunId

from moodrec import progress
from moodrec.config.loader import load_settings
from moodrec.errors import MoodrecError
from moodrec.flows.pipeline import STAGE_FLOWS, TIMINGS_FILE, pipeline_flow
from tests.flows.conftest import TinyRun
from tests.flows.test_kill_pipeline import FAST, _manifest, _tables

pytestmark = pytest.mark.slow


def _stage_subflows(flow_run_id: Any) -> set[str]:
    """Names of the flow runs whose parent task run belongs to ``flow_run_id``."""
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}))
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_task_run_id=FlowRunFilterParentTaskRunId(any_=[t.id for t in task_runs])
            )
        )
    with get_client(sync_client=True) as client:
        return {client.read_flow(c.flow_id).name for c in children}


def test_concurrent_and_sequential_stages_make_the_same_outputs(
    tiny_run: TinyRun, config_env, tmp_path: Path
) -> None:
    # side by side: the session's shared run (tests/flows/conftest.py), the default
    shared = load_settings("tiny", overrides=tiny_run.overrides)
    assert shared.orchestration.concurrent_stages is True
    side, side_flow_run_id = tiny_run.snapshot, tiny_run.flow_run_id
    # one after another: the same settings in a folder of its own
    seq = tmp_path / "sequential"
    overrides = {
        **tiny_run.overrides,
        "paths": {"data_dir": str(seq)},
        "orchestration": {"concurrent_stages": False},
    }
    assert pipeline_flow(profile="tiny", overrides=overrides, return_state=True).is_completed()
    # every stage ran as a subflow of the pipeline's run, from whichever thread
    assert _stage_subflows(side_flow_run_id) >= {*STAGE_FLOWS, "report"}
    # the same datasets, the same tables (timing columns aside)
    assert set(_manifest(side)) == set(_manifest(seq))
    got, want = _tables(side), _tables(seq)
    assert len(want) > 40
    for name, frame in want.items():
        pd.testing.assert_frame_equal(got[name], frame, obj=name)
    # per stage: wall and CPU seconds; neighbours named only where stages ran side by side
    for folder, concurrent in ((side, True), (seq, False)):
        timings = json.loads((folder / "reports" / TIMINGS_FILE).read_text())
        assert [t["stage"] for t in timings] == [*STAGE_FLOWS, "report"]
        for t in timings:
            assert {"wall_s", "cpu_s", "thread_cpu_s", "overlapped_with"} <= set(t)
            if not concurrent:
                assert t["overlapped_with"] == []
    # a stage never overlaps one it reads from (the report reads every stage)
    timings = {t["stage"]: t for t in json.loads((side / "reports" / TIMINGS_FILE).read_text())}
    assert timings["report"]["overlapped_with"] == []
    assert "ingest" not in {n for t in timings.values() for n in t["overlapped_with"]}
    assert "train" not in timings["evaluate"]["overlapped_with"]


@flow(name="session")
def failing_session_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict:
    """Stands in for the session stage: fails at once, while enrich runs beside it."""
    raise MoodrecError("session went wrong on purpose")


def test_a_stage_failing_beside_others_fails_the_run_naming_it(
    harness, config_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        STAGE_FLOWS, "session", "tests.flows.test_pipeline_concurrency:failing_session_flow"
    )
    overrides = {
        "paths": {"data_dir": str(tmp_path / "data")},
        **FAST,
        "orchestration": {
            # ingest, then profile, enrich and the failing session side by side
            "skip": ["content", "topics", "clusters", "genres", "train", "evaluate", "ablation"]
        },
    }
    seen: list[progress.ProgressEvent] = []
    with progress.listening(seen.append):
        state = pipeline_flow(profile="tiny", overrides=overrides, return_state=True)
    assert state.is_failed()
    with pytest.raises(MoodrecError, match="session went wrong on purpose") as caught:
        state.result()
    assert "(in the pipeline's session stage)" in (caught.value.__notes__ or [])
    last = {e.name: e.status for e in seen if e.kind == "stage"}
    assert last["session"] == "failed"
    # the stages running beside it ended before the run did; none started after it failed
    assert last["enrich"] in {"done", "failed"} and last["profile"] in {"done", "failed"}
    assert last["report"] == "waiting"
    assert not (tmp_path / "data" / "reports" / "report.html").exists()
