"""Time the whole pipeline: a first run into a fresh data folder, then unchanged re-runs.

Writes ``benchmarks/results/pipeline.{json,md}`` with the wall and CPU time of every run and
of every stage in it (the pipeline's ``reports/pipeline_timings.json``), the number of task
runs, the task states of the last re-run (every task should be ``Cached``) and the machine's
load (other jobs may share it: CPU seconds are what an idle machine would mostly spend).

    .venv/bin/python scripts/bench_pipeline.py --profile demo --reruns 1 [--cli]

The in-process runs talk to the same kind of temporary Prefect server as the CLI
(``moodrec.flows.api_server.prefect_api``) unless ``PREFECT_API_URL`` is set.

``--cli`` also times the command a user types, ``moodrec run --profile <profile>``, in a
fresh data folder and ``--cli-reruns`` times more unchanged (each a new process: imports, a
temporary Prefect server, the run, shutdown), with the wall time and the CPU time of the
process and its children, then one more unchanged re-run through ``scripts/cli_phases.py``
for where its time goes (imports, server start, flow, drain, stop, exit). ``--cli-only``
leaves out the in-process runs. The package is byte-compiled first, as an installed one is
(a checkout run with ``PYTHONDONTWRITEBYTECODE`` would compile every module each run).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path("benchmarks/results")
#: the hand-written part of ``pipeline.md`` starts here; a new run keeps it
NOTES_HEADING = "## Notes"


def _task_states(
    flow_run_id: object, settle_s: float = 1.5, timeout_s: float = 60
) -> dict[str, int]:
    """Task run name: state → count under ``flow_run_id`` and its subflows, read again until
    two reads ``settle_s`` apart agree: the server records task runs from the client's events
    in batches (every second, ``flows/api_server.py``), so the last ones land just after the
    run."""
    deadline = time.monotonic() + timeout_s
    states = _read_task_states(flow_run_id)
    while time.monotonic() < deadline:
        time.sleep(settle_s)
        again = _read_task_states(flow_run_id)
        if again == states:
            break
        states = again
    return states


def _read_task_states(flow_run_id: object) -> dict[str, int]:
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


def _cli_runs(
    profile: str, work: Path, reruns: int
) -> tuple[list[dict[str, object]], list[dict[str, Any]]]:
    """Wall and CPU seconds (children: the CLI and its Prefect server) of a first CLI run
    and ``reruns`` unchanged ones; the phases of one more unchanged re-run."""
    # no PREFECT_API_URL: the CLI starts its own temporary server, as on a fresh clone
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["MOODREC_PATHS__DATA_DIR"] = str(work / "cli-data")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user's interpreter: .pyc files are used
    phases_file = work / "cli-phases.json"
    moodrec = [sys.executable, "-m", "moodrec.cli"]
    phased = [sys.executable, str(Path(__file__).with_name("cli_phases.py")), str(phases_file)]
    runs = []
    todo = [("cli first", moodrec), *((f"cli re-run {i + 1}", moodrec) for i in range(reruns))]
    todo.append(("cli re-run, phases timed", phased))
    for name, command in todo:
        load = os.getloadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(
            [*command, "run", "--profile", profile, "--quiet"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        runs.append(
            {
                "run": name,
                "seconds": round(time.perf_counter() - t0, 2),
                "cpu_seconds": round(cpu, 2),
                "loadavg_before": [round(x, 2) for x in load],
            }
        )
        print(runs[-1], flush=True)
    phases = json.loads(phases_file.read_text())
    phases.append(
        {
            "mark": "process exited (interpreter teardown)",
            "wall_s": runs[-1]["seconds"],
            "cpu_s": None,
            "server_cpu_s": None,
        }
    )
    return runs, phases


def _phase_rows(phases: list[dict[str, Any]], total_cpu: float) -> list[str]:
    """Markdown rows: each phase's wall seconds, the command's and the server's CPU."""
    rows = []
    prev = {"wall_s": 0.0, "cpu_s": 0.0, "server_cpu_s": 0.0}
    for ph in phases:
        wall = ph["wall_s"] - prev["wall_s"]
        if ph["cpu_s"] is None:  # teardown: whatever CPU the process spent after the marks
            last_cpu = prev["cpu_s"] + prev["server_cpu_s"]
            rows.append(f"| {ph['mark']} | {wall:.2f} | {max(0.0, total_cpu - last_cpu):.2f} | — |")
            continue
        cpu = ph["cpu_s"] - prev["cpu_s"]
        server = ph["server_cpu_s"] - prev["server_cpu_s"]
        rows.append(f"| {ph['mark']} | {wall:.2f} | {cpu:.2f} | {server:.2f} |")
        prev = ph
    return rows


