"""``train_flow`` and ``evaluate_flow``: fit the configured recommenders, evaluate them honestly."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from prefect import flow

from moodrec import progress
from moodrec.catalogue import Catalogue
from moodrec.config.schema import Settings, is_synthetic_source
from moodrec.errors import ModelError
from moodrec.experiment.params import SplitConfig, export_users, model_params, model_tuning
from moodrec.flows.common import content_stage_refs, sandbox_world, stage_settings
from moodrec.flows.ingest import ingest_outputs
from moodrec.models import MODEL_MODULES, model_classes
from moodrec.storage import DatasetRef, describe_file
from moodrec.tasks.artifacts import publish_checkpoints
from moodrec.tasks.checkpoints import run_checkpoint_task
from moodrec.tasks.recommend import (
    build_recommend_features,
    build_recommend_split,
    build_recommend_stage_features,
    evaluate_saved_model,
    fit_recommender,
    recommend_for_report,
    summarise_recommenders,
)
from moodrec.tasks.sandbox import world_dir

if TYPE_CHECKING:
    import pandas as pd


def _interim(
    profile: str, settings: Settings, data_dir: str, overrides: dict[str, Any] | None
) -> dict:
    """Fingerprinted ``plays`` and ``tracks`` of the configured source.

    The files in the folder are used when present; otherwise the ingest flow of
    ``ingest.source`` writes them, unless ingest is in ``orchestration.skip`` (then the
    stage stops, naming what is missing: a skipped stage is never re-run).
    """
    cat = Catalogue(data_dir)
    if not (cat.path("plays").is_file() and cat.path("tracks").is_file()):
        ingest_outputs(profile, settings, data_dir, overrides, ("plays", "tracks"), "train")
    return {name: describe_file(name, cat.path(name)) for name in ("plays", "tracks")}


def _train(
    profile: str, settings: Settings, data_dir: str, overrides: dict[str, Any] | None
) -> dict[str, Any]:
    cfg = settings.recommend
    unknown = [m for m in cfg.models if m not in MODEL_MODULES]
    if unknown:
        raise ModelError(f"recommend.models: unknown {unknown}; registered {sorted(MODEL_MODULES)}")
    # only the configured models' modules: a cached stage of classical models imports no torch
    registry = model_classes(cfg.models)
    interim = _interim(profile, settings, data_dir, overrides)
    split = run_checkpoint_task(
        build_recommend_split,
        interim["plays"],
        interim["tracks"],
        SplitConfig.of(cfg),
        data_dir,
        data_dir=data_dir,
    )
    features_ref: DatasetRef | None = None
    features_summary: dict[str, Any] = {}
    if any(registry[m].scores_cold_items for m in cfg.models) and not is_synthetic_source(settings):
        # a real log: content from the content join, genres, clusters and topics stages
        feats = run_checkpoint_task(
            build_recommend_stage_features,
            split["refs"]["recommend_maps"],
            content_stage_refs(data_dir, [m for m in cfg.models if registry[m].scores_cold_items]),
            data_dir,
            data_dir=data_dir,
        )
        features_ref = feats["refs"]["recommend_item_features"]
        features_summary = feats["summary"]
    elif any(registry[m].scores_cold_items for m in cfg.models):
        sandbox_world(settings, data_dir)
        truth = world_dir(data_dir, settings.sandbox) / "truth" / "tracks.parquet"
        feats = run_checkpoint_task(
            build_recommend_features,
            split["refs"]["recommend_maps"],
            interim["tracks"],
            describe_file("sandbox_truth_tracks", truth),
            data_dir,
            data_dir=data_dir,
        )
        features_ref = feats["refs"]["recommend_item_features"]
        features_summary = feats["summary"]
    fits: dict[str, dict[str, Any]] = {}
    for name in cfg.models:
        fits[name] = run_checkpoint_task(
            fit_recommender,
            name,
            model_params(cfg, name),
            split["refs"],
            model_tuning(cfg, name),
            cfg.weighting,
            data_dir,
            features_ref if registry[name].scores_cold_items else None,
            data_dir=data_dir,
        )
    return {"split": split, "fits": fits, "features": features_summary}


@flow(name="train", log_prints=False)
def train_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fit every model of ``recommend.models`` on the training split; save under ``models/``.

    Parameters
    ----------
    profile
        Config profile name or path.
    overrides
        Nested overrides; ``{"recommend": {"models": ["ease"], "params": {"ease":
        {"lambda_": 50}}}}`` sets :class:`~moodrec.models.config.RecommendConfig` fields.

    Returns
    -------
    dict
        ``data_dir``, ``split`` (refs + summary) and ``fits`` (per model: refs + summary).
    """
    settings, data_dir = stage_settings(profile, overrides)
    result = _train(profile, settings, data_dir, overrides)
    refs = dict(result["split"]["refs"])
    for fit in result["fits"].values():
        refs |= fit["refs"]
    summary = {
        "split": result["split"]["summary"],
        "fits": {n: f["summary"] for n, f in result["fits"].items()},
    }
    synthetic = is_synthetic_source(settings)
    publish_checkpoints("train", refs, summary, settings.profile, synthetic)
    return {"data_dir": data_dir, "synthetic": synthetic, **result}


