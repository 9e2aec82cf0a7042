"""Trigger the pipeline deployment through the Prefect API as the UI does, and check it.

Used by ``scripts/integration.sh`` once the server, the work pool, the deployments and a
worker are up (``PREFECT_API_URL`` set). The UI's "Run" button posts to
``/deployments/{id}/create_flow_run``; so does ``create_flow_run_from_deployment`` here.
Exit status 0 only when the run completed, the report exists (banner first when the data
is synthetic) and the report's artifacts were published with their stable keys.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.settings import PREFECT_API_URL

DEPLOYMENT = "moodrec-pipeline/moodrec-pipeline"


def main() -> int:
    """Trigger, wait, check; write what the screenshots need to ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="tiny")
    ap.add_argument("--data-dir", required=True, help="data folder of the triggered run")
    ap.add_argument("--timeout", type=float, default=420.0)
    ap.add_argument("--out", required=True, help="JSON file: ids and URLs of the run")
    args = ap.parse_args()

    params = {"profile": args.profile, "overrides": {"paths": {"data_dir": args.data_dir}}}
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        run = client.create_flow_run_from_deployment(deployment.id, parameters=params)
        print(f"flow run {run.name} ({run.id}) of {DEPLOYMENT}", flush=True)
        deadline = time.monotonic() + args.timeout
        state_name = ""
        while True:
            run = client.read_flow_run(run.id)
            if run.state and run.state.name != state_name:
                state_name = run.state.name
                print(f"  state: {state_name}", flush=True)
            if run.state and run.state.is_final():
                break
            if time.monotonic() > deadline:
                print(f"FAIL: not finished after {args.timeout:.0f} s", file=sys.stderr)
                return 1
            time.sleep(2)
        if not run.state.is_completed():
            print(f"FAIL: run ended {run.state.name}: {run.state.message}", file=sys.stderr)
            return 1
        keys = [f"{args.profile}-run-report-html", f"{args.profile}-run-report-topics"]
        arts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys))
        )
        found = {a.key for a in arts}
        section_id = next((str(a.id) for a in arts if a.key == keys[1]), "")
        if found != set(keys):
            print(f"FAIL: artifacts missing: {sorted(set(keys) - found)}", file=sys.stderr)
            return 1
        n_artifacts = len(client.read_artifacts())

    report = Path(args.data_dir) / "reports" / "report.html"
    if not report.is_file():
        print(f"FAIL: {report} was not written", file=sys.stderr)
        return 1
    first = report.read_text(encoding="utf-8").splitlines()[0]
    if "SYNTHETIC" not in first:
        print(f"FAIL: first line of {report} lacks the synthetic-data banner", file=sys.stderr)
        return 1
    api = PREFECT_API_URL.value()
    ui = api.removesuffix("/api")
    info = {
        "api_url": api,
        "ui_url": ui,
        "deployment_id": str(deployment.id),
        "flow_run_id": str(run.id),
        "flow_run_name": run.name,
        "report": str(report),
        "artifacts": n_artifacts,
        "report_artifact_key": keys[1],
        "report_artifact_id": section_id,
        "run_seconds": run.total_run_time.total_seconds(),
    }
    Path(args.out).write_text(json.dumps(info, indent=2))
    print(f"OK: {run.name} completed in {info['run_seconds']:.0f} s; {n_artifacts} artifacts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
