"""``genres_flow`` and ``clusters_flow``: genre graph/maps and track clusters."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from prefect import flow

from moodrec.catalogue import Catalogue
from moodrec.config.schema import Settings, is_synthetic_source
from moodrec.enrich.outputs import OPTIONAL_TRACK_INPUTS, TRACK_INPUTS
from moodrec.errors import CatalogueError
from moodrec.flows.common import (
    enrich_inputs,
    sandbox_world,
    stage_settings,
)
from moodrec.storage import DatasetRef
from moodrec.tasks.artifacts import publish_checkpoints
from moodrec.tasks.checkpoints import register_raw_input, run_checkpoint_task
from moodrec.tasks.genres import build_genre_maps, cluster_tracks
from moodrec.tasks.sandbox import world_dir


def _sandbox_truth(settings: Settings, data_dir: str) -> dict[str, DatasetRef]:
    sandbox_world(settings, data_dir)
    truth = world_dir(data_dir, settings.sandbox) / "truth"
    return {
        "sandbox_truth_artists": register_raw_input(
            "sandbox_truth_artists", str(truth / "artists.parquet"), data_dir
        ),
        "sandbox_truth_tracks": register_raw_input(
            "sandbox_truth_tracks", str(truth / "tracks.parquet"), data_dir
        ),
    }


@flow(name="genres", log_prints=False)
def genres_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Genres stage: genre source → graph, super-genres, embeddings, track vectors, song map.

    Parameters
    ----------
    profile
        Config profile name or path.
    overrides
        Nested overrides; ``{"genres": {...}}`` sets ``GenresConfig`` fields, e.g.
        ``{"genres": {"source": "hetrec", "path": "../shared/data/hetrec2011_lastfm_2k"}}``.
    """
    settings, data_dir = stage_settings(profile, overrides)
    settings.check_real_inputs(["genres"])
    cfg = settings.genres
    if cfg.source == "sandbox":
        inputs = _sandbox_truth(settings, data_dir)
    elif cfg.source == "enrich":
        inputs = enrich_inputs(data_dir, TRACK_INPUTS, "genres")
        written = Catalogue(data_dir).manifest.load()
        optional = [n for n in OPTIONAL_TRACK_INPUTS if n in written]
        inputs |= enrich_inputs(data_dir, tuple(optional), "genres")
    else:
        p = Path(str(cfg.path))
        files = [p / "user_taggedartists.dat", p / "tags.dat"] if cfg.source == "hetrec" else [p]
        inputs = {
            f"genre_source_{f.stem}": register_raw_input(f"genre_source_{f.stem}", str(f), data_dir)
            for f in files
        }
    if cfg.source in {"sandbox", "enrich"} and settings.clustering.source == cfg.source:
        # clusters_flow ran before on the same tracks: colour the song map by cluster too
        # (its fingerprint is in the key)
        with contextlib.suppress(CatalogueError):
            inputs["track_clusters"] = Catalogue(data_dir).manifest.get("track_clusters")
    result = run_checkpoint_task(build_genre_maps, inputs, cfg, data_dir, data_dir=data_dir)
    synthetic = is_synthetic_source(settings, cfg.source)
    publish_checkpoints("genres", result["refs"], result["summary"], settings.profile, synthetic)
    return {"data_dir": data_dir, "synthetic": synthetic, **result}


@flow(name="clusters", log_prints=False)
def clusters_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Clusters stage: tracks' audio features (and lyric topics) → cluster ids and profiles.

    Reads the sandbox world's truth tracks, the enrich stage's tables (``enrich``: the
    catalogue's tracks, their audio features, artist genres and, when the topics stage ran,
    their lyric topics), or ``clustering.path`` for the ``file`` and ``spotify_csv`` sources
    (``{"clustering": {...}}`` overrides set ``ClusteringConfig``).
    """
    settings, data_dir = stage_settings(profile, overrides)
    settings.check_real_inputs(["clusters"])
    cfg = settings.clustering
    if cfg.source == "sandbox":
        inputs = _sandbox_truth(settings, data_dir)
        tracks_ref, artists_ref = inputs["sandbox_truth_tracks"], inputs["sandbox_truth_artists"]
    elif cfg.source == "enrich":
        inputs = enrich_inputs(data_dir, TRACK_INPUTS, "clusters")
        # the topics stage (before clusters in the pipeline) on the enrich lyrics: topic clusters
        with contextlib.suppress(CatalogueError):
            if settings.lyrics.source == "enrich":
                inputs["track_topics"] = Catalogue(data_dir).manifest.get("track_topics")
        tracks_ref, artists_ref = inputs["tracks"], None
    else:
        tracks_ref = register_raw_input("cluster_source_tracks", str(cfg.path), data_dir)
        artists_ref = None
    enrich = {k: v for k, v in inputs.items() if k != "tracks"} if cfg.source == "enrich" else None
    result = run_checkpoint_task(
        cluster_tracks,
        tracks_ref,
        artists_ref,
        cfg,
        data_dir,
        enrich,
        data_dir=data_dir,
    )
    synthetic = is_synthetic_source(settings, cfg.source)
    publish_checkpoints("clusters", result["refs"], result["summary"], settings.profile, synthetic)
    return {"data_dir": data_dir, "synthetic": synthetic, **result}
