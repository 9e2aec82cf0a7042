"""Time the whole pipeline: a first run into a fresh data folder, then unchanged re-runs.

Writes ``benchmarks/results/pipeline.{json,md}`` with the wall time of every run, the task
states of the last re-run (every checkpoint task should be ``Cached``) and the machine's load.

    .venv/bin/python scripts/bench_pipeline.py --profile demo --reruns 1
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path("benchmarks/results")


def _task_states(flow_run_id: object) -> dict[str, int]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentTaskRunId

    counts: collections.Counter[str] = collections.Counter()
    with get_client(sync_client=True) as client:
        todo = [flow_run_id]
        while todo:
            fr = todo.pop()
            for tr in client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [fr]})):
                counts[f"{tr.name.rsplit('-', 1)[0]}: {tr.state.name}"] += 1
                children = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        parent_task_run_id=FlowRunFilterParentTaskRunId(any_=[tr.id])
                    )
                )
                todo.extend(c.id for c in children)
    return dict(sorted(counts.items()))


def main() -> int:
    """Run the pipeline ``1 + reruns`` times and write the results files."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--reruns", type=int, default=1)
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from moodrec.flows.pipeline import pipeline_flow

    work = Path(tempfile.mkdtemp(prefix="moodrec-bench-"))
    overrides = {"paths": {"data_dir": str(work / "data")}}
    load_before = os.getloadavg()
    runs = []
    states: dict[str, int] = {}
    try:
        for i in range(1 + args.reruns):
            t0 = time.perf_counter()
            state = pipeline_flow(args.profile, overrides, return_state=True)
            seconds = time.perf_counter() - t0
            if not state.is_completed():
                print(f"run {i} ended {state.name}", file=sys.stderr)
                return 1
            runs.append({"run": "first" if i == 0 else f"re-run {i}", "seconds": round(seconds, 1)})
            print(runs[-1], flush=True)
            if i == args.reruns:
                states = _task_states(state.state_details.flow_run_id)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "profile": args.profile,
        "runs": runs,
        "last_rerun_task_states": states,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pipeline.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Pipeline timing: profile `{args.profile}`",
        "",
        f"{result['machine']['cpus']} CPUs, load average before "
        f"{result['machine']['loadavg_before']}, after {result['machine']['loadavg_after']} "
        "(other jobs share the machine).",
        "",
        "| run | seconds |",
        "|---|---|",
        *[f"| {r['run']} | {r['seconds']} |" for r in runs],
        "",
        "Task states of the last re-run:",
        "",
        "| task: state | count |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in states.items()],
    ]
    (RESULTS / "pipeline.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
