"""HetRec 2011 Last.fm benchmark (issue #7): every registered recommender, the issue's protocol.

Protocol: rows of ``user_artists.dat`` sorted by (userID, artistID); per seed,
``rng = np.random.default_rng(seed)``; per user ascending, the first ⌊0.2·n⌋ positions of
``rng.permutation(n)`` → test; validation the same way with ``seed + 1000`` on the training
part; hyperparameters tuned on validation (NDCG@20, within a per-model time budget), the best
refitted on all training data, tested once; full-catalogue ranking with training items
excluded. Mean ± std over seeds 1, 2, 3, 42.

The tuning budget (``--budget``) counts CPU seconds of the benchmark process
(:func:`time.process_time`, the default clock of :func:`~moodrec.experiment.tuning.tune_model`),
so how many trials a search runs does not depend on what else the machine runs; rows record
wall and CPU seconds of the tuning and of the final fit (``tuning_s``/``tuning_cpu_s``,
``fit_s``/``fit_cpu_s``). ``--budget-clock wall`` gives the old wall-clock budget.
``--reuse-params PATH --reuse ials`` fits the listed models with the best parameters a
stored ``hetrec.json`` recorded per seed, without searching again (to pair new rows with the
stored reference model).

Models that use side information (``blend_social_tags``) also read ``user_friends.dat`` and
``user_taggedartists.dat`` beside ``user_artists.dat``; the tag assignments of held-out
(user, artist) pairs are withheld (validation and test while tuning, test for the final fit).
The content models (``lightfm``, ``cb2cf``) get artist tags as item content the same way: the
withheld tag matrix, TF-IDF weighted and reduced to ``TAG_DIMS`` dimensions by truncated SVD
(group ``tags``; artists without a tag are flagged, not zero-filled). Every model other than
iALS is compared with iALS per seed by a paired bootstrap CI of the per-user NDCG@20
difference (the same test users).

Usage::

    .venv/bin/python -m benchmarks.bench_hetrec [--data PATH] [--seeds 1 2 3 42]
        [--models popularity itemknn ease ials bpr neumf] [--budget 60]
    # seeds side by side (one process each), then one table:
    .venv/bin/python -m benchmarks.bench_hetrec --seeds 1 --models ials bpr --out /tmp/s1
    .venv/bin/python -m benchmarks.bench_hetrec --combine /tmp/s1/hetrec.json /tmp/s2/hetrec.json

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
import scipy.sparse as sp

from moodrec.evaluation.metrics import evaluate_recommender
from moodrec.evaluation.side_info import read_hetrec_side
from moodrec.evaluation.splits import holdout_split
from moodrec.evaluation.stats import paired_comparison
from moodrec.experiment.tuning import fit_model, tune_model
from moodrec.interactions.matrix import read_user_artists
from moodrec.models import load_models
from moodrec.models.base import ItemFeatures
from moodrec.models.blend_social_tags import SIDE_PARTS
from moodrec.models.deep_config import SEARCH_SPACES

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
    "lightfm": {"weighting": "binary", "groups": ["tags"], "time_budget_s": 0.0},
    # iALS's tuned defaults of this protocol (bm25, reg 60) + the tag → factor mapping; the
    # mapping's selection weighs cold hits by their share of the validation pairs
    "cb2cf": {
        "weighting": "bm25",
        "factors": 64,
        "reg": 60.0,
        "groups": ["tags"],
        "cold_weight": None,
    },
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
    # the torch models' validation spaces around their tuned defaults (defaults first)
    "bpr": SEARCH_SPACES["bpr"],
    "neumf": SEARCH_SPACES["neumf"],
    "lightfm": {"cf_dropout": [0.0, 0.3], "reg": [0.01, 0.03], "lr": [0.003, 0.01]},
    "cb2cf": {},
}
#: benchmark rows that are a registered model with fixed parameters (row → model, parameters);
#: each takes over the seed's tuned iALS parameters like ``cb2cf`` (run ``ials`` first)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    # iALS + tags, nothing else: tag side information in the factorisation (tag_rows > 0,
    # collective factorisation) and/or the user-profile tag similarity (its weight chosen on
    # validation inside fit); one iALS model, no EASE, no friends
    "ials_tags": (
        "blend_social_tags",
        {"weighting": "raw", "parts": ["tags"], "ials_models": 1},
    ),
    # iALS with a wider search (Rendle et al. 2021: more factors want their own λ)
    "ials_wide": ("ials", {"factors": 128, "iterations": 15}),
    # the same tags on top of the wider iALS (its reg 60 as chosen on validation); pair it
    # with ``--reference ials_wide``
    "ials_wide_tags": (
        "blend_social_tags",
        {
            "weighting": "raw",
            "parts": ["tags"],
            "ials_models": 1,
            "factors": 128,
            "reg": 60.0,
            "iterations": 15,
            "ials_weighting": "bm25",
            "tag_rows": 0.3,
        },
    ),
}
#: the wider iALS of ``ials_wide`` (reg 60 as chosen on validation on every seed)
WIDE_IALS = {
    "ials_models": 1,
    "factors": 128,
    "reg": 60.0,
    "iterations": 15,
    "ials_weighting": "bm25",
}
# Issue 18, second round (best18). Written down before any of them was run on the test split;
# designed after seeing the test scores of their parts (ials_wide, ials_wide_tags,
# blend_social_tags), so they are not independent of the test split as designs, while every
# parameter is fixed here or chosen on validation (part weights inside fit, grids below).
VARIANTS |= {
    # (a) the union of the two best side-information rows: the wider iALS collective with the
    # tags (as ials_wide_tags) plus the friends' training rows of blend_social_tags; social and
    # tag weights chosen on validation
    "ials_wide_social_tags": (
        "blend_social_tags",
        {"weighting": "raw", "parts": ["social", "tags"], "tag_rows": 0.3} | WIDE_IALS,
    ),
    # (a) the same with EASE as a third part (blend_social_tags on the wider iALS)
    "ials_wide_blend": (
        "blend_social_tags",
        {"weighting": "raw", "parts": ["ease", "social", "tags"], "tag_rows": 0.3} | WIDE_IALS,
    ),
    # (b) pure CF: the wider iALS + EASE (binary, λ 100, items with >= 2 users), EASE's weight
    # chosen on validation; no tag rows, no friends (side information unused)
    "ials_wide_ease": (
        "blend_social_tags",
        {"weighting": "raw", "parts": ["ease"], "tag_rows": 0.0} | WIDE_IALS,
    ),
    # (b) pure CF: iALS with 256 factors and 20 sweeps, its reg searched on validation
    "ials_xwide": ("ials", {"factors": 256, "iterations": 20}),
    # (c) ials_wide_social_tags with the friends in the factorisation as well (SoRec, Ma et
    # al. 2008: user–item and user–user matrices share the user factors): one pseudo-item
    # column per user, its friends, at friend_cols × the mean weight (chosen on validation)
    "ials_wide_sorec_tags": (
        "blend_social_tags",
        {"weighting": "raw", "parts": ["social", "tags"], "tag_rows": 0.3} | WIDE_IALS,
    ),
}
# Issue 18, third step (best18), written down after the validation trials of ials_xwide on
# seeds 1 and 2 (reg 120 → 0.173, reg 240 → 0.090 vs reg 60 → 0.229 validation NDCG@20: the
# grid was centred on the wrong side) and after their test scores (0.3000, 0.3012). Both
# rows are pure CF and choose reg on validation only.
VARIANTS |= {
    # ials_wide's own registered grid (reg 60/120/30 × alpha 1/3), run to the end: the
    # earlier runs got only its first point under load
    "ials_wide_searched": ("ials", {"factors": 128, "iterations": 15}),
    # 256 factors with reg at and below 60
    "ials_xwide_lowreg": ("ials", {"factors": 256, "iterations": 20}),
}
SPACES["ials_wide_tags"] = {}
SPACES["ials_xwide"] = {"weighting": ["bm25"], "reg": [120.0, 60.0, 240.0], "alpha": [1.0]}
SPACES["ials_wide_sorec_tags"] = {"friend_cols": [0.3, 1.0]}
SPACES["ials_tags"] = {"tag_rows": [0.3, 0.0, 1.0]}
SPACES["ials_wide"] = {"weighting": ["bm25"], "reg": [60.0, 120.0, 30.0], "alpha": [1.0, 3.0]}
SPACES["ials_wide_searched"] = SPACES["ials_wide"]
SPACES["ials_xwide_lowreg"] = {"weighting": ["bm25"], "reg": [60.0, 30.0, 15.0], "alpha": [1.0]}
#: models the benchmark never runs (the MLP hybrid's sandbox groups; the rating view)
SKIP = {"hybrid", "rating_mf", "rating_deep"}
#: iALS parameters cb2cf takes over from the seed's tuned iALS (run ``ials`` before ``cb2cf``)
IALS_TUNED = ("weighting", "factors", "reg", "alpha", "iterations")
#: dimensions of the tag content features
TAG_DIMS = 32


def side_information_used(row: str) -> str | None:
    """Which HetRec side information a benchmark row uses (``"friends + tags"``, ``"tags"``,
    ``"friends"``), ``None`` for pure collaborative filtering."""
    model_name, fixed = VARIANTS.get(row, (row, {}))
    if model_name in ("lightfm", "cb2cf"):
        return "tags"  # item content features
    if model_name != "blend_social_tags":
        return None
    parts = fixed.get("parts", SIDE_PARTS)
    space = SPACES.get(row, {})
    tag_rows = space.get("tag_rows", [fixed.get("tag_rows", 0.3)])
    tags = "tags" in parts or any(v > 0 for v in tag_rows)
    friend_cols = space.get("friend_cols", [fixed.get("friend_cols", 0.0)])
    friends = "social" in parts or any(v > 0 for v in friend_cols)
    used = [name for name, on in (("friends", friends), ("tags", tags)) if on]
    return " + ".join(used) or None


def tag_features(item_tags: sp.csr_matrix, seed: int) -> ItemFeatures:
    """Artist tag content: TF-IDF of the (withheld) tag counts, truncated SVD to ``TAG_DIMS``."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfTransformer

    tags = sp.csr_matrix(item_tags, dtype=np.float64)
    has = np.diff(tags.indptr) > 0
    tfidf = TfidfTransformer().fit_transform(tags)
    dims = min(TAG_DIMS, max(1, tags.shape[1] - 1))
    values = TruncatedSVD(dims, random_state=seed).fit_transform(tfidf)
    cols = [f"tag_{i}" for i in range(dims)]
    return ItemFeatures(values.astype(np.float32), cols, {"tags": cols}, has[:, None])


