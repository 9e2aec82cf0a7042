"""Prefect tasks of the genres and clusters stages: load inputs, call one pure function,
register the written checkpoints.

The stages' libraries (scikit-learn, scipy, networkx, pandas) are imported by each task when it
runs, not with this module: an unchanged re-run, every task cached, never loads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from moodrec.catalogue import Catalogue
from moodrec.clustering.config import ClusteringConfig
from moodrec.enrich.outputs import OPTIONAL_TRACK_INPUTS, TRACK_INPUTS
from moodrec.genres.config import GenresConfig
from moodrec.storage import DatasetRef
from moodrec.tasks.cache_policy import CHECKPOINT_CACHE

_LAYERS = ("interim", "features", "reports")


def _layer_dirs(data_dir: str) -> dict[str, Path]:
    cat = Catalogue(data_dir)
    return {layer: cat.layer_dir(layer) for layer in _LAYERS}


@task(name="build-genre-maps", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def build_genre_maps(
    inputs: dict[str, DatasetRef], cfg: GenresConfig, data_dir: str
) -> dict[str, Any]:
    """Genre graph, super-genres, embeddings, per-track vectors and song map.

    ``inputs`` holds the fingerprinted source files (the cache key covers their content);
    ``sandbox_truth_artists`` points at the sandbox world's truth folder; ``tracks``,
    ``track_features`` and ``artist_genres`` are the enrich stage's tables; an optional
    ``track_clusters`` (from ``clusters_flow``) adds "cluster" to the song map's colourings.
    Returns ``{"refs": {name: DatasetRef}, "summary": dict}``.
    """
    import pandas as pd

    from moodrec.genres.stage import load_genre_source, load_tracks, run_genres_stage

    logger = get_run_logger()
    truth = inputs.get("sandbox_truth_artists")
    truth_dir = Path(truth.path).parent if truth is not None else None
    enrich = {
        k: Path(inputs[k].path) for k in (*TRACK_INPUTS, *OPTIONAL_TRACK_INPUTS) if k in inputs
    }
    table = load_genre_source(cfg, truth_dir, enrich)
    tracks = load_tracks(cfg, truth_dir, enrich, artists=table["artist"].unique())
    clusters_ref = inputs.get("track_clusters")
    clusters = None
    if clusters_ref is not None:
        labels = pd.read_parquet(clusters_ref.path, columns=["track_id", "audio_cluster"])
        clusters = labels.rename(columns={"audio_cluster": "cluster"})
    result = run_genres_stage(table, tracks, cfg, _layer_dirs(data_dir), clusters)
    graph = result.report["graph"]
    logger.info(
        "genre graph: %d genres, %d edges, %d components, %d unplaceable",
        graph["n_genres"],
        graph["n_edges"],
        graph["n_components"],
        graph["n_unplaceable"],
    )
    refs = Catalogue(data_dir).register_many(result.outputs)
    return {"refs": refs, "summary": result.report}


@task(name="cluster-tracks", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def cluster_tracks(
    tracks_ref: DatasetRef,
    artists_ref: DatasetRef | None,
    cfg: ClusteringConfig,
    data_dir: str,
    enrich: dict[str, DatasetRef] | None = None,
) -> dict[str, Any]:
    """Cluster tracks by audio features and lyric topics; write labels, candidates, profiles.

    ``enrich`` (``source: enrich``): ``track_features``, ``artist_genres`` and optional
    ``track_topics`` beside the catalogue's ``tracks_ref``.
    Returns ``{"refs": {name: DatasetRef}, "summary": dict}``.
    """
    import pandas as pd

    from moodrec.clustering.stage import (
        load_cluster_tracks,
        load_enrich_cluster_tracks,
        run_clusters_stage,
    )

    logger = get_run_logger()
    if cfg.source == "enrich":
        paths = {k: Path(v.path) for k, v in (enrich or {}).items()}
        tracks = load_enrich_cluster_tracks(
            cfg,
            tracks_ref.path,
            paths["track_features"],
            paths.get("artist_genres"),
            paths.get("track_topics"),
        )
    elif cfg.source == "sandbox":
        tracks = pd.read_parquet(tracks_ref.path)
    else:
        tracks = load_cluster_tracks(cfg, tracks_ref.path)
    if artists_ref is not None and "genres" not in tracks.columns:
        artists = pd.read_parquet(artists_ref.path, columns=["artist_id", "genres"])
        tracks = tracks.merge(artists, on="artist_id", how="left")
    outputs, report = run_clusters_stage(tracks, cfg, _layer_dirs(data_dir))
    logger.info("audio clustering selected: %s", report["audio"])
    refs = Catalogue(data_dir).register_many(outputs)
    return {"refs": refs, "summary": report}
