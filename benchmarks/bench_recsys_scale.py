"""Scale benchmark of the torch recommenders (``python -m benchmarks.bench_recsys_scale``).

BPR-MF and the hybrid model on a Last.fm-1K-sized matrix: 992 users × 1,000,000 tracks,
~4.6M user-track pairs. The matrix is built synthetically (faster and lighter than the
2.5 GB ``large`` sandbox): per-user activity is log-normal, tracks are drawn from a Zipf-like
popularity law, values are ``log(1 + plays)``. The hybrid gets 38 synthetic content columns
(the width :mod:`moodrec.features.content` assembles) and 10 % of the items are cold.

Reported: seconds per training epoch, peak resident memory during the fit (psutil, sampled
every 50 ms, above the pre-fit baseline), and recommend latency per user (top-10 over all
items, training items excluded). ``--device`` (auto, cpu, cuda) places the torch models.

The session model (GRU4Rec, sampled softmax over the 1M-item catalogue) trains on synthetic
sessions cut from the same matrix (each user's items in a seeded order, 20 plays a session);
one full epoch at this scale takes too long for a routine run, so it is timed on a seeded
``--session-share`` of the sessions and the seconds per epoch are extrapolated linearly in
the number of training windows (the cost per batch does not depend on how many there are).
Writes ``benchmarks/results/recsys_scale.{json,md}``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import platform
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import scipy.sparse as sp

from moodrec.models.base import ItemFeatures, Recommender
from moodrec.storage import write_json_atomic, write_text_atomic

logger = logging.getLogger(__name__)
RESULTS = Path(__file__).parent / "results"


def synthetic_matrix(n_users: int, n_items: int, n_pairs: int, seed: int = 0) -> sp.csr_matrix:
    """``(n_users, n_items)`` CSR with about ``n_pairs`` distinct entries (see module doc)."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.0, n_users)
    per_user = np.maximum(1, np.round(activity / activity.sum() * n_pairs * 1.06)).astype(int)
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    cdf = np.cumsum(weights / weights.sum())
    perm = rng.permutation(n_items)  # popular items spread over the index range
    rows, cols = [], []
    for u, n in enumerate(per_user):
        items = perm[np.searchsorted(cdf, rng.random(min(n, n_items)))]
        items = np.unique(items)
        rows.append(np.full(items.size, u, dtype=np.int32))
        cols.append(items.astype(np.int32))
    r, c = np.concatenate(rows), np.concatenate(cols)
    plays = rng.geometric(0.3, r.size)
    return sp.csr_matrix((np.log1p(plays).astype(np.float32), (r, c)), shape=(n_users, n_items))


def synthetic_features(n_items: int, seed: int = 0) -> ItemFeatures:
    """38 content columns in the five groups (values random; only the cost matters here)."""
    rng = np.random.default_rng(seed)
    widths = {"audio": 12, "genre": 9, "cluster": 8, "topics": 8, "popularity": 1}
    cols = [f"{g}_{i}" for g, w in widths.items() for i in range(w)]
    groups = {g: [f"{g}_{i}" for i in range(w)] for g, w in widths.items()}
    return ItemFeatures(rng.normal(size=(n_items, len(cols))).astype(np.float32), cols, groups)


