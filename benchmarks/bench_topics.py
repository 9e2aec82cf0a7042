"""Topic-stage benchmark: cleaning throughput, one LDA fit on 100k docs, real-lyrics sweep.

Run ``python -m benchmarks.bench_topics [--docs 100000] [--workers 0] [--skip-real | --only-real]``.

* Cleaning: docs/s of :func:`moodrec.text.cleaning.clean_lyrics` (all cores) on ``--docs`` raw
  lyrics written by the sandbox lyrics generator (45 % with Genius artifacts, 8 planted topics,
  English), and on the real 1,000 Genius pop lyrics (one process). Target ≥ 500 docs/s.
* LDA: one fit, k = 10, 10 passes on the cleaned ``--docs`` corpus (``--workers 0``:
  gensim LdaModel, reproducible; ``n``: LdaMulticore). Target ≤ 300 s.
* Real text: the default staged c_v / NPMI / held-out perplexity sweep on
  ``../shared/data/lyrics_poplyrics_1k_genius`` (skipped when absent), run twice side by
  side: the full sweep in one process (``sweep_patience=0``, one job: what the sweep was
  before issue 22) and the default sweep (stops along k at the coherence plateau, fits in
  as many processes as there are cores). Both choose from seeded fits, so the chosen
  model's coherence is compared directly; the 1-minute load is recorded with each.

Writes ``benchmarks/results/topics.json`` and ``topics.md`` atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec.sandbox.lyrics import generate_lyrics
from moodrec.sandbox.vocab import TOPICS
from moodrec.storage import write_json_atomic, write_text_atomic
from moodrec.text.cleaning import clean_lyrics
from moodrec.text.config import LyricsConfig
from moodrec.topics.config import TopicsConfig
from moodrec.topics.corpus import build_corpus
from moodrec.topics.lda import (
    SweepPoint,
    available_cores,
    fit_lda,
    run_sweep,
    select_model,
    sweep_plan,
)
from moodrec.topics.views import sweep_markdown

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "lyrics_poplyrics_1k_genius" / "poplyric-1k.parquet"
TARGET_DOCS_S = 500.0
TARGET_FIT_S = 300.0


def synthetic_lyrics(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` raw English lyrics from the sandbox generator (sparse planted topic mixtures)."""
    rng = np.random.default_rng(seed)
    k = len(TOPICS)
    mixtures = rng.dirichlet(np.full(k, 0.3), size=n)
    texts = generate_lyrics(
        rng,
        [f"Song {i}" for i in range(n)],
        [f"Artist {i % 997}" for i in range(n)],
        mixtures,
        ["en"] * n,
    )
    return pd.DataFrame({"track_id": np.arange(n), "text": texts.raw, "source": "bench"})


def bench_cleaning(frame: pd.DataFrame, cfg: LyricsConfig) -> tuple[dict[str, Any], Any]:
    t = time.perf_counter()
    result = clean_lyrics(frame, cfg)
    wall = time.perf_counter() - t
    return {
        "docs": len(frame),
        "wall_s": round(wall, 2),
        "docs_per_s": round(len(frame) / wall, 1),
        "status": result.report["status"],
    }, result


