"""Ingest speed benchmark: moodrec's ``ingest_lastfm1k`` vs a pandas parse-only baseline.

Run ``python -m benchmarks.bench_ingest [--rows 3000000] [--repeat 2] [--cases ...]`` for
the order cases, or ``--log FILE`` / ``--sandbox`` for one given file / the sandbox
``large`` world's log.

Cases (``--rows`` lines each, generated into a temporary folder; ``--cases`` picks some):

``real-order``    :mod:`benchmarks.synthetic_log`: grouped by user, newest first, as in
                  the real Last.fm 1K file;
``unsorted``      the same rows shuffled (merged logs, exports concatenated);
``merged-real``   :mod:`benchmarks.realformat_log`: the real file's names, MBIDs and
                  quirks recombined to realistic cardinalities, in time order across users
                  (a generator other than the sandbox's and the synthetic one);
``byuser-real``   the realformat rows grouped by user, newest first (the official order);
``shuffled-real`` the realformat rows in random order.

Only the full-size realformat case (19,150,868 rows, ~2.8 GB; minutes, needs ~6 GB free
in the temporary folder and is best run on a quiet machine; add ``--out
benchmarks/results/ingest_full.json`` to keep the 3M-row results file)::

    python -m benchmarks.bench_ingest --cases merged-real --rows 19150868 --repeat 1

Each contender runs in its own fresh subprocess (peak RSS per run, its own ``VmHWM``),
pandas and moodrec alternating, ``--repeat`` rounds; the best wall time of each is
compared, so both face the same machine load (recorded, 1-minute average, before and
after each case; the machine is shared). CPU seconds (user + system, all threads, after
the imports) are recorded too: on a busy machine their ratio is the steadier number. The
full-size (19,150,868-row) wall time is **extrapolated** linearly from the measured size
when the input is smaller, and labelled so. Targets: moodrec ≥ 2.5× faster than
``pandas.read_csv(..., quoting=QUOTE_NONE, dtype=str)`` on every case, ≤ 20 s and ≤ 3 GB
peak RSS on the full file.
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
# Peak RSS is the process's own high-water mark (``VmHWM``): ``ru_maxrss`` of a child
# started by fork + exec starts from the parent's peak (Linux keeps it across exec), so it
# reported the benchmark driver's memory (the generated inputs), not the worker's.
_PEAK_RSS = """
def peak_rss_bytes():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""

_PANDAS_WORKER = (
    """
import csv, json, resource, sys, time
import pandas as pd
"""
    + _PEAK_RSS
    + """
ru0 = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
df = pd.read_csv(sys.argv[1], sep="\\t", header=None, quoting=csv.QUOTE_NONE, dtype=str)
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall_s": wall, "rows": len(df), "peak_rss_bytes": peak_rss_bytes(),
                  "cpu_s": ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime}))
"""
)

_MOODREC_WORKER = (
    """
import json, resource, sys, time
from pathlib import Path
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import ingest_lastfm1k
"""
    + _PEAK_RSS
    + """
ru0 = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
r = ingest_lastfm1k(Path(sys.argv[1]), Path(sys.argv[2]), IngestConfig())
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall_s": wall, "rows": r.n_events, "peak_rss_bytes": peak_rss_bytes(),
                  "cpu_s": ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime,
                  "n_lines": r.n_lines, "n_rejected": r.n_rejected, "n_tracks": r.n_tracks,
                  "n_artists": r.n_artists, "n_sessions": r.n_sessions}))
"""
)


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


