"""Kill the whole pipeline mid-run (SIGKILL), run it again: finished stages are not redone.

The killed run is a child process on the same Prefect API and result store as this test; it
is killed as soon as its genres stage has started (so ingest … clusters are finished and a
later stage is running). The re-run must serve every task of the finished
stages from the cache, leave their checkpoint files untouched, and end with the very
outputs of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterParentTaskRunId,
)
from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH

from moodrec.flows.pipeline import pipeline_flow

if TYPE_CHECKING:
    from tests.flows.conftest import TinyRun

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import json, sys
from moodrec.flows.pipeline import pipeline_flow
pipeline_flow("tiny", json.loads(sys.argv[1]))
"""
#: the stages done when the genres stage starts (the pipeline's order)
FINISHED = ("ingest", "profile", "enrich", "topics", "clusters")
#: a smaller tiny run, so that three pipeline runs fit in well under a minute
FAST: dict[str, Any] = {
    "topics": {
        "k_values": [3, 4],
        "alphas": ["symmetric"],
        "etas": ["symmetric"],
        "passes": 2,
        "iterations": 20,
        "n_sweep_tasks": 2,
    },
    "clustering": {"methods": ["kmeans", "gmm"], "k_max": 6, "bootstrap_rounds": 2},
    "genres": {"song_map_method": "pca"},
    "recommend": {
        "models": ["popularity", "ease"],
        "serve_model": "ease",
        "n_bootstrap": 100,
        "deep": {
            "ablation": {
                "variants": {"cf": [], "cf+audio": ["audio"]},
                "content_models": [],
                "reference_models": ["ials"],
                "spaces": {"ials": {"reg": [30.0]}},
                "n_bootstrap": 100,
                "plot": False,
            }
        },
    },
    "session": {"models": ["pop", "sknn", "mood"], "window_quantiles": [], "bootstrap_rounds": 50},
    # No injected service faults: a batch left with a key in error is (rightly) redone by the
    # next run (tests/flows/test_enrich_flow.py checks that), and these tests check that a
    # settled stage is served from the cache; on a loaded machine a retried fault can end in
    # error and make that a coin toss.
    "enrich": {"sandbox_servers": {"error_rate": 0.0, "reset_rate": 0.0}},
}
#: columns that hold wall-clock measurements (they differ between any two runs)
TIMING_COLUMNS = re.compile(r"(seconds|_s)$|ms[_/]?(per_)?call")


def _states_by_stage(flow_run_id: Any) -> dict[str, dict[str, list[str]]]:
    """Stage (subflow) name → task name → the state names of its task runs."""
    out: dict[str, dict[str, list[str]]] = {}
    with get_client(sync_client=True) as client:
        todo = [(flow_run_id, "pipeline")]
        while todo:
            run_id, stage = todo.pop()
            for tr in client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [run_id]})):
                name = tr.name.rsplit("-", 1)[0]
                children = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        parent_task_run_id=FlowRunFilterParentTaskRunId(any_=[tr.id])
                    )
                )
                if children:
                    todo.extend((c.id, name) for c in children)
                else:
                    out.setdefault(stage, {}).setdefault(name, []).append(tr.state.name)
    return out


def _genres_runs() -> int:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["genres"])))
    return len(runs)


def _manifest(data_dir: Path) -> dict[str, dict[str, Any]]:
    path = data_dir / "manifest.json"
    return json.loads(path.read_text())["datasets"] if path.is_file() else {}


def _tables(data_dir: Path) -> dict[str, pd.DataFrame]:
    """Every Parquet checkpoint on record, without its timing columns.

    Only tables are compared: HTML figures carry random element ids, Markdown reports and
    pickled models record seconds or memory addresses; their data is in these tables.
    """
    out = {}
    for name, entry in _manifest(data_dir).items():
        if entry["path"].endswith(".parquet"):
            frame = pd.read_parquet(data_dir / entry["path"])
            out[name] = frame.drop(columns=[c for c in frame.columns if TIMING_COLUMNS.search(c)])
    return out


def test_killed_run_resumes_from_checkpoints(tiny_run: TinyRun, config_env, tmp_path: Path) -> None:
    # the uninterrupted run to compare with: the session's shared run (tests/flows/conftest.py)
    reference = tiny_run.snapshot
    n_genres = _genres_runs()

    data_dir = tmp_path / "killed"
    # one stage after another, so that the stages before genres (FINISHED) are the ones
    # done when it starts (side by side, enrich and session need not wait for genres)
    overrides = {
        "paths": {"data_dir": str(data_dir)},
        **FAST,
        "orchestration": {"concurrent_stages": False},
    }
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_LOCAL_STORAGE_PATH": str(PREFECT_LOCAL_STORAGE_PATH.value()),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(overrides)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while _genres_runs() == n_genres and time.monotonic() < deadline:
            assert proc.poll() is None, "the pipeline ended before it could be killed"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -9
    assert not (data_dir / "reports/report.html").exists(), "killed after the end"
    done = {
        name: (Path(e["path"]), e["fingerprint"])
        for name, e in _manifest(data_dir).items()
        if name not in ("pipeline_results",)
    }
    mtimes = {name: (data_dir / p).stat().st_mtime_ns for name, (p, _) in done.items()}

    state = pipeline_flow(profile="tiny", overrides=overrides, return_state=True)
    assert state.is_completed()
    states = _states_by_stage(state.state_details.flow_run_id)
    for stage in FINISHED:
        tasks = states[stage]
        assert tasks and all(set(s) == {"Cached"} for s in tasks.values()), (stage, tasks)
    # a stage after the kill did run
    assert any("Completed" in s for s in states["session"].values()), states["session"]
    # checkpoints written before the kill were neither rewritten nor changed
    after = _manifest(data_dir)
    for name, (path, fingerprint) in done.items():
        assert (data_dir / path).stat().st_mtime_ns == mtimes[name], name
        assert after[name]["fingerprint"] == fingerprint, name
    # and the run ends with the outputs of the uninterrupted one
    assert set(_manifest(data_dir)) == set(_manifest(reference))
    got, want = _tables(data_dir), _tables(reference)
    assert len(want) > 40
    for name, frame in want.items():
        pd.testing.assert_frame_equal(got[name], frame, obj=name)
