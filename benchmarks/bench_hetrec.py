"""HetRec 2011 Last.fm benchmark (issue #7): every registered recommender, the issue's protocol.

Protocol: rows of ``user_artists.dat`` sorted by (userID, artistID); per seed,
``rng = np.random.default_rng(seed)``; per user ascending, the first ⌊0.2·n⌋ positions of
``rng.permutation(n)`` → test; validation the same way with ``seed + 1000`` on the training
part; hyperparameters tuned on validation (NDCG@20, within a per-model time budget), the best
refitted on all training data, tested once; full-catalogue ranking with training items
excluded. Mean ± std over seeds 1, 2, 3, 42.

Models that use side information (``blend_social_tags``) also read ``user_friends.dat`` and
``user_taggedartists.dat`` beside ``user_artists.dat``; the tag assignments of held-out
(user, artist) pairs are withheld (validation and test while tuning, test for the final fit).

Usage::

    .venv/bin/python -m benchmarks.bench_hetrec [--data PATH] [--seeds 1 2 3 42]
        [--models popularity itemknn ease ials bpr neumf] [--budget 60]

Writes ``benchmarks/results/hetrec.json`` and ``hetrec.md``.
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

from moodrec.evaluation.metrics import evaluate_recommender
from moodrec.evaluation.side_info import read_hetrec_side
from moodrec.evaluation.splits import holdout_split
from moodrec.experiment.tuning import fit_model, tune_model
from moodrec.interactions.matrix import read_user_artists
from moodrec.models import load_models

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "hetrec2011_lastfm_2k" / "user_artists.dat"
RESULTS = ROOT / "benchmarks" / "results"

#: reference NDCG@20 measured under this protocol (issue #7)
REFERENCE = {
    "popularity": 0.0967,
    "itemknn": 0.2596,
    "bpr": 0.2047,
    "lightfm-warp": 0.2407,
    "ease": 0.2770,
    "ials": 0.2845,
}

#: fixed parameters and the search space of each model (deterministic grid order)
BASE: dict[str, dict[str, Any]] = {
    "popularity": {"weighting": "binary"},
    "itemknn": {},
    # the dense Gram matrix of all 17 632 artists costs minutes per λ on two cores: keep the
    # 4 000 most popular artists (those with >= ~3 listeners); the rest rank below them
    "ease": {"weighting": "binary", "max_items": 4000},
    "ials": {"factors": 64, "iterations": 15},
    "rp3beta": {"k": 200},
    # EASE (binary, λ = 100, same pruning) + iALS (BM25, 64 factors, reg 60), z-scored blend
    "ease_ials": {
        "weighting": "raw",
        "lambda_": 100.0,
        "max_items": 4000,
        "factors": 64,
        "reg": 60.0,
        "ials_weighting": "bm25",
    },
    # iALS (3 seeds) + EASE + friends + tags; part weights chosen on validation inside fit
    "blend_social_tags": {"weighting": "raw"},
    "bpr": {"weighting": "binary", "time_budget_s": 0.0},
    "neumf": {"weighting": "binary", "time_budget_s": 0.0},
}
SPACES: dict[str, dict[str, list[Any]]] = {
    "itemknn": {
        "weighting": ["bm25", "binary", "log"],
        "k": [100, 300],
        "shrink": [0.0, 20.0],
    },
    "ease": {"lambda_": [100.0, 300.0, 50.0]},
    "ials": {"weighting": ["bm25", "log"], "reg": [30.0, 60.0, 15.0], "alpha": [1.0]},
    "rp3beta": {"weighting": ["binary", "log"], "beta": [0.2, 0.3], "alpha": [1.0, 0.5]},
    "ease_ials": {"weight": [0.5, 0.3, 0.7]},
}
#: models the benchmark never runs (content models need features HetRec lacks; rating view)
SKIP = {"hybrid", "rating_mf", "rating_deep"}


def run(data: Path, seeds: list[int], models: list[str], budget_s: float) -> dict[str, Any]:
    """Run the protocol; returns per-model, per-seed results and the aggregate."""
    registry = load_models()
    interactions = read_user_artists(data)
    counts = interactions.counts
    hetrec_side = None
    if any(getattr(registry.get(m), "uses_side_information", False) for m in models):
        hetrec_side = read_hetrec_side(data.parent, interactions.user_ids, interactions.item_ids)
    per_seed: dict[str, list[dict[str, Any]]] = {m: [] for m in models}
    for seed in seeds:
        split = holdout_split(counts, 0.2, seed, 0.2)
        for name in models:
            if name not in registry:
                continue
            base = dict(BASE.get(name, {}))
            accepted = set(registry[name]().params) | {"weighting"}
            base = {k: v for k, v in base.items() if k in accepted}
            if "seed" in accepted:
                base["seed"] = seed
            # friends and tags; tag assignments of held-out pairs withheld (validation + test
            # while tuning, test for the final fit)
            uses_side = hetrec_side is not None and registry[name].uses_side_information
            side_val = hetrec_side.side_for(split.train, counts) if uses_side else None
            side_test = hetrec_side.side_for(split.train_full, counts) if uses_side else None
            tuned = {"best_params": base, "trials": 0, "tuning_s": 0.0}
            space = SPACES.get(name, {} if uses_side else None)
            if space is not None:
                start = time.perf_counter()
                result = tune_model(
                    name,
                    split.train,
                    split.validation,
                    space,
                    base_params=base,
                    default_weighting="log",
                    k=20,
                    budget_s=budget_s,
                    side=side_val,
                )
                tuned = {
                    "best_params": result.best_params,
                    "validation_ndcg@20": result.best_score,
                    "trials": len(result.trials),
                    "tuning_s": time.perf_counter() - start,
                }
            model, fit_s = fit_model(name, tuned["best_params"], split.train_full, side=side_test)
            means = evaluate_recommender(model, split.train_full, split.test, ks=(20,)).means()
            row = {"seed": seed, "fit_s": fit_s, **tuned, **means}
            per_seed[name].append(row)
            print(
                f"seed {seed} {name}: ndcg@20 {means['ndcg@20']:.4f} "
                f"recall@20 {means['recall@20']:.4f} fit {fit_s:.1f}s "
                f"params {tuned['best_params']}",
                flush=True,
            )
    summary = {}
    for name, rows in per_seed.items():
        if not rows:
            continue
        summary[name] = {
            metric: {
                "mean": float(np.mean([r[metric] for r in rows])),
                "std": float(np.std([r[metric] for r in rows], ddof=1)) if len(rows) > 1 else 0.0,
            }
            for metric in ("ndcg@20", "recall@20", "hr@20", "mrr@20", "fit_s", "tuning_s")
        }
        summary[name]["reference_ndcg@20"] = REFERENCE.get(name)
    return {"per_seed": per_seed, "summary": summary}


def markdown(result: dict[str, Any], seeds: list[int]) -> str:
    """The summary as a Markdown table (mean ± std over seeds)."""
    lines = [
        "# HetRec 2011 Last.fm (user_artists), issue #7 protocol",
        "",
        f"Seeds {seeds}; 20 % per-user holdout; validation = 20 % of train (seed + 1000); "
        "tuned on validation NDCG@20, refitted on train, tested once; full ranking, training "
        "items excluded. Mean ± std over seeds.",
        "",
        "| model | NDCG@20 | Recall@20 | HR@20 | reference NDCG@20 | fit s | tuning s |",
        "|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(result["summary"].items(), key=lambda kv: -kv[1]["ndcg@20"]["mean"])
    for name, s in ordered:

        def fmt(m: str, digits: int = 4, s: dict = s) -> str:
            return f"{s[m]['mean']:.{digits}f} ± {s[m]['std']:.{digits}f}"

        ref = s["reference_ndcg@20"]
        lines.append(
            f"| {name} | {fmt('ndcg@20')} | {fmt('recall@20')} | {fmt('hr@20')} | "
            f"{'' if ref is None else f'{ref:.4f}'} | {fmt('fit_s', 1)} | {fmt('tuning_s', 1)} |"
        )
    lines.append("")
    lines.append(
        "`blend_social_tags` also uses HetRec's side information: the friends graph (friends' "
        "training rows only) and artist tags (tag assignments of held-out user–artist pairs "
        "withheld); its part weights are chosen on validation inside `fit`. Every other row is "
        "pure collaborative filtering on `user_artists.dat`."
    )
    lines.append("")
    lines.append("Best parameters per seed:")
    lines.append("")
    for name, rows in result["per_seed"].items():
        for r in rows:
            lines.append(f"- {name} seed {r['seed']}: `{json.dumps(r['best_params'])}`")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 42])
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--budget", type=float, default=60.0, help="tuning seconds per model")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--merge", action="store_true", help="add these models to an existing hetrec.json"
    )
    args = parser.parse_args()
    models = args.models or [m for m in load_models() if m not in SKIP]
    start = time.perf_counter()
    result = run(args.data, args.seeds, models, args.budget)
    wall = {f"wall_s[{','.join(models)}]": time.perf_counter() - start}
    if args.merge and (args.out / "hetrec.json").is_file():
        old = json.loads((args.out / "hetrec.json").read_text())
        if old.get("seeds") != args.seeds:
            parser.error(f"--merge: seeds differ from the stored run ({old.get('seeds')})")
        for key in ("per_seed", "summary"):
            result[key] = old[key] | result[key]
        models = list(dict.fromkeys(old["models"] + models))
        wall = {k: v for k, v in old.items() if k.startswith("wall_s")} | wall
    result |= {
        "seeds": args.seeds,
        "models": models,
        "tuning_budget_s": args.budget,
        **wall,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hetrec.json").write_text(json.dumps(result, indent=2, default=float))
    (args.out / "hetrec.md").write_text(markdown(result, args.seeds))
    print(markdown(result, args.seeds))


if __name__ == "__main__":
    main()
