"""Prefect tasks of the recommenders stage: each wraps one step of
:mod:`moodrec.experiment.stage` (split, fit, features, evaluate, summarise), cached on its
inputs' content fingerprints and its config, and registers what the step wrote.

The stage's libraries (scipy, pandas, the models) are imported by each task when it runs, not
with this module: an unchanged re-run, every task cached, never loads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from moodrec.catalogue import Catalogue
from moodrec.experiment.params import SplitConfig
from moodrec.models.config import TuningConfig
from moodrec.storage import DatasetRef
from moodrec.tasks.cache_policy import CHECKPOINT_CACHE


def _split_dir(split_refs: dict[str, DatasetRef]) -> Path:
    return Path(split_refs["recommend_maps"].path).parent


@task(name="build-recommend-split", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def build_recommend_split(
    plays_ref: DatasetRef, tracks_ref: DatasetRef, cfg: SplitConfig, data_dir: str
) -> dict[str, Any]:
    """Raw-count matrices ``models/split/{train,validation,test,train_full}.npz`` and id maps.

    Returns ``{"refs": {...}, "summary": {...}}``.
    """
    import pandas as pd

    from moodrec.experiment import stage

    plays = pd.read_parquet(plays_ref.path, columns=["user_id", "track_id", "plays"])
    tracks = pd.read_parquet(tracks_ref.path, columns=["track_id"])
    out = Catalogue(data_dir).layer_dir("models") / "split"
    paths, summary = stage.build_split(plays, tracks["track_id"].to_numpy(), cfg, out)
    get_run_logger().info("recommend split: %s", summary)
    return {"refs": Catalogue(data_dir).register_many(paths), "summary": summary}


@task(name="fit-recommender", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def fit_recommender(
    name: str,
    params: dict[str, Any],
    split_refs: dict[str, DatasetRef],
    tuning: TuningConfig,
    weighting: str,
    data_dir: str,
    features_ref: DatasetRef | None = None,
) -> dict[str, Any]:
    """Tune (when ``tuning`` holds a space for ``name``), fit on train + validation, save to
    ``models/<name>/``. Returns ``{"refs": {...}, "summary": {"model", "params", "fit_s",
    "tuning_s"}}``."""
    from moodrec.experiment import stage
    from moodrec.features.content import read_features

    features = read_features(features_ref.path) if features_ref is not None else None
    split_dir = _split_dir(split_refs)
    fitted = stage.tune_and_fit(name, params, split_dir, tuning, weighting, features)
    folder = Catalogue(data_dir).layer_dir("models") / name
    paths = stage.save_fitted(fitted, split_dir, folder, weighting)
    get_run_logger().info("%s fitted in %.2fs with %s", name, fitted.fit_s, fitted.params)
    return {"refs": Catalogue(data_dir).register_many(paths), "summary": fitted.summary}


@task(name="build-recommend-features", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def build_recommend_features(
    maps_ref: DatasetRef, tracks_ref: DatasetRef, truth_tracks_ref: DatasetRef, data_dir: str
) -> dict[str, Any]:
    """Content features of every catalogue item (for content-aware models such as ``hybrid``):
    ``models/split/item_features.parquet`` + its group map. Returns refs and the link report."""
    from moodrec.experiment import stage

    split_dir = Path(maps_ref.path).parent
    out, report = stage.build_features(split_dir, tracks_ref.path, truth_tracks_ref.path)
    refs = Catalogue(data_dir).register_many({"recommend_item_features": out})
    return {"refs": refs, "summary": report}


@task(name="build-recommend-stage-features", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def build_recommend_stage_features(
    maps_ref: DatasetRef, stage_refs: dict[str, DatasetRef], data_dir: str
) -> dict[str, Any]:
    """Content features of every catalogue item of a real log from the content join, genres,
    clusters and topics checkpoints in ``stage_refs`` (their fingerprints key the cache)."""
    from moodrec.experiment import stage

    split_dir = Path(maps_ref.path).parent
    out, report = stage.build_stage_features(
        split_dir, {k: Path(v.path) for k, v in stage_refs.items()}
    )
    refs = Catalogue(data_dir).register_many({"recommend_item_features": out})
    get_run_logger().info("item content available per group: %s", report["available"])
    return {"refs": refs, "summary": report}


@task(name="evaluate-recommender", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def evaluate_saved_model(
    name: str,
    model_refs: dict[str, DatasetRef],
    split_refs: dict[str, DatasetRef],
    ks: list[int],
    data_dir: str,
    min_test_items: int = 1,
) -> dict[str, Any]:
    """Full-ranking test metrics of a saved model → ``reports/recommend/<name>_per_user.parquet``;
    returns refs and mean metrics (users with at least ``min_test_items`` test items)."""
    from moodrec.experiment import stage

    out = Catalogue(data_dir).layer_dir("reports") / "recommend" / f"{name}_per_user.parquet"
    model_dir = Path(model_refs[f"model_{name}"].path).parent
    path, summary = stage.evaluate_saved(model_dir, _split_dir(split_refs), ks, out, min_test_items)
    refs = Catalogue(data_dir).register_many({f"recommend_per_user_{name}": path})
    return {"refs": refs, "summary": summary}


@task(name="summarise-recommenders", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def summarise_recommenders(
    evaluations: dict[str, dict[str, Any]],
    fits: dict[str, dict[str, Any]],
    ks: list[int],
    n_boot: int,
    seed: int,
    data_dir: str,
    min_eval_users: int = 1,
    min_test_items: int = 1,
) -> dict[str, Any]:
    """Per-model mean ± 95 % CI table (Parquet + Markdown) with coverage, novelty, fit time;
    withheld (the reason in its place) when fewer than ``min_eval_users`` users count."""
    import pandas as pd

    from moodrec.experiment import stage

    per_user = {
        name: pd.read_parquet(ev["refs"][f"recommend_per_user_{name}"].path)
        for name, ev in evaluations.items()
    }
    means = {name: ev["summary"] for name, ev in evaluations.items()}
    fitted = {name: fit["summary"] for name, fit in fits.items()}
    reason = stage.withheld_reason(per_user, min_eval_users, min_test_items)
    if reason is not None:
        get_run_logger().warning(reason)
        n_users = min((len(t) for t in per_user.values()), default=0)
        out = Catalogue(data_dir).layer_dir("reports")
        paths, summary, markdown = stage.write_withheld(reason, n_users, fitted, out)
        refs = Catalogue(data_dir).register_many(paths)
        return {"refs": refs, "summary": summary, "markdown": markdown}
    table = stage.metrics_table(per_user, means, fitted, ks, n_boot, seed)
    out = Catalogue(data_dir).layer_dir("reports")
    paths, summary, markdown = stage.write_summary(table, fitted, ks, out)
    refs = Catalogue(data_dir).register_many(paths)
    return {"refs": refs, "summary": summary, "markdown": markdown}


@task(name="recommend-for-report", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def recommend_for_report(
    name: str,
    model_refs: dict[str, DatasetRef],
    tracks_ref: DatasetRef,
    users: list[str],
    k: int,
    data_dir: str,
) -> dict[str, Any]:
    """Top-``k`` of each of ``users`` from the saved model → ``reports/recommendations.md``.

    ``tracks_ref`` (titles) is only part of the cache key."""
    from moodrec.experiment import stage

    model_ref = model_refs[f"model_{name}"]
    cat = Catalogue(data_dir)
    out = cat.layer_dir("reports") / "recommendations.md"
    path, summary = stage.write_user_recommendations(
        Path(model_ref.path).parent, Path(data_dir), users, k, out
    )
    return {"refs": cat.register_many({"user_recommendations": path}), "summary": summary}
