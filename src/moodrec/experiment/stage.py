"""The recommend stage as pure functions: split → tune and fit → evaluate → summary table.

Each step reads and writes files in the folders it is given and returns what it wrote, so
``tasks/recommend.py`` only wraps it in a cached Prefect task and registers the outputs (as
Cornac's ``Experiment`` owns fit → evaluate → table). The Markdown of the table is built by
:mod:`moodrec.report.recommend`.

Layout under ``data/<profile>/``:

``models/split/{train,validation,test,train_full}.npz``  raw-count matrices (+ id maps,
                                                         ``item_features.parquet``)
``models/<name>/``                                       saved model, id maps, ``tuning.parquet``
``reports/recommend/<name>_per_user.parquet``            per-user metrics of one model
``reports/recommend_metrics.{parquet,md}``, ``recommend_fits.json``  the summary
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from moodrec.evaluation.metrics import evaluate_recommender
from moodrec.evaluation.splits import cold_item_split, holdout_split
from moodrec.evaluation.stats import summarise_models

# the flows' light views of the config, re-exported here (the stage's whole interface)
from moodrec.experiment.params import SplitConfig as SplitConfig
from moodrec.experiment.params import export_users as export_users
from moodrec.experiment.params import model_params as model_params
from moodrec.experiment.params import model_tuning as model_tuning
from moodrec.experiment.tuning import fit_model, tune_model
from moodrec.features.content import load_item_features, write_features
from moodrec.interactions.matrix import (
    MAPS_NPZ,
    InteractionData,
    build_interactions,
    load_matrix,
    save_matrix,
)
from moodrec.interactions.ranking import RANKING_METRICS
from moodrec.models import load_model
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.config import TuningConfig
from moodrec.report.recommend import metrics_markdown, metrics_summary
from moodrec.storage import stage_outputs, write_parquet_atomic, write_text_atomic

logger = logging.getLogger(__name__)

SPLIT_PARTS = ("train", "validation", "test", "train_full")


def build_split(
    plays: pd.DataFrame, catalogue: np.ndarray, cfg: SplitConfig, out: Path
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Raw-count interactions over the catalogue, split per ``cfg``, written to ``out``.

    Parameters
    ----------
    plays
        Columns ``user_id``, ``track_id``, ``plays``.
    catalogue
        Every track id (cold tracks become empty columns).

    Returns
    -------
    (paths, summary)
        ``recommend_{train,validation,test,train_full,maps}`` → file; shapes and counts.
    """
    data = build_interactions(
        plays, weighting="raw", min_listeners=cfg.min_listeners, catalogue=catalogue
    )
    vf = cfg.validation_fraction or None
    if cfg.split == "cold_items":
        split = cold_item_split(data.counts, cfg.cold_item_fraction, cfg.seed, vf)
    else:
        split = holdout_split(data.counts, cfg.test_fraction, cfg.seed, vf)
    validation = split.validation
    if validation is None:
        validation = sp.csr_matrix(data.counts.shape, dtype=np.float32)
    parts = {
        "train": split.train,
        "validation": validation,
        "test": split.test,
        "train_full": split.train_full,
    }
    with stage_outputs(out, label="split") as staging:
        for k, v in parts.items():
            save_matrix(v, staging.path(out / f"{k}.npz"))
        data.save(staging.path(out))
    paths = {f"recommend_{k}": out / f"{k}.npz" for k in parts}
    paths["recommend_maps"] = out / MAPS_NPZ
    summary = {
        "n_users": data.n_users,
        "n_items": data.n_items,
        "n_interactions": int(data.counts.nnz),
        **{f"nnz_{k}": int(v.nnz) for k, v in parts.items()},
        "split": cfg.split,
    }
    return paths, summary


@dataclass
class FittedModel:
    """A model fitted on train + validation with the parameters tuning chose."""

    model: Recommender
    params: dict[str, Any]
    fit_s: float
    tuning_s: float = 0.0
    trials: pd.DataFrame | None = None

    @property
    def summary(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "params": self.params,
            "fit_s": self.fit_s,
            "tuning_s": self.tuning_s,
        }


def tune_and_fit(
    name: str,
    params: dict[str, Any],
    split_dir: Path,
    tuning: TuningConfig,
    weighting: str,
    features: ItemFeatures | None = None,
) -> FittedModel:
    """Tune ``name`` on train/validation (when ``tuning`` has its space), then fit on
    train + validation (validation kept for early stopping)."""
    train = load_matrix(split_dir / "train.npz")
    validation = load_matrix(split_dir / "validation.npz")
    train_full = load_matrix(split_dir / "train_full.npz")
    best, tuning_s, trials = dict(params), 0.0, None
    space = tuning.spaces.get(name, {}) if tuning.enabled else {}
    if space and validation.nnz:
        start = time.perf_counter()
        search = tuning.model_dump(
            include={"k", "budget_s", "budget_clock", "max_trials", "strategy", "seed"}
        )
        result = tune_model(
            name,
            train,
            validation,
            space,
            base_params=params,
            default_weighting=weighting,
            item_features=features,
            **search,
        )
        best, trials, tuning_s = result.best_params, result.trials, time.perf_counter() - start
        logger.info("%s: best %s (validation ndcg %.4f)", name, best, result.best_score)
    model, fit_s = fit_model(
        name,
        best,
        train_full,
        default_weighting=weighting,
        validation=validation if validation.nnz else None,
        item_features=features,
    )
    return FittedModel(model, best, fit_s, tuning_s, trials)


