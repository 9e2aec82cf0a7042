"""Recommend latency of one user from a fitted iALS model at a Last.fm-1K-like catalogue size.

Usage: ``.venv/bin/python -m benchmarks.bench_serving [--items 1000000] [--users 992]``;
writes ``benchmarks/results/serving.{json,md}``. The model's factors are set directly
(random, seeded): the latency of ``recommend`` does not depend on how they were learned.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from moodrec.models.ials import IALS

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=992)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--per-user", type=int, default=4600, help="seen items per user")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    model = IALS(factors=args.factors)
    rows = np.repeat(np.arange(args.users), args.per_user)
    cols = rng.integers(0, args.items, rows.size)
    seen = sp.csr_matrix(
        (np.ones(rows.size, np.float32), (rows, cols)), shape=(args.users, args.items)
    )
    seen.sum_duplicates()
    model._seen, model.n_users, model.n_items = seen, args.users, args.items
    model.user_factors = rng.normal(size=(args.users, args.factors)).astype(np.float32)
    model.item_factors = rng.normal(size=(args.items, args.factors)).astype(np.float32)
    out = {}
    for exclude in (False, True):
        times = []
        for r in range(args.repeats):
            start = time.perf_counter()
            model.recommend([r % args.users], 10, exclude_seen=exclude)
            times.append(time.perf_counter() - start)
        ms = np.asarray(times[5:]) * 1000
        out[f"exclude_seen={exclude}"] = {
            "median_ms": float(np.median(ms)),
            "p95_ms": float(np.percentile(ms, 95)),
        }
    result = {"items": args.items, "users": args.users, "factors": args.factors, **out}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serving.json").write_text(json.dumps(result, indent=2))
    lines = [
        f"# recommend latency, iALS, {args.items:,} items × {args.factors} factors",
        "",
        "| exclude_seen | median ms | p95 ms |",
        "|---|---|---|",
    ]
    for key, v in out.items():
        lines.append(f"| {key.split('=')[1]} | {v['median_ms']:.2f} | {v['p95_ms']:.2f} |")
    (RESULTS / "serving.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
