"""Quality and speed benchmark of the session recommenders (``python -m benchmarks.bench_session``).

1. Sandbox demo world (synthetic, planted mood dynamics): every model, HR@5/10/20,
   MRR@5/10/20, mood error, 95 % bootstrap CIs over held-out sessions (each user's last 2
   sessions, every prefix position), paired differences of the mood-aware model.
2. The session stage with the default config on the same world: wall time (demo budget ~40 s).
3. Real log: ``../shared/data/lastfm_1k`` (the first 5,000 lines of Last.fm 1K: 4,997 plays of
   user_000001 + 3 of user_000002), on item ids alone (no mood features); the user's last 30
   sessions held out.
4. ``recommend_in_session`` latency after loading (target ≤ 50 ms per call).

Writes ``benchmarks/results/session.json`` and ``session.md`` atomically.
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import ingest_lastfm1k
from moodrec.sandbox.config import SandboxConfig
from moodrec.sandbox.world import generate_world
from moodrec.session.config import SessionConfig
from moodrec.session.data import load_session_data, read_truth_features
from moodrec.session.serving import SessionServer
from moodrec.session.stage import run_session_stage
from moodrec.storage import write_json_atomic, write_text_atomic

logger = logging.getLogger(__name__)
RESULTS = Path(__file__).parent / "results"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_LOG = SHARED / "lastfm_1k" / "userid-timestamp-artid-artname-traid-traname.head5000.tsv"


def _dirs(root: Path) -> dict[str, Path]:
    return {layer: root / layer for layer in ("reports", "features", "models")}


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]


def bench_sandbox(root: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    world = generate_world(SandboxConfig(profile="demo", seed=42), root / "world")
    ingest_lastfm1k(world.log_path, root / "data" / "interim", IngestConfig(), world.profile_path)
    prep_s = time.perf_counter() - t0
    truth = world.truth_dir
    features = read_truth_features(truth / "tracks.parquet")
    truth_sessions = pd.read_parquet(truth / "sessions.parquet")

    # 2. the stage as the demo pipeline runs it (default config), timed
    t0, c0 = time.perf_counter(), time.process_time()
    data = load_session_data(root / "data" / "interim", features)
    stage = run_session_stage(data, SessionConfig(), _dirs(root / "data"), True, truth_sessions)
    stage_s, stage_cpu = time.perf_counter() - t0, time.process_time() - c0

    # 1. the full evaluation: every held-out session, every position
    full_cfg = SessionConfig(
        max_eval_sessions=0, max_positions=0, sequence={"epochs": 3}, window_quantiles=()
    )
    t0 = time.perf_counter()
    full = run_session_stage(data, full_cfg, _dirs(root / "full"), True, truth_sessions)
    full_s = time.perf_counter() - t0
    table = pd.read_parquet(full.outputs["session_results"])
    diffs = pd.read_parquet(full.outputs["session_differences"])
    return {
        "world": {"profile": "demo", "seed": 42, "events": int(data.items.size)},
        "prepare_world_and_ingest_s": round(prep_s, 2),
        "default_stage_s": round(stage_s, 2),
        "default_stage_cpu_s": round(stage_cpu, 2),
        "default_stage_report": stage.report,
        "full_eval_s": round(full_s, 2),
        "full_eval_report": full.report,
        "table": _records(table),
        "differences": _records(diffs),
        "markdown": full.outputs["session_results_md"].read_text(),
        "data_dir": str(root / "data"),
    }


def bench_latency(data_dir: Path, n_calls: int = 600, seed: int = 0) -> dict[str, Any]:
    t0 = time.perf_counter()
    server = SessionServer(data_dir)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    users = list(server._user_name)
    moods = [None, *server.model.states.labels] if server.model.states is not None else [None]
    times = []
    c0 = time.process_time()
    for _ in range(n_calls):
        user = users[int(rng.integers(len(users)))]
        mood = moods[int(rng.integers(len(moods)))]
        t = time.perf_counter()
        server.recommend(user, k=10, session="recent", mood=mood)
        times.append(1000.0 * (time.perf_counter() - t))
    cpu_ms = 1000.0 * (time.process_time() - c0) / n_calls
    ms = np.asarray(times)
    return {
        "calls": n_calls,
        "load_s": round(load_s, 3),
        "mean_cpu_ms": round(cpu_ms, 3),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
        "target_ms": 50,
    }


def bench_real(root: Path) -> dict[str, Any]:
    if not REAL_LOG.is_file():
        return {"skipped": f"{REAL_LOG} absent"}
    ingest_lastfm1k(REAL_LOG, root / "interim", IngestConfig())
    data = load_session_data(root / "interim")
    cfg = SessionConfig(
        features_source="none",
        test_sessions_per_user=30,
        max_eval_sessions=0,
        max_positions=0,
        sequence={"epochs": 3},
        window_quantiles=(0.7, 0.8, 0.9),
        max_window_sessions=40,
    )
    t0 = time.perf_counter()
    result = run_session_stage(data, cfg, _dirs(root), synthetic=False)
    seconds = time.perf_counter() - t0
    table = pd.read_parquet(result.outputs["session_results"])
    return {
        "log": str(REAL_LOG.name),
        "events": int(data.items.size),
        "sessions": data.n_sessions,
        "items": data.n_items,
        "stage_s": round(seconds, 2),
        "report": result.report,
        "table": _records(table),
        "markdown": result.outputs["session_results_md"].read_text(),
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sandbox = bench_sandbox(root / "sandbox")
        latency = bench_latency(Path(sandbox.pop("data_dir")))
        real = bench_real(root / "real")
    result = {
        "machine": {
            "load_avg_1m_before": load_before,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
        "sandbox_demo": sandbox,
        "real_lastfm1k_head5000": real,
        "recommend_latency": latency,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    md_sandbox = sandbox.pop("markdown")
    md_real = real.pop("markdown", "(skipped: real data absent)\n")
    write_json_atomic(RESULTS / "session.json", result)
    m = result["machine"]
    lat = latency
    md = [
        "# session benchmark",
        "",
        f"machine: {m['cpus']} CPUs (shared), Python {m['python']}, "
        f"load average {m['load_avg_1m_before']} before / {m['load_avg_1m']} after "
        "(other jobs share the machine: wall times are inflated)",
        "",
        "| benchmark | measured | target |",
        "|---|---|---|",
        "| session stage, demo world, default config (wall / CPU) | "
        f"{sandbox['default_stage_s']} s / {sandbox['default_stage_cpu_s']} s | ~40 s |",
        "| full evaluation (all held-out sessions and positions) | "
        f"{sandbox['full_eval_s']} s | — |",
        f"| recommend_in_session p50 / p95 / p99 / max | {lat['p50_ms']} / {lat['p95_ms']} / "
        f"{lat['p99_ms']} / {lat['max_ms']} ms wall, {lat['mean_cpu_ms']} ms CPU per call "
        f"({lat['calls']} calls; load {lat['load_s']} s) | ≤ {lat['target_ms']} ms |",
        "",
        "## Sandbox demo world (full evaluation)",
        "",
        md_sandbox.split("\n", 1)[1],
        "## Real log: Last.fm 1K, first 5,000 lines (item ids alone)",
        "",
        md_real.split("\n", 1)[1],
    ]
    write_text_atomic(RESULTS / "session.md", "\n".join(md))
    logger.info("benchmark results written to %s", RESULTS)


if __name__ == "__main__":
    main()
