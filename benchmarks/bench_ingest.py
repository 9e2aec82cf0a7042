"""Ingest speed benchmark: moodrec's ``ingest_lastfm1k`` vs a pandas parse-only baseline.

Run ``python -m benchmarks.bench_ingest [--rows N] [--out benchmarks/results/ingest.json]``.

Input: the sandbox ``large`` world's log (19,150,868 rows; generated once into
``data/bench/large-0`` and reused when its ``world.json`` exists). ``--rows N`` takes the
first N lines of that log instead (or, with ``--synthetic``, a quick synthetic log from
:mod:`benchmarks.synthetic_log`, which needs no sandbox world).

Each contender runs in its own fresh subprocess, so peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss`` of that process) is per run. Targets: moodrec
≥ 2.5× faster than ``pandas.read_csv(..., quoting=QUOTE_NONE, dtype=str)``, ≤ 20 s and
≤ 3 GB peak RSS on the full file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from moodrec.storage import write_json_atomic, write_text_atomic

REPO = Path(__file__).resolve().parents[1]
WORLD_DIR = REPO / "data" / "bench" / "large-0"
TARGET_RATIO = 2.5
TARGET_WALL_S = 20.0
TARGET_RSS_GB = 3.0
FULL_ROWS = 19_150_868

# Each worker prints one JSON line: {"wall_s", "rows", "peak_rss_bytes", ...}.
_PANDAS_WORKER = """
import csv, json, resource, sys, time
import pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1], sep="\\t", header=None, quoting=csv.QUOTE_NONE, dtype=str)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"wall_s": wall, "rows": len(df), "peak_rss_bytes": rss}))
"""

_MOODREC_WORKER = """
import json, resource, sys, time
from pathlib import Path
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import ingest_lastfm1k
t = time.perf_counter()
r = ingest_lastfm1k(Path(sys.argv[1]), Path(sys.argv[2]), IngestConfig())
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"wall_s": wall, "rows": r.n_events, "peak_rss_bytes": rss,
                  "n_lines": r.n_lines, "n_rejected": r.n_rejected, "n_tracks": r.n_tracks,
                  "n_artists": r.n_artists, "n_sessions": r.n_sessions}))
"""


def large_world_log() -> Path:
    """The sandbox ``large`` world's log, generated once (minutes) and then reused."""
    from moodrec.sandbox.config import SandboxConfig
    from moodrec.sandbox.world import LOG_FILENAME, WORLD_FILENAME, generate_world

    log = WORLD_DIR / LOG_FILENAME
    if (WORLD_DIR / WORLD_FILENAME).is_file() and log.is_file():
        return log
    return generate_world(SandboxConfig(profile="large", seed=0), WORLD_DIR).log_path


def head_lines(src: Path, dst: Path, rows: int) -> Path:
    """Copy the first ``rows`` lines of ``src`` to ``dst``."""
    with src.open("rb") as fin, dst.open("wb") as fout:
        for i, line in enumerate(fin):
            if i >= rows:
                break
            fout.write(line)
    return dst


def _run_worker(code: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions() -> dict[str, str]:
    import numpy
    import pandas
    import polars
    import pyarrow

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "polars": polars.__version__,
        "pyarrow": pyarrow.__version__,
    }


def run_benchmark(log: Path, source: str) -> dict[str, Any]:
    """Run both contenders on ``log`` (baseline first) and return the results record."""
    size = log.stat().st_size
    load_before = os.getloadavg()[0]
    baseline = _run_worker(_PANDAS_WORKER, str(log))
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        moodrec = _run_worker(_MOODREC_WORKER, str(log), tmp)
    for r in (baseline, moodrec):
        r["rows_per_s"] = r["rows"] / r["wall_s"]
        r["peak_rss_gb"] = r["peak_rss_bytes"] / 1e9
    load_after = os.getloadavg()[0]
    ratio = baseline["wall_s"] / moodrec["wall_s"]
    full = moodrec["n_lines"] >= FULL_ROWS
    return {
        "benchmark": "ingest",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "input": {"path": str(log), "source": source, "bytes": size, "lines": moodrec["n_lines"]},
        "machine": {
            "cores": os.cpu_count(),
            "cpu": _cpu_model(),
            "platform": platform.platform(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
            # 1-minute load average: other work on a shared box skews both timings
            "load_1min_before": round(load_before, 2),
            "load_1min_after": round(load_after, 2),
        },
        "versions": _versions(),
        "baseline_pandas_read_csv": baseline,
        "moodrec_ingest": moodrec,
        "speed_ratio": ratio,
        "targets": {
            "full_size_input": full,
            "ratio_ge_2_5": ratio >= TARGET_RATIO,
            "wall_le_20s": moodrec["wall_s"] <= TARGET_WALL_S,
            "peak_rss_le_3gb": moodrec["peak_rss_gb"] <= TARGET_RSS_GB,
        },
    }


def to_markdown(res: dict[str, Any]) -> str:
    """A short Markdown table of a results record."""
    b, m = res["baseline_pandas_read_csv"], res["moodrec_ingest"]
    t = res["targets"]
    rows = [
        "# Ingest benchmark",
        "",
        f"Input: `{res['input']['path']}` ({res['input']['source']}, "
        f"{res['input']['lines']:,} lines, {res['input']['bytes'] / 1e9:.2f} GB). "
        f"Machine: {res['machine']['cores']} cores, {res['machine']['cpu']} "
        f"(1-min load {res['machine']['load_1min_before']} before, "
        f"{res['machine']['load_1min_after']} after).",
        "",
        "| run | wall s | rows/s | peak RSS GB |",
        "|---|---:|---:|---:|",
        f"| pandas read_csv (parse only) | {b['wall_s']:.1f} | {b['rows_per_s']:,.0f} "
        f"| {b['peak_rss_gb']:.2f} |",
        f"| moodrec ingest (end to end) | {m['wall_s']:.1f} | {m['rows_per_s']:,.0f} "
        f"| {m['peak_rss_gb']:.2f} |",
        "",
        f"Speed ratio: **{res['speed_ratio']:.2f}×**. Targets: ratio ≥ 2.5 "
        f"{'met' if t['ratio_ge_2_5'] else 'NOT met'}; ≤ 20 s "
        f"{'met' if t['wall_le_20s'] else 'NOT met'}; ≤ 3 GB "
        f"{'met' if t['peak_rss_le_3gb'] else 'NOT met'}"
        f"{'' if t['full_size_input'] else ' (not a full-size input)'}.",
        "",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line entry point; returns the results record."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=None, help="first N lines only (quick run)")
    ap.add_argument("--synthetic", action="store_true", help="synthetic log, no sandbox world")
    ap.add_argument("--log", type=Path, default=None, help="benchmark this log file instead")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "ingest.json")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_input_") as tmp:
        if args.log is not None:
            log, source = args.log, "given file"
            if args.rows:
                log = head_lines(args.log, Path(tmp) / "head.tsv", args.rows)
        elif args.synthetic:
            from benchmarks.synthetic_log import write_synthetic_log

            rows = args.rows or FULL_ROWS
            log = write_synthetic_log(Path(tmp) / "synthetic.tsv", rows, seed=0)
            source = "benchmarks.synthetic_log"
        else:
            log, source = large_world_log(), "sandbox large world (seed 0)"
            if args.rows:
                log = head_lines(log, Path(tmp) / "head.tsv", args.rows)
        res = run_benchmark(log, source)
    write_json_atomic(args.out, res)
    write_text_atomic(args.out.with_suffix(".md"), to_markdown(res))
    print(to_markdown(res))
    return res


if __name__ == "__main__":
    main()