class PeakRSS:
    """Peak resident set size of this process while the context is open (sampled)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.proc = psutil.Process(os.getpid())
        self.baseline = 0
        self.peak = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.baseline = self.proc.memory_info().rss
        self.peak = self.baseline
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def bench_model(
    name: str,
    params: dict[str, Any],
    train: sp.csr_matrix,
    features: ItemFeatures | None,
    n_latency: int,
    seed: int,
) -> dict[str, Any]:
    """Fit one model, time its epochs, memory and per-user recommend latency."""
    for module in ("bpr", "hybrid", "lightfm"):  # importing a model module registers it
        importlib.import_module(f"moodrec.models.{module}")

    model = Recommender.registry[name](**params)
    with PeakRSS() as mem:
        start, cpu_start = time.perf_counter(), time.process_time()
        model.fit(train, item_features=features)
        fit_s, fit_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    info = getattr(model, "fit_info", {})
    epochs = max(1, int(info.get("epochs") or 1))
    users = np.random.default_rng(seed).choice(train.shape[0], size=n_latency, replace=False)
    # brute force (every item scored) and the exact factor index, side by side, same users
    model.index_min_items = 10**12
    brute, brute_top = _latency(model, users)
    model.index_min_items = 0
    t = time.perf_counter()
    model.prepare_serving()
    index_build_s = time.perf_counter() - t
    lat, index_top = _latency(model, users)
    return {
        "model": name,
        "params": {k: v for k, v in params.items() if k not in ("seed",)},
        "epochs": info.get("epochs"),
        "train_loop_s": round(float(info.get("seconds", float("nan"))), 2),
        "fit_s": round(fit_s, 2),
        "s_per_epoch": round(float(info.get("seconds", fit_s)) / epochs, 2),
        # CPU seconds of the whole fit (every thread, setup included) per epoch: what the work
        # costs when the wall clock is shared with other jobs
        "fit_cpu_s_per_epoch": round(fit_cpu_s / epochs, 2),
        "train_pairs": int(train.nnz),
        "peak_rss_mb": round(mem.peak / 2**20, 1),
        "fit_rss_increase_mb": round((mem.peak - mem.baseline) / 2**20, 1),
        "recommend_ms_median": round(float(np.median(lat)), 2),
        "recommend_ms_p95": round(float(np.percentile(lat, 95)), 2),
        "brute_ms_median": round(float(np.median(brute)), 2),
        "brute_ms_p95": round(float(np.percentile(brute, 95)), 2),
        "index_build_s": round(index_build_s, 2),
        "index_equals_brute": bool(np.array_equal(brute_top, index_top)),
        "n_latency_users": n_latency,
    }


def _latency(model: Recommender, users: np.ndarray) -> tuple[list[float], np.ndarray]:
    """Per-user top-10 latency in ms (training items excluded; first call dropped as a
    warm-up) and the items returned."""
    model.recommend(users[:1], 10, exclude_seen=True)  # warm-up
    lat, tops = [], []
    for u in users:
        t = time.perf_counter()
        items, _ = model.recommend(np.array([u]), 10, exclude_seen=True)
        lat.append((time.perf_counter() - t) * 1000)
        tops.append(items[0])
    return lat, np.vstack(tops)


def run(args: argparse.Namespace) -> dict[str, Any]:
    t = time.perf_counter()
    full = synthetic_matrix(args.users, args.items, args.pairs, args.seed)
    build_s = time.perf_counter() - t
    rng = np.random.default_rng(args.seed)
    cold = rng.random(args.items) < 0.1
    coo = full.tocoo()
    keep = ~cold[coo.col]
    train = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=full.shape, dtype=np.float32
    )
    if args.pair_share < 1.0:
        # time the epoch on a seeded share of the training pairs (every user and item kept):
        # the epoch is that many fewer batches of the same cost, so it scales back linearly
        train = subsample_pairs(train, args.pair_share, args.seed)
    features = synthetic_features(args.items, args.seed)
    common = {
        "epochs": args.epochs,
        "patience": args.epochs + 1,
        "batch_size": args.batch,
        "threads": args.threads,
        "factors": args.factors,
        "seed": args.seed,
    }
    common["device"] = args.device
    results = [
        bench_model("bpr", common, train, None, args.latency_users, args.seed),
        bench_model(
            "hybrid", {**common, "hidden": [64]}, train, features, args.latency_users, args.seed
        ),
    ]
    session = bench_session(train, args) if args.session_share > 0 else None
    return {
        "matrix": {
            "source": "synthetic CSR (log-normal user activity, Zipf-like item popularity)",
            "users": int(full.shape[0]),
            "items": int(full.shape[1]),
            "pairs": int(full.nnz),
            "train_pairs": int(keep.sum()),
            "timed_train_pairs": int(train.nnz),
            "pair_share": args.pair_share,
            "cold_items": int(cold.sum()),
            "build_s": round(build_s, 2),
        },
        "results": results,
        "session": session,
        "device": args.device,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch_threads": args.threads,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
    }


def subsample_pairs(train: sp.csr_matrix, share: float, seed: int) -> sp.csr_matrix:
    """A seeded ``share`` of the stored entries of ``train`` (same shape)."""
    coo = train.tocoo()
    keep = np.random.default_rng(seed + 1).random(coo.nnz) < share
    return sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=train.shape, dtype=np.float32
    )


def synthetic_sessions(train: sp.csr_matrix, share: float, seed: int) -> Any:
    """Sessions of 20 plays from each user's items in a seeded order; a ``share`` of them."""
    from moodrec.session.data import SessionData

    rng = np.random.default_rng(seed)
    seqs, users = [], []
    for u in range(train.shape[0]):
        items = train.indices[train.indptr[u] : train.indptr[u + 1]]
        items = items[rng.permutation(items.size)]
        for start in range(0, items.size - 1, 20):
            if items[start : start + 20].size >= 2:
                seqs.append(items[start : start + 20])
                users.append(u)
    n_all = len(seqs)
    keep = np.sort(rng.choice(n_all, size=max(1, round(share * n_all)), replace=False))
    kept = [seqs[i] for i in keep]
    items = np.concatenate(kept).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([k.size for k in kept])]).astype(np.int64)
    n_sessions = len(kept)
    data = SessionData(
        items=items,
        ts=np.arange(items.size, dtype=np.int64) * 60,
        offsets=offsets,
        session_user=np.asarray(users, dtype=np.int64)[keep],
        session_id=np.arange(n_sessions, dtype=np.int64),
        n_items=int(train.shape[1]),
        n_users=int(train.shape[0]),
        item_artist=np.full(train.shape[1], -1, dtype=np.int64),
        user_names=np.asarray([f"user_{i}" for i in range(train.shape[0])], dtype=object),
    )
    return data, n_all


