"""``ablation_flow``: CF vs CF + audio / genre / topics / all, warm and cold-start items."""

from __future__ import annotations

import contextlib
from typing import Any

from prefect import flow

from moodrec.catalogue import Catalogue
from moodrec.config.schema import Settings, is_synthetic_source
from moodrec.errors import CatalogueError
from moodrec.evaluation.ablation_summary import (
    family_label,
    reference_name,
    uses_reference_params,
    variant_names,
)
from moodrec.flows.common import content_stage_refs, sandbox_world, stage_settings
from moodrec.models.deep_config import DeepModelsConfig
from moodrec.orchestration.processes import resolve_workers, worker_processes
from moodrec.storage import DatasetRef
from moodrec.tasks.ablation import (
    assemble_features,
    assemble_stage_features_task,
    fit_evaluate_variant,
    summarise_ablation,
)
from moodrec.tasks.artifacts import publish_checkpoints
from moodrec.tasks.checkpoints import refs_intact, register_raw_input, run_checkpoint_task
from moodrec.tasks.sandbox import world_dir

#: optional stage outputs that replace the world's planted content when present
STAGE_FEATURES = ("track_genre_vectors", "track_clusters", "track_topics", "word2vec_map")


def _variant_config(cfg: DeepModelsConfig, variant: str) -> DeepModelsConfig:
    """``cfg`` narrowed to one variant, so adding or renaming another keeps this one cached."""
    ab = cfg.ablation
    families = {family_label(ab, f): f for f in ab.variants}
    keep = {f: ab.variants[f] for f in ab.variants if f == families.get(variant) or f == "all"}
    narrowed = ab.model_copy(
        update={
            # the reference stays (the family model builds on its tuned parameters); the
            # "all" family's groups are the content models' candidates
            "variants": keep,
            "content_models": (variant,) if variant in ab.content_models else (),
        }
    )
    return cfg.model_copy(update={"ablation": narrowed})