def _run_worker(code: str, *args: str, src: Path | None = None) -> dict[str, Any]:
    src = REPO / "src" if src is None else src
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(REPO)])}
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


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of ``runs`` plus every wall time (the best is the least disturbed)."""
    best = dict(min(runs, key=lambda r: r["wall_s"]))
    best["all_wall_s"] = [round(r["wall_s"], 2) for r in runs]
    best["rows_per_s"] = best["rows"] / best["wall_s"]
    best["peak_rss_gb"] = max(r["peak_rss_bytes"] for r in runs) / 1e9
    return best


def run_case(
    name: str, log: Path, source: str, repeat: int, compare_src: Path | None = None
) -> dict[str, Any]:
    """Run pandas and moodrec alternately ``repeat`` times on ``log``; best of each.

    With ``compare_src`` (another checkout's ``src``, e.g. the code before a change) its
    moodrec runs in the same rotation, so before and after face the same load.
    """
    size = log.stat().st_size
    load_before = os.getloadavg()[0]
    pandas_runs, moodrec_runs, compare_runs = [], [], []
    for _ in range(repeat):
        pandas_runs.append(_run_worker(_PANDAS_WORKER, str(log)))
        with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
            moodrec_runs.append(_run_worker(_MOODREC_WORKER, str(log), tmp))
        if compare_src is not None:
            with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
                compare_runs.append(_run_worker(_MOODREC_WORKER, str(log), tmp, src=compare_src))
    baseline, moodrec = _best(pandas_runs), _best(moodrec_runs)
    ratio = baseline["wall_s"] / moodrec["wall_s"]
    full = moodrec["n_lines"] >= FULL_ROWS
    scale = FULL_ROWS / moodrec["n_lines"]
    extra = {}
    if compare_runs:
        other = _best(compare_runs)
        extra["compare"] = {
            "src": str(compare_src),
            "moodrec_ingest": other,
            "speed_ratio": baseline["wall_s"] / other["wall_s"],
            "cpu_ratio": baseline["cpu_s"] / other["cpu_s"],
        }
    return {
        **extra,
        "case": name,
        "input": {"path": str(log), "source": source, "bytes": size, "lines": moodrec["n_lines"]},
        "load_1min_before": round(load_before, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
        "baseline_pandas_read_csv": baseline,
        "moodrec_ingest": moodrec,
        "speed_ratio": ratio,
        "cpu_ratio": baseline["cpu_s"] / moodrec["cpu_s"],
        "full_size_wall_s": moodrec["wall_s"] if full else None,
        "extrapolated_full_size_wall_s": None if full else round(moodrec["wall_s"] * scale, 1),
        "targets": {
            "full_size_input": full,
            "ratio_ge_2_5": ratio >= TARGET_RATIO,
            "wall_le_20s": (moodrec["wall_s"] if full else moodrec["wall_s"] * scale)
            <= TARGET_WALL_S,
            "peak_rss_le_3gb": moodrec["peak_rss_gb"] <= TARGET_RSS_GB,
        },
    }


def run_benchmark(
    cases: list[tuple[str, Path, str]], repeat: int, compare_src: Path | None = None
) -> dict[str, Any]:
    """Every case side by side, with the machine and library versions."""
    return {
        "benchmark": "ingest",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cores": os.cpu_count(),
            "cpu": _cpu_model(),
            "platform": platform.platform(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        },
        "versions": _versions(),
        "repeat": repeat,
        "cases": [run_case(name, log, source, repeat, compare_src) for name, log, source in cases],
    }


def to_markdown(res: dict[str, Any]) -> str:
    """A short Markdown table of a results record."""
    m = res["machine"]
    rows = [
        "# Ingest benchmark",
        "",
        f"Machine: {m['cores']} cores, {m['cpu']}, {m['memory_gb']} GB; shared with other "
        f"work (1-minute load per case below). Best of {res['repeat']} alternating runs per "
        "contender, each in a fresh process, timed after its imports.",
        "",
        "| case | lines | GB | pandas s (CPU s) | moodrec s (CPU s) | ratio | CPU-s ratio "
        "| moodrec peak GB | 19.15M-row wall s | load before/after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for c in res["cases"]:
        b, mr = c["baseline_pandas_read_csv"], c["moodrec_ingest"]
        full = (
            f"{c['full_size_wall_s']:.1f} (measured)"
            if c["full_size_wall_s"] is not None
            else f"{c['extrapolated_full_size_wall_s']:.1f} (extrapolated, linear)"
        )
        rows.append(
            f"| {c['case']} | {c['input']['lines']:,} | {c['input']['bytes'] / 1e9:.2f} "
            f"| {b['wall_s']:.1f} ({b['cpu_s']:.1f}) | {mr['wall_s']:.1f} ({mr['cpu_s']:.1f}) "
            f"| **{c['speed_ratio']:.2f}×** "
            f"| {c['cpu_ratio']:.2f}× | {mr['peak_rss_gb']:.2f} | {full} "
            f"| {c['load_1min_before']} / {c['load_1min_after']} |"
        )
    rows.append("")
    compared = [c for c in res["cases"] if "compare" in c]
    if compared:
        rows += [
            f"Same rotation, moodrec from `{compared[0]['compare']['src']}` (the code before):",
            "",
            "| case | before s (CPU s) | ratio | CPU-s ratio "
            "| after s (CPU s) | ratio | CPU-s ratio |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for c in compared:
            o, mr = c["compare"], c["moodrec_ingest"]
            rows.append(
                f"| {c['case']} | {o['moodrec_ingest']['wall_s']:.1f} "
                f"({o['moodrec_ingest']['cpu_s']:.1f}) | {o['speed_ratio']:.2f}× "
                f"| {o['cpu_ratio']:.2f}× | {mr['wall_s']:.1f} ({mr['cpu_s']:.1f}) "
                f"| {c['speed_ratio']:.2f}× | {c['cpu_ratio']:.2f}× |"
            )
        rows.append("")
    by = {c["case"]: c for c in res["cases"]}
    if "real-order" in by and "unsorted" in by:
        a, u = by["real-order"]["moodrec_ingest"], by["unsorted"]["moodrec_ingest"]
        rows += [
            f"Order cost: moodrec on the unsorted rows uses {u['cpu_s'] / a['cpu_s']:.2f}× the "
            f"CPU seconds of the same rows in real order ({u['cpu_s']:.1f} vs "
            f"{a['cpu_s']:.1f}); wall times on a shared machine move with its load.",
            "",
        ]
    for c in res["cases"]:
        t = c["targets"]
        rows.append(
            f"- {c['case']} ({c['input']['source']}): ratio ≥ 2.5 "
            f"{'met' if t['ratio_ge_2_5'] else 'NOT met'}; ≤ 20 s "
            f"{'met' if t['wall_le_20s'] else 'NOT met'}"
            f"{'' if t['full_size_input'] else ' (extrapolated)'}; ≤ 3 GB "
            f"{'met' if t['peak_rss_le_3gb'] else 'NOT met'}"
            f"{'' if t['full_size_input'] else ' (at this size)'}."
        )
    rows.append("")
    if "order_cost_before_after" in res:
        o = res["order_cost_before_after"]
        rows += [f"Order cost before / after issue 22 ({o['note']}):", ""]
        rows += ["| code | real order CPU s | unsorted CPU s |", "|---|---:|---:|"]
        rows += [
            f"| {r['code']} | {r['sorted_cpu_s']} | {r['unsorted_cpu_s']} |" for r in o["rows"]
        ]
        rows.append("")
    if "before_after" in res:
        o = res["before_after"]
        rows += [f"Before / after ({o['note']}):", ""]
        rows += [
            "| case | code | pandas CPU s | moodrec CPU s | CPU-s ratio | wall ratio |",
            "|---|---|---:|---:|---:|---:|",
        ]
        rows += [
            f"| {r['case']} | {r['code']} | {r['pandas_cpu_s']} | {r['moodrec_cpu_s']} "
            f"| {r['cpu_ratio']} | {r['wall_ratio']} |"
            for r in o["rows"]
        ]
        rows.append("")
    if res.get("notes"):
        rows += ["Notes:", ""] + [f"- {n}" for n in res["notes"]] + [""]
    for e in res.get("earlier_runs", []):
        b, mr = e["baseline_pandas_read_csv"], e["moodrec_ingest"]
        rows.append(
            f"- Earlier run ({e['note']}, {e['when']}): {e['input']['lines']:,} lines, pandas "
            f"{b['wall_s']:.1f} s, moodrec {mr['wall_s']:.1f} s ({e['speed_ratio']:.2f}×), "
            f"peak {mr['peak_rss_gb']:.2f} GB."
        )
    rows.append("")
    return "\n".join(rows)


def shuffled_copy(src: Path, dst: Path, seed: int = 1) -> Path:
    """The lines of ``src`` in a seeded random order."""
    import polars as pl

    df = pl.read_csv(src, separator="\t", has_header=False, quote_char=None, infer_schema=False)
    df.sample(fraction=1.0, shuffle=True, seed=seed).write_csv(
        dst, separator="\t", include_header=False, quote_style="never"
    )
    return dst


CASES = ("real-order", "unsorted", "merged-real", "byuser-real", "shuffled-real")
DEFAULT_CASES = ("real-order", "unsorted", "merged-real", "byuser-real")
_REAL_ORDERS = {"merged-real": "merged", "byuser-real": "by-user", "shuffled-real": "shuffled"}
_SOURCES = {
    "real-order": "benchmarks.synthetic_log, by user newest first",
    "unsorted": "the real-order rows shuffled",
    "merged-real": "benchmarks.realformat_log, time order across users",
    "byuser-real": "benchmarks.realformat_log, by user newest first",
    "shuffled-real": "benchmarks.realformat_log, random order",
}


def _generated_cases(
    tmp: Path, rows: int, names: list[str], real_head: Path | None
) -> list[tuple[str, Path, str]]:
    """Write the inputs of the chosen cases (the synthetic ones need ``real-order``)."""
    from benchmarks.realformat_log import REAL_HEAD, write_realformat_log
    from benchmarks.synthetic_log import write_synthetic_log

    cases: list[tuple[str, Path, str]] = []
    ordered = None
    for name in [c for c in CASES if c in names]:
        if name in ("real-order", "unsorted"):
            if ordered is None:
                ordered = write_synthetic_log(tmp / "real_order.tsv", rows, seed=0)
            log = ordered if name == "real-order" else shuffled_copy(ordered, tmp / "unsorted.tsv")
        else:
            real = real_head or REAL_HEAD
            if not real.is_file():
                print(f"skipping {name}: {real} is absent", file=sys.stderr)
                continue
            log = write_realformat_log(
                tmp / f"{name}.tsv",
                rows,
                real=real,
                order=_REAL_ORDERS[name],  # type: ignore[arg-type]
            )
        cases.append((name, log, _SOURCES[name]))
    return cases


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line entry point; returns the results record."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=3_000_000, help="lines per generated case")
    ap.add_argument("--repeat", type=int, default=2, help="alternating runs per contender")
    ap.add_argument("--log", type=Path, default=None, help="benchmark this log file only")
    ap.add_argument("--sandbox", action="store_true", help="the sandbox large world's log only")
    ap.add_argument(
        "--cases",
        nargs="+",
        choices=CASES,
        default=list(DEFAULT_CASES),
        help="generated cases to run (default: %(default)s)",
    )
    ap.add_argument("--real-head", type=Path, default=None, help="real Last.fm 1K head file")
    ap.add_argument(
        "--compare-src",
        type=Path,
        default=None,
        help="also run moodrec from this src folder (e.g. `git archive main src`) in the "
        "same rotation: before/after under the same load",
    )
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "ingest.json")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_input_") as tmp:
        cases: list[tuple[str, Path, str]] = []
        if args.log is not None:
            cases.append(("given file", args.log, str(args.log)))
        elif args.sandbox:
            log = large_world_log()
            if args.rows < FULL_ROWS:
                log = head_lines(log, Path(tmp) / "head.tsv", args.rows)
            cases.append(("sandbox", log, "sandbox large world (seed 0)"))
        else:
            cases = _generated_cases(Path(tmp), args.rows, args.cases, args.real_head)
        res = run_benchmark(cases, args.repeat, args.compare_src)
    # notes on earlier runs (added by hand to the results file) stay with the new numbers
    if args.out.is_file():
        old = json.loads(args.out.read_text(encoding="utf-8"))
        for key in ("order_cost_before_after", "earlier_runs", "before_after", "notes"):
            if key in old:
                res[key] = old[key]
    write_json_atomic(args.out, res)
    write_text_atomic(args.out.with_suffix(".md"), to_markdown(res))
    print(to_markdown(res))
    return res


if __name__ == "__main__":
    main()