@flow(name="evaluate", log_prints=False)
def evaluate_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train (cached) and evaluate every configured model on the test split.

    Full-catalogue ranking with training items excluded; per-user metrics, then a table of
    mean ± 95 % CI (NDCG/Recall/HR/MRR/MAP/Precision@K, coverage, novelty, fit time) written
    to ``reports/recommend_metrics.{parquet,md}`` and published as artifacts.

    Returns
    -------
    dict
        ``data_dir``, ``table`` (summary dict), ``markdown`` and ``refs``.
    """
    settings, data_dir = stage_settings(profile, overrides)
    cfg = settings.recommend
    trained = _train(profile, settings, data_dir, overrides)
    split_refs = trained["split"]["refs"]
    evaluations: dict[str, Any] = {}
    n_models = len(trained["fits"])
    for name, fit in trained["fits"].items():
        progress.step("evaluate: models", len(evaluations), n_models, name)
        evaluations[name] = run_checkpoint_task(
            evaluate_saved_model,
            name,
            fit["refs"],
            split_refs,
            list(cfg.ks),
            data_dir,
            cfg.min_test_items,
            data_dir=data_dir,
        )
    progress.step("evaluate: models", n_models, n_models)
    report = run_checkpoint_task(
        summarise_recommenders,
        evaluations,
        trained["fits"],
        list(cfg.ks),
        cfg.n_bootstrap,
        cfg.seed,
        data_dir,
        cfg.min_eval_users,
        cfg.min_test_items,
        data_dir=data_dir,
    )
    synthetic = is_synthetic_source(settings)
    refs = dict(report["refs"])
    listed = _report_recommendations(settings, data_dir, trained)
    if listed is not None:
        refs |= listed["refs"]
    publish_checkpoints("evaluate", refs, report["summary"], settings.profile, synthetic)
    return {
        "data_dir": data_dir,
        "synthetic": synthetic,
        "refs": refs,
        "table": report["summary"],
        "markdown": report["markdown"],
        "evaluations": evaluations,
    }


def _report_recommendations(
    settings: Settings, data_dir: str, trained: dict[str, Any]
) -> dict[str, Any] | None:
    """The report's top-k of ``recommend.report_users`` (default: the exports' users)."""
    cfg = settings.recommend
    users = list(cfg.report_users)
    if not users:
        summary_path = Catalogue(data_dir).path("ingest_summary")
        if summary_path.is_file():
            users = export_users(json.loads(summary_path.read_text(encoding="utf-8")))
    if not users or cfg.serve_model not in trained["fits"]:
        return None
    return run_checkpoint_task(
        recommend_for_report,
        cfg.serve_model,
        trained["fits"][cfg.serve_model]["refs"],
        describe_file("tracks", Catalogue(data_dir).path("tracks")),
        users,
        cfg.report_k,
        data_dir,
        data_dir=data_dir,
    )


def recommend_user(
    profile: str,
    user: int | str,
    *,
    k: int = 10,
    exclude_seen: bool = False,
    model: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """``moodrec recommend --user U [-k 10] [--exclude-seen]``: top-``k`` from a saved model.

    Reads ``data/<profile>/models/<model>/`` (``model`` defaults to
    ``recommend.serve_model``; run ``train_flow`` first). Returns ``rank, track_id, artist,
    title, score``. No Prefect run is created (a lookup, not a pipeline step).
    """
    from moodrec.models.serving import recommend_for_user

    settings, data_dir = stage_settings(profile, overrides)
    name = model or settings.recommend.serve_model
    folder = Catalogue(data_dir).layer_dir("models") / name
    if not (folder / "model.json").is_file():
        raise ModelError(f"{folder}: no saved model {name!r} (run `moodrec train` first)")
    return recommend_for_user(folder, data_dir, user, k=k, exclude_seen=exclude_seen)