def save_fitted(
    fitted: FittedModel, split_dir: Path, folder: Path, weighting: str
) -> dict[str, Path]:
    """The model, the id maps beside it (for serving) and the tuning trials, in ``folder``
    (all or none)."""
    name = fitted.model.name
    user_ids, item_ids = InteractionData.load_maps(split_dir)
    train_full = load_matrix(split_dir / "train_full.npz")
    paths = {f"model_{name}": folder / "arrays.npz", f"model_{name}_meta": folder / "model.json"}
    with stage_outputs(folder, label=f"train-{name}") as staging:
        fitted.model.save(staging.path(folder))
        InteractionData(train_full, train_full, user_ids, item_ids, weighting).save(
            staging.path(folder)
        )
        if fitted.trials is not None:
            paths[f"model_{name}_tuning"] = staging.write_parquet(
                pa.Table.from_pandas(fitted.trials.astype({"status": str}), preserve_index=False),
                folder / "tuning.parquet",
            )
    return paths


def build_features(
    split_dir: Path, tracks_path: Path | str, truth_tracks_path: Path | str
) -> tuple[Path, dict[str, Any]]:
    """Content features of every catalogue item → ``<split_dir>/item_features.parquet`` (+ its
    group map); returns the path and the link report (for content-aware models)."""
    _, item_ids = InteractionData.load_maps(split_dir)
    content = load_item_features(item_ids, tracks_path, truth_tracks_path)
    out = write_features(content, item_ids, split_dir / "item_features.parquet")
    return out, content.report


def build_stage_features(
    split_dir: Path, stage_paths: dict[str, Path | str]
) -> tuple[Path, dict[str, Any]]:
    """Content features of every catalogue item of a real log from stage outputs
    (:func:`~moodrec.features.stage_content.load_stage_features`: ``content_report``,
    ``track_genre_vectors``, ``track_clusters``, ``track_topics``) → ``<split_dir>/
    item_features.parquet``; returns the path and the availability report."""
    from moodrec.features.stage_content import load_stage_features

    _, item_ids = InteractionData.load_maps(split_dir)
    content = load_stage_features(
        item_ids,
        content_report=stage_paths.get("content_report"),
        genre_vectors=stage_paths.get("track_genre_vectors"),
        clusters=stage_paths.get("track_clusters"),
        track_topics=stage_paths.get("track_topics"),
    )
    out = write_features(content, item_ids, split_dir / "item_features.parquet")
    return out, content.report


def evaluate_saved(
    model_dir: Path, split_dir: Path, ks: list[int], out: Path, min_test_items: int = 1
) -> tuple[Path, dict[str, Any]]:
    """Full-ranking evaluation of a saved model on the test matrix, training items excluded.

    Only users with at least ``min_test_items`` test items count. Returns the written
    per-user table (``out``) and ``{"model", "eval_s", "n_users", <metric means>}``.
    """
    model = load_model(model_dir)
    train_full = load_matrix(split_dir / "train_full.npz")
    test = load_matrix(split_dir / "test.npz")
    start = time.perf_counter()
    result = evaluate_recommender(
        model,
        train_full,
        test,
        ks=tuple(ks),
        min_test_items=min_test_items,
        progress_name=f"evaluate {model.name}: users",
    )
    eval_s = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    path = write_parquet_atomic(pa.Table.from_pandas(result.per_user, preserve_index=False), out)
    n_users = len(result.per_user)
    return path, {"model": model.name, "eval_s": eval_s, "n_users": n_users, **result.means()}


def withheld_reason(
    per_user: dict[str, pd.DataFrame], min_eval_users: int, min_test_items: int
) -> str | None:
    """Why no metrics may be published, or None: fewer than ``min_eval_users`` evaluated users.

    Means over a handful of users are noise dressed as results (a one-user log scores NDCG
    1.0 for every model, popularity included).
    """
    n = min((len(t) for t in per_user.values()), default=0)
    if n >= min_eval_users:
        return None
    return (
        f"metrics withheld: {n} user(s) with at least {min_test_items} held-out item(s) "
        f"were evaluated, fewer than recommend.min_eval_users = {min_eval_users}; means over "
        "so few users say nothing about the models (add a population of listeners, e.g. "
        "HetRec or Last.fm 1K, to the log, or lower recommend.min_eval_users knowingly)"
    )