def bench_session(train: sp.csr_matrix, args: argparse.Namespace) -> dict[str, Any]:
    """GRU4Rec seconds per epoch at this scale, timed on a share of the sessions."""
    from moodrec.session.sequence import GRU4RecRecommender

    data, n_all = synthetic_sessions(train, args.session_share, args.seed)
    model = GRU4RecRecommender(
        epochs=1, threads=args.threads, seed=args.seed, device=args.device, n_negatives=512
    )
    with PeakRSS() as mem:
        model.fit(data)
    measured = float(model.epoch_seconds[0])
    return {
        "model": "gru4rec",
        "sessions_total": n_all,
        "sessions_timed": int(data.n_sessions),
        "share": args.session_share,
        "timed_epoch_s": round(measured, 2),
        "s_per_epoch_extrapolated": round(measured * n_all / data.n_sessions, 1),
        "peak_rss_mb": round(mem.peak / 2**20, 1),
    }


def share_of(matrix: dict[str, Any]) -> float:
    return float(matrix.get("pair_share", 1.0))


def markdown(report: dict[str, Any]) -> str:
    m = report["matrix"]
    lines = [
        "# Recommenders at Last.fm-1K scale",
        "",
        f"Matrix: {m['users']} users × {m['items']:,} items, {m['pairs']:,} pairs "
        f"({m['train_pairs']:,} in training, {m['cold_items']:,} cold items); {m['source']}.",
        ""
        if share_of(m) == 1.0
        else f"\nBPR and the hybrid were timed on a seeded {share_of(m):.0%} of the training "
        f"pairs ({m['timed_train_pairs']:,}; every user and item kept); their full-size "
        "seconds per epoch are that figure divided by the share (an epoch is that many more "
        "batches of the same cost).\n",
        "| model | epochs | s/epoch (wall) | full-size s/epoch | fit CPU s/epoch | fit s | "
        "peak RSS MB | fit RSS +MB | "
        "recommend ms, index (median / p95) | brute force ms (median / p95) | "
        "index build s | same top-10 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    share = share_of(m)
    for r in report["results"]:
        full = r["s_per_epoch"] / share
        full_cell = f"{full:.1f}" if share == 1.0 else f"≈ {full:.1f} (extrapolated)"
        lines.append(
            f"| {r['model']} | {r['epochs']} | {r['s_per_epoch']} | {full_cell} | "
            f"{r.get('fit_cpu_s_per_epoch', '')} | {r['fit_s']} | "
            f"{r['peak_rss_mb']} | {r['fit_rss_increase_mb']} | "
            f"{r['recommend_ms_median']} / {r['recommend_ms_p95']} | "
            f"{r.get('brute_ms_median')} / {r.get('brute_ms_p95')} | "
            f"{r.get('index_build_s')} | {r.get('index_equals_brute')} |"
        )
    lines += [
        "",
        "Recommend: top-10 over every item, training items excluded, one user per call; "
        "`index` = exact norm-ordered search of `[v_i, b_i]` (`moodrec.models.mips`), "
        "brute force = every item scored, measured on the same users in the same run.",
    ]
    ses = report.get("session")
    if ses:
        lines += [
            "",
            f"Session model `{ses['model']}` (sampled softmax, 512 negatives, 1 epoch): "
            f"{ses['timed_epoch_s']} s on {ses['sessions_timed']:,} of {ses['sessions_total']:,} "
            f"synthetic 20-play sessions ({ses['share']:.1%}), i.e. about "
            f"**{ses['s_per_epoch_extrapolated']} s per full epoch** (extrapolated linearly); "
            f"peak RSS {ses['peak_rss_mb']} MB.",
        ]
    lines += ["", f"Device: {report.get('device', 'cpu')}. Machine: {report['machine']}", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=992)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=4_600_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latency-users", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--session-share", type=float, default=0.02, help="share of sessions timed (0 = skip)"
    )
    parser.add_argument(
        "--pair-share",
        type=float,
        default=1.0,
        help="share of training pairs BPR and the hybrid are timed on (s/epoch scaled back)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "recsys_scale")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    report = run(args)
    write_json_atomic(args.out.with_suffix(".json"), report)
    write_text_atomic(args.out.with_suffix(".md"), markdown(report))
    logger.info("wrote %s.{json,md}", args.out)


if __name__ == "__main__":
    main()
