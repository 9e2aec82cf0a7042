"""Prefect tasks of the recommenders stage: build the split, fit one model, evaluate one model,
summarise. Each task is cached on its inputs' content fingerprints and its config."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from prefect import get_run_logger, task

from moodrec.catalogue import Catalogue
from moodrec.evaluation.metrics import RANKING_METRICS, evaluate_recommender
from moodrec.evaluation.splits import cold_item_split, holdout_split
from moodrec.evaluation.stats import summarise_models
from moodrec.experiment.tuning import fit_model, tune_model
from moodrec.interactions.matrix import InteractionData, build_interactions
from moodrec.models import load_models
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.storage import (
    DatasetRef,
    atomic_path,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from moodrec.tasks.cache_policy import CHECKPOINT_CACHE

SPLIT_PARTS = ("train", "validation", "test", "train_full")


def _save_npz(matrix: sp.csr_matrix, path: Path) -> Path:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        sp.save_npz(fh, sp.csr_matrix(matrix), compressed=False)
    return path


def load_split_matrix(ref: DatasetRef) -> sp.csr_matrix:
    """A split matrix written by :func:`build_recommend_split` (no pickle involved)."""
    m = sp.load_npz(ref.path).tocsr()
    m.sort_indices()
    return m


@task(name="build-recommend-split", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def build_recommend_split(
    plays_ref: DatasetRef, tracks_ref: DatasetRef, split_cfg: dict[str, Any], data_dir: str
) -> dict[str, Any]:
    """Interaction counts from ``plays`` over the tracks catalogue, split per ``split_cfg``.

    ``split_cfg`` holds ``min_listeners``, ``split``, ``test_fraction``,
    ``validation_fraction``, ``cold_item_fraction``, ``seed``. Writes raw-count matrices
    ``models/split/{train,validation,test,train_full}.npz`` and the id maps beside them.
    Returns ``{"refs": {...}, "summary": {...}}``.
    """
    plays = pd.read_parquet(plays_ref.path, columns=["user_id", "track_id", "plays"])
    tracks = pd.read_parquet(tracks_ref.path, columns=["track_id"])
    data = build_interactions(
        plays,
        weighting="raw",
        min_listeners=int(split_cfg["min_listeners"]),
        catalogue=tracks["track_id"].to_numpy(),
    )
    vf = split_cfg["validation_fraction"] or None
    if split_cfg["split"] == "cold_items":
        split = cold_item_split(data.counts, split_cfg["cold_item_fraction"], split_cfg["seed"], vf)
    else:
        split = holdout_split(data.counts, split_cfg["test_fraction"], split_cfg["seed"], vf)
    out = Catalogue(data_dir).layer_dir("models") / "split"
    out.mkdir(parents=True, exist_ok=True)
    validation = split.validation
    if validation is None:
        validation = sp.csr_matrix(data.counts.shape, dtype=np.float32)
    parts = {
        "train": split.train,
        "validation": validation,
        "test": split.test,
        "train_full": split.train_full,
    }
    paths = {f"recommend_{k}": _save_npz(v, out / f"{k}.npz") for k, v in parts.items()}
    data.save(out)
    paths["recommend_maps"] = out / "interactions_maps.npz"
    refs = Catalogue(data_dir).register_many(paths)
    summary = {
        "n_users": data.n_users,
        "n_items": data.n_items,
        "n_interactions": int(data.counts.nnz),
        **{f"nnz_{k}": int(v.nnz) for k, v in parts.items()},
        "split": split_cfg["split"],
    }
    get_run_logger().info("recommend split: %s", summary)
    return {"refs": refs, "summary": summary}


@task(name="fit-recommender", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def fit_recommender(
    name: str,
    params: dict[str, Any],
    split_refs: dict[str, DatasetRef],
    tuning: dict[str, Any],
    default_weighting: str,
    data_dir: str,
    features_ref: DatasetRef | None = None,
) -> dict[str, Any]:
    """Tune (when ``tuning["space"]`` is non-empty) on train/validation, then fit on
    train + validation and save to ``models/<name>/`` with the id maps beside it.

    Returns ``{"refs": {...}, "summary": {"model", "params", "fit_s", "tuning_s", ...}}``.
    """
    logger = get_run_logger()
    load_models()
    train = load_split_matrix(split_refs["recommend_train"])
    validation = load_split_matrix(split_refs["recommend_validation"])
    train_full = load_split_matrix(split_refs["recommend_train_full"])
    features = _read_features(features_ref)
    best = dict(params)
    tuning_s, trials = 0.0, None
    if tuning.get("space") and validation.nnz:
        start = time.perf_counter()
        result = tune_model(
            name,
            train,
            validation,
            tuning["space"],
            base_params=params,
            default_weighting=default_weighting,
            k=tuning["k"],
            budget_s=tuning["budget_s"],
            max_trials=tuning["max_trials"],
            strategy=tuning["strategy"],
            seed=tuning["seed"],
            item_features=features,
        )
        best, trials, tuning_s = result.best_params, result.trials, time.perf_counter() - start
        logger.info("%s: best %s (validation ndcg %.4f)", name, best, result.best_score)
    model, fit_s = fit_model(
        name,
        best,
        train_full,
        default_weighting=default_weighting,
        validation=validation if validation.nnz else None,
        item_features=features,
    )
    folder = Catalogue(data_dir).layer_dir("models") / name
    model.save(folder)
    user_ids, item_ids = InteractionData.load_maps(Path(split_refs["recommend_maps"].path).parent)
    InteractionData(train_full, train_full, user_ids, item_ids, default_weighting).save(folder)
    paths = {f"model_{name}": folder / "arrays.npz", f"model_{name}_meta": folder / "model.json"}
    if trials is not None:
        paths[f"model_{name}_tuning"] = write_parquet_atomic(
            pa.Table.from_pandas(trials.astype({"status": str}), preserve_index=False),
            folder / "tuning.parquet",
        )
    refs = Catalogue(data_dir).register_many(paths)
    logger.info("%s fitted in %.2fs", name, fit_s)
    summary = {"model": name, "params": best, "fit_s": fit_s, "tuning_s": tuning_s}
    return {"refs": refs, "summary": summary}


def _read_features(ref: DatasetRef | None) -> ItemFeatures | None:
    if ref is None:
        return None
    from moodrec.features.content import features_from_frame

    groups = json.loads(Path(ref.path).with_suffix(".groups.json").read_text())
    return features_from_frame(pd.read_parquet(ref.path), groups)


@task(name="build-recommend-features", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def build_recommend_features(
    maps_ref: DatasetRef, tracks_ref: DatasetRef, truth_tracks_ref: DatasetRef, data_dir: str
) -> dict[str, Any]:
    """Content features of every catalogue item (for content-aware models such as ``hybrid``).

    Writes ``models/split/item_features.parquet`` and its group map
    ``item_features.groups.json``; returns ``{"refs": {...}, "summary": report}``.
    """
    from moodrec.features.content import features_frame, load_item_features

    _, item_ids = InteractionData.load_maps(Path(maps_ref.path).parent)
    content = load_item_features(item_ids, tracks_ref.path, truth_tracks_ref.path)
    out = Path(maps_ref.path).parent / "item_features.parquet"
    write_parquet_atomic(
        pa.Table.from_pandas(features_frame(content, item_ids), preserve_index=False), out
    )
    write_json_atomic(out.with_suffix(".groups.json"), content.features.groups)
    refs = Catalogue(data_dir).register_many({"recommend_item_features": out})
    return {"refs": refs, "summary": content.report}


@task(name="evaluate-recommender", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def evaluate_saved_model(
    name: str,
    model_refs: dict[str, DatasetRef],
    split_refs: dict[str, DatasetRef],
    ks: list[int],
    data_dir: str,
) -> dict[str, Any]:
    """Full-ranking evaluation of a saved model on the test matrix (training items excluded).

    Writes ``reports/recommend/<name>_per_user.parquet``; returns refs and mean metrics.
    """
    load_models()
    model = Recommender.load(Path(model_refs[f"model_{name}"].path).parent)
    train_full = load_split_matrix(split_refs["recommend_train_full"])
    test = load_split_matrix(split_refs["recommend_test"])
    start = time.perf_counter()
    result = evaluate_recommender(model, train_full, test, ks=tuple(ks))
    eval_s = time.perf_counter() - start
    out = Catalogue(data_dir).layer_dir("reports") / "recommend"
    out.mkdir(parents=True, exist_ok=True)
    path = write_parquet_atomic(
        pa.Table.from_pandas(result.per_user, preserve_index=False),
        out / f"{name}_per_user.parquet",
    )
    refs = Catalogue(data_dir).register_many({f"recommend_per_user_{name}": path})
    summary = {"model": name, "eval_s": eval_s, **result.means()}
    return {"refs": refs, "summary": summary}


@task(name="summarise-recommenders", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def summarise_recommenders(
    evaluations: dict[str, dict[str, Any]],
    fits: dict[str, dict[str, Any]],
    ks: list[int],
    n_boot: int,
    seed: int,
    data_dir: str,
) -> dict[str, Any]:
    """Per-model mean ± 95 % CI table (Parquet + Markdown) with coverage, novelty, fit time.

    The paired comparison (NDCG@max k, Wilcoxon) is against ``popularity`` when it ran.
    """
    per_user = {
        name: pd.read_parquet(ev["refs"][f"recommend_per_user_{name}"].path)
        for name, ev in evaluations.items()
    }
    kmax = max(ks)
    # RANKING_METRICS starts with ndcg: the paired test is on NDCG at the largest k
    metrics = [f"{m}@{k}" for k in sorted(ks, reverse=True) for m in RANKING_METRICS]
    metrics += [f"novelty@{k}" for k in ks]
    reference = "popularity" if "popularity" in per_user else None
    table = summarise_models(per_user, metrics, n_boot=n_boot, seed=seed, reference=reference)
    names = table["model"]
    table[f"coverage@{kmax}"] = [evaluations[n]["summary"][f"coverage@{kmax}"] for n in names]
    table["fit_s"] = [fits[n]["summary"]["fit_s"] for n in table["model"]]
    table["eval_s"] = [evaluations[n]["summary"]["eval_s"] for n in table["model"]]
    table = table.sort_values(f"ndcg@{kmax}", ascending=False, kind="stable")
    out = Catalogue(data_dir).layer_dir("reports")
    out.mkdir(parents=True, exist_ok=True)
    parquet = write_parquet_atomic(
        pa.Table.from_pandas(table, preserve_index=False), out / "recommend_metrics.parquet"
    )
    markdown = metrics_markdown(table, ks)
    md = write_text_atomic(out / "recommend_metrics.md", markdown)
    js = write_json_atomic(
        out / "recommend_fits.json", {n: f["summary"] for n, f in sorted(fits.items())}
    )
    refs = Catalogue(data_dir).register_many(
        {"recommend_metrics": parquet, "recommend_metrics_md": md, "recommend_fits": js}
    )
    best = table.iloc[0]
    summary = {
        "best_model": str(best["model"]),
        f"best_ndcg@{kmax}": float(best[f"ndcg@{kmax}"]),
        "models": {
            str(r["model"]): {
                f"ndcg@{kmax}": round(float(r[f"ndcg@{kmax}"]), 4),
                f"recall@{kmax}": round(float(r[f"recall@{kmax}"]), 4),
                "fit_s": round(float(r["fit_s"]), 3),
            }
            for _, r in table.iterrows()
        },
    }
    return {"refs": refs, "summary": summary, "markdown": markdown}


def metrics_markdown(table: pd.DataFrame, ks: list[int]) -> str:
    """The metrics table as Markdown: ``mean [low, high]`` per metric and k."""
    kmax = max(ks)
    cols = [f"{m}@{kmax}" for m in RANKING_METRICS]
    head = ["model", *cols, f"coverage@{kmax}", f"novelty@{kmax}", "fit s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [str(r["model"])]
        for c in cols:
            cells.append(f"{r[c]:.4f} [{r[c + '_ci_low']:.4f}, {r[c + '_ci_high']:.4f}]")
        cells += [
            f"{r[f'coverage@{kmax}']:.4f}",
            f"{r[f'novelty@{kmax}']:.2f}",
            f"{r['fit_s']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        f"\nMean over test users with a 95 % bootstrap CI; full-catalogue ranking, training "
        f"items excluded, ties by lower item index; k = {kmax}.\n"
    )
    return "\n".join(lines) + "\n" + note