def _inprocess_runs(
    profile: str, reruns: int, work: Path
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """A first pipeline run into ``work/data`` and ``reruns`` unchanged ones, in this process;
    the task states of the last one."""
    from moodrec.flows.pipeline import pipeline_flow

    overrides = {"paths": {"data_dir": str(work / "data")}}
    runs: list[dict[str, Any]] = []
    states: dict[str, int] = {}
    for i in range(1 + reruns):
        t0, c0 = time.perf_counter(), time.process_time()
        load = os.getloadavg()
        state = pipeline_flow(profile, overrides, return_state=True)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if not state.is_completed():
            print(f"run {i} ended {state.name}", file=sys.stderr)
            raise SystemExit(1)
        run_states = _task_states(state.state_details.flow_run_id)
        timings = json.loads((work / "data/reports/pipeline_timings.json").read_text())
        runs.append(
            {
                "run": "first" if i == 0 else f"re-run {i}",
                "seconds": round(seconds, 1),
                "cpu_seconds": round(cpu, 1),
                "loadavg_before": [round(x, 2) for x in load],
                "task_runs": sum(run_states.values()),
                "stages": {
                    t["stage"]: {"wall_s": t["wall_s"], "cpu_s": t["cpu_s"]} for t in timings
                },
            }
        )
        print({k: v for k, v in runs[-1].items() if k != "stages"}, flush=True)
        if i == reruns:
            states = run_states
    return runs, states


def main() -> int:
    """Run the pipeline ``1 + reruns`` times and write the results files."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--reruns", type=int, default=1)
    ap.add_argument("--cli", action="store_true", help="also time `moodrec run`")
    ap.add_argument("--cli-reruns", type=int, default=1, help="unchanged CLI re-runs")
    ap.add_argument("--cli-only", action="store_true", help="no in-process runs")
    args = ap.parse_args()
    import moodrec

    # as installed: byte-compiled (the CLI runs then read .pyc files, not the sources)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(moodrec.__file__).parent)],
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from moodrec.flows.api_server import prefect_api

    work = Path(tempfile.mkdtemp(prefix="moodrec-bench-"))
    load_before = os.getloadavg()
    cli: list[dict[str, object]] = []
    phases: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    states: dict[str, int] = {}
    try:
        if not args.cli_only:
            with prefect_api():
                runs, states = _inprocess_runs(args.profile, args.reruns, work)
        if args.cli or args.cli_only:
            cli, phases = _cli_runs(args.profile, work, args.cli_reruns)
            cli_timings = work / "cli-data/reports/pipeline_timings.json"
            stages = json.loads(cli_timings.read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "profile": args.profile,
        "runs": runs,
        "last_rerun_task_states": states,
        "cli_runs": cli,
        "cli_rerun_phases": phases,
        "cli_rerun_stages": stages,
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
        "(other jobs share the machine: wall seconds grow with the load, CPU seconds are what "
        "an idle machine would mostly spend).",
        "",
    ]
    if runs:
        lines += [
            "In this process (against a temporary server it started once):",
            "",
            "| run | wall s | CPU s (this process) | task runs | load before |",
            "|---|---|---|---|---|",
            *[
                f"| {r['run']} | {r['seconds']} | {r['cpu_seconds']} | {r['task_runs']} "
                f"| {r['loadavg_before']} |"
                for r in runs
            ],
            "",
        ]
    if cli:
        lines += [
            "`moodrec run --profile " + args.profile + " --quiet` as a user types it (a new "
            "process each time: imports, a temporary Prefect server, the run, shutdown; CPU of "
            "the process and its server):",
            "",
            "| run | wall s | CPU s | load before |",
            "|---|---|---|---|",
            *[
                f"| {r['run']} | {r['seconds']} | {r['cpu_seconds']} | {r['loadavg_before']} |"
                for r in cli
            ],
            "",
            "Where the last (phases timed) re-run's time went (wall s; CPU s of the command "
            "and of its Prefect server):",
            "",
            "| phase ends at | wall s | command CPU s | server CPU s |",
            "|---|---|---|---|",
            *_phase_rows(phases, float(cli[-1]["cpu_seconds"])),  # type: ignore[arg-type]
            "",
            "Its stages (wall s / CPU s, `reports/pipeline_timings.json`):",
            "",
            "| stage | wall s | CPU s |",
            "|---|---|---|",
            *[f"| {t['stage']} | {t['wall_s']} | {t['cpu_s']} |" for t in stages],
            "",
        ]
    if runs:
        lines += [
            "Per stage in this process (wall s / CPU s; the run total also holds Prefect's "
            "start-up):",
            "",
            "| stage | " + " | ".join(r["run"] for r in runs) + " |",
            "|---|" + "---|" * len(runs),
            *[
                f"| {stage} | "
                + " | ".join(
                    f"{r['stages'][stage]['wall_s']} / {r['stages'][stage]['cpu_s']}"
                    if stage in r["stages"]
                    else "—"
                    for r in runs
                )
                + " |"
                for stage in dict.fromkeys(s for r in runs for s in r["stages"])
            ],
            "",
            "Task states of the last re-run:",
            "",
            "| task: state | count |",
            "|---|---|",
            *[f"| {k} | {v} |" for k, v in states.items()],
        ]
    out = RESULTS / "pipeline.md"
    # hand-written analysis below the tables (from NOTES_HEADING on) is kept
    old = out.read_text() if out.is_file() else ""
    notes = old[old.index(NOTES_HEADING) :] if NOTES_HEADING in old else ""
    out.write_text("\n".join(lines) + "\n" + (f"\n{notes}" if notes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