@flow(name="ablation", log_prints=False)
def ablation_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ablation stage: content features, one task per variant fit/evaluation, the table.

    Reads the ingest checkpoints ``plays`` and ``tracks`` (run ``ingest_flow`` first). A
    sandbox run takes content from the world's truth tracks; a real log only from the stages'
    outputs (content join, genre vectors, cluster labels, track topics; items are artists
    when the log has no tracks, as HetRec). Genre vectors, cluster labels and track topics
    are used when their checkpoints are on record. Writes
    ``reports/ablation.{parquet,md,png}`` and per-variant per-user metrics under
    ``reports/ablation/``.

    Parameters
    ----------
    profile
        Config profile name or path.
    overrides
        Nested overrides, e.g. ``{"recommend": {"deep": {"ablation": {"k": 20}}}}``.

    Raises
    ------
    CatalogueError
        When the ingest checkpoints are missing.
    ConfigError
        A real log with no content stage output on record.
    """
    settings, data_dir = stage_settings(profile, overrides)
    cfg = settings.recommend.deep
    synthetic = is_synthetic_source(settings)
    manifest = Catalogue(data_dir).manifest
    if not synthetic:
        # a real log: content from the stages' outputs, never the sandbox truth
        try:
            plays = manifest.get("plays")
        except CatalogueError as exc:
            try:  # `moodrec ingest hetrec` records its tables as hetrec_<name>
                plays = manifest.get("hetrec_plays")
            except CatalogueError:
                raise CatalogueError(f"ablation: run the ingest stage first ({exc})") from exc
        feats = run_checkpoint_task(
            assemble_stage_features_task,
            plays,
            content_stage_refs(data_dir, ["ablation"]),
            cfg,
            data_dir,
            data_dir=data_dir,
        )
        return _run_variants(settings, data_dir, cfg, plays, feats, synthetic)
    try:
        plays, tracks = manifest.get("plays"), manifest.get("tracks")
    except CatalogueError as exc:
        raise CatalogueError(f"ablation: run ingest_flow({profile!r}) first ({exc})") from exc
    sandbox_world(settings, data_dir)
    truth = world_dir(data_dir, settings.sandbox) / "truth" / "tracks.parquet"
    truth_ref = register_raw_input("sandbox_truth_tracks", str(truth), data_dir)
    stage_refs: dict[str, DatasetRef] = {}
    for name in STAGE_FEATURES:
        with contextlib.suppress(CatalogueError):
            stage_refs[name] = manifest.get(name)
    feats = run_checkpoint_task(
        assemble_features,
        plays,
        tracks,
        truth_ref,
        stage_refs,
        cfg,
        data_dir,
        data_dir=data_dir,
    )
    return _run_variants(settings, data_dir, cfg, plays, feats, synthetic)


def fits_in_process(settings: Settings) -> bool:
    """Whether the ablation fits its variants in the calling process (one worker process
    configured, or one variant), not in worker processes (:func:`_run_variants`)."""
    variants = variant_names(settings.recommend.deep.ablation)
    return min(resolve_workers(settings.orchestration.process_workers), len(variants)) <= 1


def _run_variants(
    settings: Any,
    data_dir: str,
    cfg: Any,
    plays: DatasetRef,
    feats: dict[str, Any],
    synthetic: bool,
) -> dict[str, Any]:
    """Fit and evaluate every variant on ``feats``; the table, published.

    The reference is tuned once: the variants that build on its parameters get them from
    its task (so a family never tunes it again). With more than one worker
    (``orchestration.process_workers``) the variants run concurrently, each fit in a worker
    process; the results do not depend on the order (each fit is seeded on its own).
    """
    variants = variant_names(cfg.ablation)
    reference = reference_name(cfg.ablation)
    workers = resolve_workers(settings.orchestration.process_workers)

    def args(variant: str, reference_params: dict[str, Any] | None) -> tuple[Any, ...]:
        return (
            plays,
            feats["refs"]["item_features"],
            feats["groups"],
            _variant_config(cfg, variant),
            variant,
            data_dir,
            reference_params,
        )

    dependent = [v for v in variants if uses_reference_params(v, cfg.ablation)]
    independent = [v for v in variants if v not in dependent]
    results: dict[str, dict[str, Any]] = {}
    with worker_processes(min(workers, len(variants))) as n:
        if n <= 1:  # in table order, one after another
            for variant in variants:
                params = results[reference]["params"] if variant in dependent else None
                results[variant] = run_checkpoint_task(
                    fit_evaluate_variant, *args(variant, params), data_dir=data_dir
                )
        else:
            # the reference first, then the slowest-first rest of those that need nothing
            # from it; the dependent ones once its parameters are known
            first = [reference, *[v for v in independent if v != reference][::-1]]
            futures = {v: fit_evaluate_variant.submit(*args(v, None)) for v in first}
            results[reference] = _checked(futures[reference], args(reference, None), data_dir)
            params = results[reference]["params"]
            futures |= {v: fit_evaluate_variant.submit(*args(v, params)) for v in dependent}
            for v in variants:
                if v not in results:
                    results[v] = _checked(
                        futures[v], args(v, params if v in dependent else None), data_dir
                    )
    per_variant = []
    for variant in variants:  # table order, whatever order they finished in
        Catalogue(data_dir).manifest.record(list(results[variant]["refs"].values()))
        per_variant.extend(results[variant]["refs"].values())
    result = run_checkpoint_task(
        summarise_ablation,
        per_variant,
        feats["refs"]["content_link_report"],
        cfg,
        data_dir,
        data_dir=data_dir,
    )
    refs = {**feats["refs"], **result["refs"]}
    summary = {**result["summary"], "content": feats["summary"]}
    publish_checkpoints("ablation", refs, summary, settings.profile, synthetic)
    return {
        "data_dir": data_dir,
        "synthetic": synthetic,
        "refs": refs,
        "summary": summary,
        "table": result["table"],
    }


def _checked(future: Any, args: tuple[Any, ...], data_dir: str) -> dict[str, Any]:
    """A submitted variant's result; a cache hit whose files changed since runs again."""
    result: dict[str, Any] = future.result()
    if not refs_intact(result["refs"]):
        result = run_checkpoint_task(fit_evaluate_variant, *args, data_dir=data_dir)
    return result