def bench_synthetic(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Cleaning throughput and one LDA fit on ``args.docs`` sandbox lyrics."""
    t = time.perf_counter()
    frame = synthetic_lyrics(args.docs)
    results["generate_s"] = round(time.perf_counter() - t, 2)
    lc = LyricsConfig(n_jobs=0)
    results["cleaning_synthetic"], cleaned = bench_cleaning(frame, lc)
    ok = cleaned.frame[cleaned.frame["status"] == "ok"]
    t = time.perf_counter()
    corpus = build_corpus(ok["track_id"].to_numpy(), list(ok["tokens"]), lc)
    results["corpus"] = {
        "docs": len(corpus.bow),
        "terms": len(corpus.dictionary),
        "tokens": int(sum(c for d in corpus.bow for _, c in d)),
        "build_s": round(time.perf_counter() - t, 2),
    }
    tc = TopicsConfig(passes=10, workers=args.workers, alphas=("symmetric",))
    t = time.perf_counter()
    fit_lda(corpus.bow, corpus, SweepPoint(10, "symmetric", "symmetric"), tc)
    fit_s = time.perf_counter() - t
    results["lda_fit"] = {
        "k": 10,
        "passes": 10,
        "workers": args.workers,
        "model": "LdaMulticore" if args.workers else "LdaModel",
        "chunksize": tc.chunksize,
        "wall_s": round(fit_s, 1),
    }


def real_sweep(corpus: Any, tc: TopicsConfig, jobs: int) -> tuple[dict[str, Any], pd.DataFrame]:
    """The staged sweep on ``corpus`` with ``jobs`` processes: timing, choice, table."""
    load = os.getloadavg()[0]
    t = time.perf_counter()
    first = run_sweep(corpus, sweep_plan(tc), tc, jobs=jobs)
    second = run_sweep(corpus, sweep_plan(tc, best_k=select_model(first, tc).k), tc, jobs=jobs)
    sweep = pd.concat([first, second], ignore_index=True)
    chosen = select_model(sweep, tc)
    row = sweep.loc[sweep["model"] == chosen.name].iloc[0]
    return {
        "jobs": jobs,
        "sweep_patience": tc.sweep_patience,
        "fits": len(sweep),
        "wall_s": round(time.perf_counter() - t, 1),
        "load_1min_before": round(load, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
        "chosen": chosen.name,
        "c_v": round(float(row["c_v"]), 4),
        "c_npmi": round(float(row["c_npmi"]), 4),
        "table": sweep.drop(columns=[c for c in sweep if c.endswith("_per_topic")])
        .round(4)
        .to_dict(orient="records"),
    }, sweep


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--only-real", action="store_true", help="the real-lyrics sweep only")
    parser.add_argument("--real", type=Path, default=REAL, help="poplyric-1k.parquet")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "topics.json")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "targets": {"cleaning_docs_per_s": TARGET_DOCS_S, "lda_fit_s": TARGET_FIT_S},
    }
    if not args.only_real:
        bench_synthetic(args, results)
    if not args.skip_real and args.real.is_file():
        real = pd.read_parquet(args.real)
        rframe = pd.DataFrame(
            {"track_id": np.arange(len(real)), "text": real["lyrics"], "source": "poplyrics-1k"}
        )
        results["cleaning_real"], rclean = bench_cleaning(rframe, LyricsConfig())
        rok = rclean.frame[rclean.frame["status"] == "ok"]
        rcorpus = build_corpus(rok["track_id"].to_numpy(), list(rok["tokens"]), LyricsConfig())
        before, _ = real_sweep(rcorpus, TopicsConfig(sweep_patience=0), jobs=1)
        after, sweep = real_sweep(rcorpus, TopicsConfig(), jobs=available_cores())
        results["real_sweep"] = {
            "docs": len(rcorpus.bow),
            "terms": len(rcorpus.dictionary),
            "before_full_serial": before,
            "after_plateau_parallel": after,
            "speedup": round(before["wall_s"] / after["wall_s"], 2),
            "c_v_change": round(after["c_v"] - before["c_v"], 4),
        }
        results["real_sweep_md"] = sweep_markdown(sweep, after["chosen"])
    if args.only_real and args.out.is_file():  # keep the synthetic part of an earlier run
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        for key in ("generate_s", "cleaning_synthetic", "corpus", "lda_fit"):
            if key in previous:
                results[key] = previous[key]
                results["synthetic_part_from_earlier_run"] = True
    write_json_atomic(args.out, results)
    write_text_atomic(args.out.with_suffix(".md"), to_markdown(results))
    return results


def to_markdown(results: dict[str, Any]) -> str:
    """The results record as the Markdown report."""
    real_md = results.get("real_sweep_md", "(real corpus absent or skipped)\n")
    md = [
        "# Topic-stage benchmark",
        "",
        f"Machine: {results['machine']['cpus']} CPUs, Python {results['machine']['python']}.",
        "",
    ]
    if "cleaning_synthetic" in results:
        cs = results["cleaning_synthetic"]
        md.append(
            f"- Cleaning ({cs['docs']:,} sandbox lyrics, all cores): "
            f"**{cs['docs_per_s']:,} docs/s** (target ≥ {TARGET_DOCS_S:.0f})"
        )
    if "cleaning_real" in results:
        md.append(
            f"- Cleaning (1,000 real Genius lyrics, one process): "
            f"**{results['cleaning_real']['docs_per_s']:,} docs/s**"
        )
    if "lda_fit" in results:
        lf = results["lda_fit"]
        md.append(
            f"- LDA fit (k=10, 10 passes, {lf['model']}, {results['corpus']['docs']:,} docs, "
            f"{results['corpus']['terms']} terms): **{lf['wall_s']} s** "
            f"(target ≤ {TARGET_FIT_S:.0f})"
        )
    if results.get("synthetic_part_from_earlier_run"):
        md.append("- (cleaning of sandbox lyrics and the 100k-doc fit: from an earlier run)")
    if "real_sweep" in results:
        rs = results["real_sweep"]
        md += [
            "",
            f"## Sweep time and coherence on the real pop-lyrics corpus ({rs['docs']} docs, "
            f"{rs['terms']} terms)",
            "",
            "| sweep | fits | processes | wall s | 1-min load before/after | chosen | c_v "
            "| c_npmi |",
            "|---|---:|---:|---:|---|---|---:|---:|",
        ]
        for label, key in [
            ("before: every k, one process", "before_full_serial"),
            ("after: plateau stop along k, all cores", "after_plateau_parallel"),
        ]:
            r = rs[key]
            md.append(
                f"| {label} | {r['fits']} | {r['jobs']} | {r['wall_s']} | "
                f"{r['load_1min_before']} / {r['load_1min_after']} | {r['chosen']} | "
                f"{r['c_v']:.4f} | {r['c_npmi']:.4f} |"
            )
        md += [
            "",
            f"Speed-up {rs['speedup']}×; chosen model's c_v change {rs['c_v_change']:+.4f} "
            "(target: within 0.01).",
        ]
    md += ["", "## c_v sweep on the real pop-lyrics corpus (after)", "", real_md]
    return "\n".join(md)


if __name__ == "__main__":
    main()