def run(
    data: Path,
    seeds: list[int],
    models: list[str],
    budget_s: float,
    reference: str | list[str] = "ials",
    budgets: dict[str, float] | None = None,
    budget_clock: str = "cpu",
    reuse: dict[str, dict[int, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Run the protocol; returns per-model, per-seed results and the aggregate. Every model
    is compared per user with the first ``reference`` when that runs first (``vs_ials``: the
    key keeps its name; ``reference`` says which model it is), and with each further
    reference that ran before it (``vs_more``, a list of the same records). ``budgets``
    overrides ``budget_s`` per row (0 = the first grid point only); budgets count
    ``budget_clock`` seconds. ``reuse``: model → seed → parameters fitted as they are,
    without a search."""
    references = [reference] if isinstance(reference, str) else list(reference)
    budgets = budgets or {}
    reuse = reuse or {}
    registry = load_models()
    interactions = read_user_artists(data)
    counts = interactions.counts
    hetrec_side = None

    def klass(row: str) -> Any:
        return registry.get(VARIANTS.get(row, (row, {}))[0])

    content = [m for m in models if getattr(klass(m), "scores_cold_items", False)]
    if content or any(getattr(klass(m), "uses_side_information", False) for m in models):
        hetrec_side = read_hetrec_side(data.parent, interactions.user_ids, interactions.item_ids)
    per_seed: dict[str, list[dict[str, Any]]] = {m: [] for m in models}
    for seed in seeds:
        split = holdout_split(counts, 0.2, seed, 0.2)
        ndcg_by_model: dict[str, Any] = {}
        best_by_model: dict[str, dict[str, Any]] = {}
        feats_val = feats_test = None
        if content and hetrec_side is not None:
            tags_val = hetrec_side.side_for(split.train, counts).item_tags
            tags_test = hetrec_side.side_for(split.train_full, counts).item_tags
            feats_val = tag_features(tags_val, seed) if tags_val is not None else None
            feats_test = tag_features(tags_test, seed) if tags_test is not None else None
        for name in models:
            model_name, fixed = VARIANTS.get(name, (name, {}))
            if model_name not in registry:
                continue
            accepted = set(registry[model_name]().params) | {"weighting"}
            base = {k: v for k, v in (BASE.get(name, {}) | fixed).items() if k in accepted}
            if "seed" in accepted:
                base["seed"] = seed
            if name in ("cb2cf", "ials_tags") and "ials" in best_by_model:
                # content on top of *tuned* iALS: this seed's chosen parameters (a blend fits
                # raw counts and weights them for iALS itself)
                ials_best = best_by_model["ials"]
                tuned_ials = {k: ials_best[k] for k in IALS_TUNED if k in ials_best}
                if model_name == "blend_social_tags":
                    tuned_ials["ials_weighting"] = tuned_ials.pop("weighting", "bm25")
                base |= tuned_ials
            # friends and tags; tag assignments of held-out pairs withheld (validation + test
            # while tuning, test for the final fit)
            uses_side = hetrec_side is not None and registry[model_name].uses_side_information
            side_val = hetrec_side.side_for(split.train, counts) if uses_side else None
            side_test = hetrec_side.side_for(split.train_full, counts) if uses_side else None
            tuned = {"best_params": base, "trials": 0, "tuning_s": 0.0, "tuning_cpu_s": 0.0}
            is_content = name in content
            space = SPACES.get(name, {} if uses_side else None)
            if seed in reuse.get(name, {}):
                tuned["best_params"] = reuse[name][seed]
                space = None
            if space is not None:
                start, cpu_start = time.perf_counter(), time.process_time()
                result = tune_model(
                    model_name,
                    split.train,
                    split.validation,
                    space,
                    base_params=base,
                    default_weighting="log",
                    k=20,
                    budget_s=budgets.get(name, budget_s),
                    side=side_val,
                    item_features=feats_val if is_content else None,
                    budget_clock=budget_clock,
                )
                tuned = {
                    "best_params": result.best_params,
                    "validation_ndcg@20": result.best_score,
                    "trials": len(result.trials),
                    "trial_table": json.loads(result.trials.to_json(orient="records")),
                    "tuning_s": time.perf_counter() - start,
                    "tuning_cpu_s": time.process_time() - cpu_start,
                    "budget_clock": budget_clock,
                }
            fit_cpu_start = time.process_time()
            model, fit_s = fit_model(
                model_name,
                tuned["best_params"],
                split.train_full,
                side=side_test,
                item_features=feats_test if is_content else None,
            )
            fit_cpu_s = time.process_time() - fit_cpu_start
            best_by_model[name] = dict(tuned["best_params"])
            evaluation = evaluate_recommender(model, split.train_full, split.test, ks=(20,))
            means = evaluation.means()
            ndcg_by_model[name] = evaluation.per_user.set_index("user")["ndcg@20"]
            row = {"seed": seed, "fit_s": fit_s, "fit_cpu_s": fit_cpu_s, **tuned, **means}
            for r, ref_name in enumerate(references):
                if name == ref_name or ref_name not in ndcg_by_model:
                    continue
                ref = ndcg_by_model[ref_name]
                mine = ndcg_by_model[name].reindex(ref.index)
                cmp = paired_comparison(mine.to_numpy(), ref.to_numpy(), n_boot=1000, seed=seed)
                record = {
                    "reference": ref_name,
                    "diff": cmp.mean_diff,
                    "ci": [cmp.ci_low, cmp.ci_high],
                    "p_wilcoxon": cmp.p_wilcoxon,
                    "n_users": cmp.n_users,
                }
                if r == 0:
                    row["vs_ials"] = record
                else:
                    row.setdefault("vs_more", []).append(record)
            per_seed[name].append(row)
            print(
                f"seed {seed} {name}: ndcg@20 {means['ndcg@20']:.4f} "
                f"recall@20 {means['recall@20']:.4f} fit {fit_s:.1f}s ({fit_cpu_s:.1f} CPU s) "
                f"params {tuned['best_params']}",
                flush=True,
            )
    return {"per_seed": per_seed, "summary": summarise(per_seed)}


def summarise(per_seed: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Mean ± std over seeds of each model's metrics and times."""
    summary: dict[str, Any] = {}
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
    return summary


def combine(base: dict[str, Any], parts: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """``base`` (a ``hetrec.json``) with the per-seed rows of ``parts`` (runs of some seeds
    and models each) put in: a part's (model, seed) row replaces the base's; the summary is
    recomputed over ``seeds``."""
    per_seed = {m: list(rows) for m, rows in base["per_seed"].items()}
    for part in parts:
        for name, rows in part["per_seed"].items():
            for row in rows:
                kept = [r for r in per_seed.get(name, []) if r["seed"] != row["seed"]]
                per_seed[name] = [*kept, row]
    per_seed = {
        m: sorted((r for r in rows if r["seed"] in seeds), key=lambda r: seeds.index(r["seed"]))
        for m, rows in per_seed.items()
    }
    models = list(dict.fromkeys([*base.get("models", []), *per_seed]))
    return base | {"per_seed": per_seed, "summary": summarise(per_seed), "models": models}


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
    side_rows = [
        f"`{name}` ({used})"
        for name, _ in ordered
        if (used := side_information_used(name)) is not None
    ]
    lines.append(
        "Rows that also use HetRec's side information, the friends graph (friends' training "
        "rows only) and/or artist tags (tag assignments of held-out user–artist pairs "
        f"withheld): {', '.join(side_rows) or 'none'}; their part weights are chosen on "
        "validation inside `fit`. Every other row is pure collaborative filtering on "
        "`user_artists.dat`."
    )
    lines.append("")
    paired = [
        (name, r | {"vs_ials": v})
        for name, rows in result["per_seed"].items()
        for r in rows
        for v in [r.get("vs_ials"), *r.get("vs_more", [])]
        if isinstance(v, dict)
    ]
    if paired:
        lines += [
            "Paired per-user NDCG@20 differences vs tuned iALS (same test users; 95 % "
            "bootstrap CI; * = the CI excludes 0):",
            "",
            "| model | seed | NDCG@20 | Δ vs ials [95 % CI] | p (Wilcoxon) |",
            "|---|---|---|---|---|",
        ]
        for name, r in paired:
            v = r["vs_ials"]
            star = "*" if v["ci"][0] > 0 or v["ci"][1] < 0 else ""
            vs = "" if v.get("reference", "ials") == "ials" else f" (vs `{v['reference']}`)"
            lines.append(
                f"| {name}{vs} | {r['seed']} | {r['ndcg@20']:.4f} | {v['diff']:+.4f} "
                f"[{v['ci'][0]:+.4f}, {v['ci'][1]:+.4f}]{star} | {v['p_wilcoxon']:.2g} |"
            )
        lines.append("")
    searched = [
        (name, r) for name, rows in result["per_seed"].items() for r in rows if r.get("trial_table")
    ]
    if searched:
        lines += [
            "Validation NDCG@20 of every trial run within the budget (the searched parameters "
            "→ score; the best is refitted on train and tested once):",
            "",
        ]
        for name, r in searched:
            trials = "; ".join(
                ", ".join(f"{k[6:]}={v}" for k, v in t.items() if k.startswith("param_"))
                + f" → {t['ndcg@20']:.4f}"
                + (f" ({t['cpu_s']:.0f} CPU s)" if t.get("cpu_s") is not None else "")
                for t in r["trial_table"]
            )
            spent = f"{r['tuning_s']:.0f} s"
            if r.get("tuning_cpu_s") is not None:
                spent += f", {r['tuning_cpu_s']:.0f} CPU s, {len(r['trial_table'])} trials"
            lines.append(f"- {name} seed {r['seed']} ({spent}): {trials}")
        lines.append("")
    lines.append("Best parameters per seed:")
    lines.append("")
    for name, rows in result["per_seed"].items():
        for r in rows:
            lines.append(f"- {name} seed {r['seed']}: `{json.dumps(r['best_params'])}`")
    return "\n".join(lines) + "\n"


def hand_written_notes(md: Path) -> str:
    """The hand-written sections of an existing ``hetrec.md`` (from its first ``## `` heading
    on; the generated part has none), so that ``--combine`` keeps them; ``""`` when none."""
    if not md.is_file():
        return ""
    _, sep, notes = md.read_text().partition("\n## ")
    return "\n## " + notes if sep else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 42])
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--budget", type=float, default=60.0, help="tuning seconds per model")
    parser.add_argument(
        "--budget-clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="what --budget counts: CPU seconds of this process (default) or wall seconds",
    )
    parser.add_argument(
        "--reuse-params",
        type=Path,
        help="a hetrec.json whose per-seed best parameters --reuse models are fitted with",
    )
    parser.add_argument("--reuse", nargs="+", default=[], help="models fitted without a search")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--reference",
        nargs="+",
        default=["ials"],
        help="the model(s) every other is paired with per user (the first is `vs_ials`)",
    )
    parser.add_argument(
        "--budget-for",
        nargs="+",
        default=[],
        metavar="ROW=SECONDS",
        help="per-row tuning budgets overriding --budget (0 = the first grid point only)",
    )
    parser.add_argument(
        "--merge", action="store_true", help="add these models to an existing hetrec.json"
    )
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        help="run nothing: put the rows of these hetrec.json files (runs of single seeds, run "
        "side by side) into --out's hetrec.json and rewrite hetrec.md",
    )
    args = parser.parse_args()
    if args.combine:
        target = args.out / "hetrec.json"
        parts = [json.loads(p.read_text()) for p in args.combine]
        result = combine(json.loads(target.read_text()), parts, args.seeds)
        target.write_text(json.dumps(result, indent=2, default=float))
        md = args.out / "hetrec.md"
        md.write_text(markdown(result, args.seeds) + hand_written_notes(md))
        return
    models = args.models or [m for m in load_models() if m not in SKIP]
    start = time.perf_counter()
    budgets = {}
    for item in args.budget_for:
        row, _, seconds = item.partition("=")
        try:
            budgets[row] = float(seconds)
        except ValueError:
            parser.error(f"--budget-for: expected ROW=SECONDS, got {item!r}")
    reuse: dict[str, dict[int, dict[str, Any]]] = {}
    if args.reuse:
        if args.reuse_params is None:
            parser.error("--reuse needs --reuse-params")
        stored = json.loads(args.reuse_params.read_text())["per_seed"]
        reuse = {m: {r["seed"]: r["best_params"] for r in stored.get(m, [])} for m in args.reuse}
    result = run(
        args.data,
        args.seeds,
        models,
        args.budget,
        args.reference,
        budgets,
        args.budget_clock,
        reuse,
    )
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
        "tuning_budget_clock": args.budget_clock,
        **wall,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hetrec.json").write_text(json.dumps(result, indent=2, default=float))
    (args.out / "hetrec.md").write_text(markdown(result, args.seeds))
    print(markdown(result, args.seeds))


if __name__ == "__main__":
    main()