def write_withheld(
    reason: str, n_users: int, fits: dict[str, dict[str, Any]], out: Path
) -> tuple[dict[str, Path], dict[str, Any], str]:
    """In place of :func:`write_summary`: the reason as ``recommend_metrics.md`` (no table)
    and ``recommend_fits.json``; the summary says ``withheld`` with the count."""
    markdown = f"**{reason}.**\n"
    with stage_outputs(out, label="evaluate") as staging:
        # an earlier run's table must not be read as this run's
        staging.remove(out / "recommend_metrics.parquet")
        paths = {
            "recommend_metrics_md": staging.write_text(out / "recommend_metrics.md", markdown),
            "recommend_fits": staging.write_json(
                out / "recommend_fits.json", dict(sorted(fits.items()))
            ),
        }
    return paths, {"withheld": True, "reason": reason, "n_users": n_users}, markdown


def metrics_table(
    per_user: dict[str, pd.DataFrame],
    evaluations: dict[str, dict[str, Any]],
    fits: dict[str, dict[str, Any]],
    ks: list[int],
    n_boot: int,
    seed: int,
) -> pd.DataFrame:
    """Per-model mean ± 95 % CI of every metric, coverage, fit and evaluation seconds.

    ``evaluations`` / ``fits`` are the summaries of :func:`evaluate_saved` /
    :attr:`FittedModel.summary` by model. The paired comparison (NDCG@max k, Wilcoxon) is
    against ``popularity`` when it ran. Sorted by NDCG@max k, best first.
    """
    kmax = max(ks)
    # RANKING_METRICS starts with ndcg: the paired test is on NDCG at the largest k
    metrics = [f"{m}@{k}" for k in sorted(ks, reverse=True) for m in RANKING_METRICS]
    metrics += [f"novelty@{k}" for k in ks]
    reference = "popularity" if "popularity" in per_user else None
    table = summarise_models(per_user, metrics, n_boot=n_boot, seed=seed, reference=reference)
    names = table["model"]
    table[f"coverage@{kmax}"] = [evaluations[n][f"coverage@{kmax}"] for n in names]
    table["fit_s"] = [fits[n]["fit_s"] for n in names]
    table["eval_s"] = [evaluations[n]["eval_s"] for n in names]
    return table.sort_values(f"ndcg@{kmax}", ascending=False, kind="stable")


def write_summary(
    table: pd.DataFrame, fits: dict[str, dict[str, Any]], ks: list[int], out: Path
) -> tuple[dict[str, Path], dict[str, Any], str]:
    """``recommend_metrics.{parquet,md}`` and ``recommend_fits.json`` in ``out``.

    Returns the paths, the summary (best model, per-model NDCG/Recall/fit time) and the
    Markdown table.
    """
    markdown = metrics_markdown(table, ks)
    with stage_outputs(out, label="evaluate") as staging:
        paths = {
            "recommend_metrics": staging.write_parquet(
                pa.Table.from_pandas(table, preserve_index=False),
                out / "recommend_metrics.parquet",
            ),
            "recommend_metrics_md": staging.write_text(out / "recommend_metrics.md", markdown),
            "recommend_fits": staging.write_json(
                out / "recommend_fits.json", dict(sorted(fits.items()))
            ),
        }
    return paths, metrics_summary(table, ks), markdown


def write_user_recommendations(
    model_dir: Path, data_dir: Path, users: list[str], k: int, out: Path
) -> tuple[Path, dict[str, Any]]:
    """Top-``k`` per user (their own items excluded) from a saved model → Markdown ``out``.

    Returns the file and ``{"model", "users": {user: n listed}}``; a user the model does not
    know is listed with the reason instead of failing the stage.
    """
    from moodrec.errors import InputDataError
    from moodrec.models.serving import RecommenderService

    service = RecommenderService(model_dir, data_dir)
    name = service.model.name
    lines = [f"# Recommendations from `{name}` (top {k}, the user's own items excluded)", ""]
    counts: dict[str, int] = {}
    for user in users:
        lines.append(f"## {user}")
        lines.append("")
        try:
            frame = service.recommend(user, k, exclude_seen=True)
        except InputDataError as exc:
            lines += [f"Not listed: {exc}.", ""]
            counts[user] = 0
            continue
        counts[user] = len(frame)
        if frame.empty:
            lines += ["None: the user played every item anyone else played.", ""]
            continue
        titled = bool((frame["title"] != "").any())  # artist-level items have no title
        lines.append("| rank | artist | title | score |" if titled else "| rank | artist | score |")
        lines.append("|---|---|---|---|" if titled else "|---|---|---|")
        for r in frame.itertuples(index=False):
            title = f" {r.title} |" if titled else ""
            lines.append(f"| {r.rank} | {r.artist} |{title} {r.score:.4f} |")
        lines.append("")
    path = write_text_atomic(out, "\n".join(lines))
    return path, {"model": name, "users": counts}
