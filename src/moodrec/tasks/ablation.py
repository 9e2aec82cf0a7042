"""Prefect tasks of the ablation: content features, one fit/evaluation per variant, the table.

Each variant task recomputes the (seeded, cheap) matrix and split from ``plays`` so that the
tasks share nothing but fingerprinted files; the cache key covers the inputs' content, the
models config and the variant name.

The protocol's libraries (scipy, pandas, the models) are imported by each task when it runs,
not with this module: an unchanged re-run, every task cached, never loads them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task

from moodrec.catalogue import Catalogue
from moodrec.models.deep_config import DeepModelsConfig
from moodrec.storage import DatasetRef, stage_outputs, write_parquet_atomic
from moodrec.tasks.cache_policy import CHECKPOINT_CACHE

if TYPE_CHECKING:
    import numpy as np

    from moodrec.features.content import ContentFeatures


def _reports(data_dir: str) -> Path:
    return Catalogue(data_dir).layer_dir("reports") / "ablation"


def item_key(plays: DatasetRef) -> str:
    """The item column of a ``plays`` table: ``track_id``, or ``artist_id`` (HetRec)."""
    import pyarrow.parquet as pq

    names = pq.ParquetFile(plays.path).schema_arrow.names
    return "track_id" if "track_id" in names else "artist_id"


def _matrix(plays: DatasetRef, cfg: DeepModelsConfig) -> tuple[Any, np.ndarray, np.ndarray]:
    from moodrec.evaluation.ablation_split import read_plays_matrix

    # items are artists in an artist-level log (HetRec)
    return read_plays_matrix(plays.path, cfg.ablation)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _write_content(content: ContentFeatures, item_ids: np.ndarray, data_dir: str) -> dict[str, Any]:
    """Write the item features and the content link report of one feature assembly (staged:
    both or neither); returns ``{"refs", "summary" (the link report), "groups" (group →
    columns)}``."""
    from moodrec.features.content import features_frame

    cat = Catalogue(data_dir)
    with stage_outputs(cat.layer_dir("features"), _reports(data_dir), label="features") as st:
        out = {
            "item_features": st.write_parquet(
                features_frame(content, item_ids),
                cat.layer_dir("features") / "item_features.parquet",
            ),
            "content_link_report": st.write_json(
                _reports(data_dir) / "content_link.json", content.report
            ),
        }
    return {
        "refs": cat.register_many(out),
        "summary": content.report,
        "groups": content.features.groups,
    }


@task(name="ablation-item-features", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def assemble_features(
    plays: DatasetRef,
    tracks: DatasetRef,
    truth_tracks: DatasetRef,
    stage_refs: dict[str, DatasetRef],
    cfg: DeepModelsConfig,
    data_dir: str,
) -> dict[str, Any]:
    """Content features of the matrix's items → ``features/item_features.parquet``.

    ``stage_refs`` may hold ``track_genre_vectors``, ``track_clusters``, ``track_topics``.
    Returns ``{"refs", "summary" (link report), "groups" (group → columns)}``.
    """
    from moodrec.features.content import load_item_features

    _, _, track_ids = _matrix(plays, cfg)
    content = load_item_features(
        track_ids,
        tracks.path,
        truth_tracks.path,
        genre_vectors_path=getattr(stage_refs.get("track_genre_vectors"), "path", None),
        clusters_path=getattr(stage_refs.get("track_clusters"), "path", None),
        track_topics_path=getattr(stage_refs.get("track_topics"), "path", None),
        word2vec_path=getattr(stage_refs.get("word2vec_map"), "path", None),
    )
    get_run_logger().info(
        "content features: %d items, link rate %.3f, sources %s",
        content.report["n_items"],
        content.report["link_rate"],
        content.report["sources"],
    )
    return _write_content(content, track_ids, data_dir)


@task(name="ablation-stage-features", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def assemble_stage_features_task(
    plays: DatasetRef,
    stage_refs: dict[str, DatasetRef],
    cfg: DeepModelsConfig,
    data_dir: str,
) -> dict[str, Any]:
    """Content features of a real log's matrix items from stage outputs (the content join,
    genres, clusters, topics; see :mod:`moodrec.features.stage_content`), never the sandbox
    truth → ``features/item_features.parquet``. Returns what :func:`assemble_features` does.
    """
    from moodrec.features.stage_content import load_stage_features

    _, _, ids = _matrix(plays, cfg)
    content = load_stage_features(
        ids,
        item_key=item_key(plays),
        content_report=getattr(stage_refs.get("content_report"), "path", None),
        genre_vectors=getattr(stage_refs.get("track_genre_vectors"), "path", None),
        clusters=getattr(stage_refs.get("track_clusters"), "path", None),
        track_topics=getattr(stage_refs.get("track_topics"), "path", None),
    )
    get_run_logger().info("content available per group: %s", content.report["available"])
    return _write_content(content, ids, data_dir)


@task(name="ablation-variant", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def fit_evaluate_variant(
    plays: DatasetRef,
    item_features: DatasetRef,
    groups: dict[str, list[str]],
    cfg: DeepModelsConfig,
    variant: str,
    data_dir: str,
    reference_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit one variant (or reference model) and write its per-user metrics.

    ``reference_params`` are the tuned reference's parameters (the reference variant's
    ``params``) for the variants that build on them
    (:func:`moodrec.evaluation.ablation.uses_reference_params`); ``None`` there tunes the
    reference again. The fit runs in a worker process when the flow opened some
    (:func:`moodrec.orchestration.processes.worker_processes`).

    Returns ``{"refs": {"ablation_<variant>": ref}, "fit_seconds": float, "params": dict}``
    (``params``: what the variant chose, e.g. the tuned reference's hyperparameters).
    """
    from moodrec.evaluation import ablation
    from moodrec.orchestration.processes import run_in_worker

    res = run_in_worker(
        ablation.evaluate_variant_files,
        variant,
        plays.path,
        item_features.path,
        groups,
        cfg,
        reference_params,
    )
    if res is None:  # the features lack this variant's content
        get_run_logger().info("%s: skipped (no such content in the features)", variant)
        return {"refs": {}, "fit_seconds": 0.0, "params": {}}
    per_user, seconds, params = res
    name = f"ablation_{_safe(variant)}"
    path = write_parquet_atomic(
        per_user.assign(fit_seconds=seconds), _reports(data_dir) / f"{name}.parquet"
    )
    means = per_user.groupby("slice")["ndcg"].mean().round(4).to_dict()
    get_run_logger().info("%s: fit %.1f s, NDCG@%d %s", variant, seconds, cfg.ablation.k, means)
    return {
        "refs": Catalogue(data_dir).register_many({name: path}),
        "fit_seconds": seconds,
        "params": _jsonable(params),
    }


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as JSON values (numpy scalars → Python), for the result and cache keys."""
    return json.loads(
        json.dumps(params, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )


@task(name="ablation-table", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def summarise_ablation(
    per_variant: list[DatasetRef],
    link_report: DatasetRef,
    cfg: DeepModelsConfig,
    data_dir: str,
) -> dict[str, Any]:
    """Table (Parquet + Markdown with the RQ1 answer) and plot; tuned CF is the reference.

    Returns ``{"refs", "summary"}``; the summary holds NDCG means per variant and slice.
    """
    import pandas as pd

    from moodrec.evaluation import ablation
    from moodrec.report.ablation import ablation_markdown, plot_ablation

    acfg = cfg.ablation
    per_user = pd.concat([pd.read_parquet(r.path) for r in per_variant], ignore_index=True)
    seconds = per_user.groupby("variant")["fit_seconds"].first().to_dict()
    reference = ablation.reference_name(acfg)
    table = ablation.summarise(
        per_user.drop(columns="fit_seconds"), reference, acfg.n_bootstrap, acfg.seed, seconds
    )
    answer = ablation.rq1_answer(table, acfg)
    link = json.loads(Path(link_report.path).read_text())
    notes = [
        f"reference for Δ and paired Wilcoxon tests: `{reference}` (tuned on validation)",
        f"content: link rate {link['link_rate']:.3f}; sources {link['sources']}",
        f"split seed {acfg.seed}; {acfg.n_bootstrap} bootstrap resamples over users",
    ]
    rep = Catalogue(data_dir).layer_dir("reports")
    with stage_outputs(rep, label="ablation") as st:
        out = {
            "ablation_table": st.write_parquet(table, rep / "ablation.parquet"),
            "ablation_md": st.write_text(
                rep / "ablation.md",
                ablation_markdown(table, acfg.k, ablation.SLICES, notes, answer),
            ),
        }
        if acfg.plot:
            plot_ablation(table, st.path(rep / "ablation.png"), acfg.k, ablation.SLICES)
            out["ablation_plot"] = rep / "ablation.png"
    nd = table[table["metric"] == "ndcg"]
    summary = {
        f"ndcg@{acfg.k}": {
            f"{r.variant} / {r.slice}": round(float(r.mean), 4) for r in nd.itertuples()
        },
        "reference": reference,
        "rq1": answer["sentence"],
        "link_rate": link["link_rate"],
    }
    return {"refs": Catalogue(data_dir).register_many(out), "summary": summary, "table": table}
