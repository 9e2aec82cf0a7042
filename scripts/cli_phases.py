"""``moodrec`` with phase timers: where a CLI run's time goes (``scripts/bench_pipeline.py``).

    python scripts/cli_phases.py OUT.json run --profile demo -q

Runs the CLI's ``main()`` with the same arguments, as a new process, and writes to ``OUT.json``
the wall seconds since start, this process's CPU seconds and the temporary Prefect server's
CPU seconds at each phase: imports and config, the server's start (while the stage modules
load), the pipeline flow, draining Prefect's log and event workers, stopping the server,
and the interpreter's exit handlers. The time after the last mark (the interpreter tearing
down) is the caller's total minus it.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import sys
import time

T0 = time.perf_counter()


def main() -> None:
    out_path, *argv = sys.argv[1:]
    marks: list[dict[str, object]] = []
    server: dict[str, int | None] = {"pid": None}
    server_cpu_last = [0.0]

    def server_cpu() -> float:
        pid = server["pid"]
        if pid:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                server_cpu_last[0] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:  # stopped: its CPU is in RUSAGE_CHILDREN
                ru = resource.getrusage(resource.RUSAGE_CHILDREN)
                server_cpu_last[0] = max(server_cpu_last[0], ru.ru_utime + ru.ru_stime)
        return round(server_cpu_last[0], 3)

    def mark(name: str) -> None:
        marks.append(
            {
                "mark": name,
                "wall_s": round(time.perf_counter() - T0, 3),
                "cpu_s": round(time.process_time(), 3),
                "server_cpu_s": server_cpu(),
            }
        )

    import moodrec.flows.api_server as api

    start, wait, drain = api.TemporaryServer.start, api.TemporaryServer.wait_healthy, None

    def timed_start(self: api.TemporaryServer) -> api.TemporaryServer:
        mark("imports and config done: server start")
        result = start(self)
        server["pid"] = self.process.pid if self.process else None
        return result

    def timed_wait(self: api.TemporaryServer, *a: object, **k: object) -> None:
        mark("stage modules loaded: waiting for the server")
        wait(self, *a, **k)
        mark("server healthy: flow starts")

    drain = api.drain_prefect_workers

    def timed_drain(*a: object, **k: object) -> None:
        mark("flow returned: draining logs and events")
        drain(*a, **k)  # type: ignore[arg-type]
        mark("drained: server stops")

    api.TemporaryServer.start = timed_start  # type: ignore[method-assign]
    api.TemporaryServer.wait_healthy = timed_wait  # type: ignore[method-assign]
    api.drain_prefect_workers = timed_drain

    def write() -> None:
        mark("exit handlers done")
        with open(out_path, "w") as f:
            json.dump(marks, f, indent=2)

    atexit.register(write)  # registered first: runs after every later exit handler
    sys.argv = ["moodrec", *argv]
    from moodrec.cli import main as cli_main

    try:
        cli_main()
    finally:
        mark("command done: exit handlers")


if __name__ == "__main__":
    main()
