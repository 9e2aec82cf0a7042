"""The genres stage as one pure function: source table → graph, embeddings, vectors, map.

Tasks call :func:`load_genre_source` and :func:`run_genres_stage`; both write nothing but the
files they return.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec import progress
from moodrec.domain import AUDIO_FEATURES, CONTINUOUS_AUDIO_FEATURES
from moodrec.errors import InputDataError
from moodrec.genres.analysis import analyse_genre_graph
from moodrec.genres.config import GenresConfig
from moodrec.genres.embedding import (
    SHORTEST_PATHS_STEP,
    embed_genres,
    embedding_steps,
    shortest_path_matrix,
    track_genre_vectors,
)
from moodrec.genres.evidence import genre_audio_profiles
from moodrec.genres.graph import build_genre_graph
from moodrec.genres.songmap import song_map_coordinates, write_song_map_html
from moodrec.genres.sources import (
    read_genre_table,
    read_hetrec_tags,
    read_sandbox_genres,
    read_spotify_artist_genres,
    read_spotify_tracks,
)
from moodrec.storage import StagedOutputs, with_stage_outputs

logger = logging.getLogger(__name__)

#: audio features used by the song map when present
MAP_FEATURES = tuple(f for f in CONTINUOUS_AUDIO_FEATURES if f != "duration_ms")

#: audio features of the per-genre profiles used as super-genre evidence (when present)
PROFILE_FEATURES = CONTINUOUS_AUDIO_FEATURES

#: output dataset name → (layer, file name)
GENRE_OUTPUTS = {
    "genre_table": ("interim", "genre_table.parquet"),
    "genre_nodes": ("features", "genre_nodes.parquet"),
    "genre_edges": ("features", "genre_edges.parquet"),
    "genre_embedding": ("features", "genre_embedding.parquet"),
    "track_genre_vectors": ("features", "track_genre_vectors.parquet"),
    "song_map": ("reports", "song_map.html"),
    "genres_report": ("reports", "genres_report.json"),
}


def load_genre_source(
    cfg: GenresConfig, truth_dir: Path | None = None, enrich: Mapping[str, Path] | None = None
) -> pd.DataFrame:
    """The tidy ``artist, genre, weight`` table of ``cfg.source``.

    ``enrich`` maps ``artist_genres`` (with optional ``artist_tags``, whose counts weight the
    genres; and, for :func:`load_tracks`, ``tracks`` and ``track_features``) to the enrich
    stage's files for ``source: enrich``.

    Raises
    ------
    InputDataError
        When the source needs a folder/file that is absent.
    """
    if cfg.source == "enrich":
        if enrich is None or "artist_genres" not in enrich:
            raise InputDataError("genres source 'enrich' needs the enrich stage's artist_genres")
        from moodrec.enrich.outputs import genre_table_from_enrich  # (imports the providers)

        return genre_table_from_enrich(enrich["artist_genres"], enrich.get("artist_tags"))
    if cfg.source == "sandbox":
        if truth_dir is None:
            raise InputDataError("source 'sandbox' needs the world's truth folder")
        return read_sandbox_genres(truth_dir)
    path = Path(cfg.path) if cfg.path is not None else None
    if path is None:
        raise InputDataError(f"source {cfg.source!r} needs a path")
    if cfg.source == "hetrec":
        return read_hetrec_tags(path, cfg.min_tag_count)
    if cfg.source == "spotify_csv":
        return read_spotify_artist_genres(path)
    return read_genre_table(path)


def load_tracks(
    cfg: GenresConfig,
    truth_dir: Path | None = None,
    enrich: Mapping[str, Path] | None = None,
    artists: Collection[str] | None = None,
) -> pd.DataFrame | None:
    """Tracks with ``track_id, artist`` (genre-table key), names and audio features, or None.

    ``source: enrich``: the catalogue's tracks of ``artists`` (the genre table's artists;
    default all), audio features from the enrich stage where a provider gave them (NaN
    otherwise).
    """
    if cfg.source == "enrich":
        if enrich is None or not {"tracks", "track_features"} <= set(enrich):
            raise InputDataError(
                "genres source 'enrich' needs the catalogue's tracks and the enrich stage's "
                "track_features"
            )
        from moodrec.enrich.outputs import tracks_from_enrich

        t = tracks_from_enrich(enrich["tracks"], enrich["track_features"], AUDIO_FEATURES)
        if artists is not None:
            t = t[t["artist"].isin(set(artists))].reset_index(drop=True)
        return t
    if cfg.source == "sandbox" and truth_dir is not None:
        t = pd.read_parquet(Path(truth_dir) / "tracks.parquet")
        return t.assign(artist=t["artist_id"].astype(str))
    if cfg.source == "spotify_csv" and cfg.path is not None:
        t = read_spotify_tracks(cfg.path)
        return t.assign(artist=t["artist_name"].astype(str))
    return None


def placement_audio_profiles(
    table: pd.DataFrame, tracks: pd.DataFrame | None, cfg: GenresConfig
) -> pd.DataFrame | None:
    """Per-genre audio profiles for super-genre placement, or None when they are not used.

    None when there are no tracks, when ``audio_prior_weight`` is 0, when placement is by
    shortest path, or when the tracks carry none of :data:`PROFILE_FEATURES`.
    """
    if tracks is None or cfg.audio_prior_weight <= 0:
        return None
    if cfg.super_genre_method != "label_propagation":
        return None
    cols = [f for f in PROFILE_FEATURES if f in tracks.columns and tracks[f].notna().any()]
    complete = tracks.dropna(subset=cols) if cols else tracks.iloc[:0]
    if complete.empty:
        logger.info("tracks have no audio features: super-genre placement without audio")
        return None
    return genre_audio_profiles(table, complete, cols)


@dataclass(frozen=True)
class GenresStageResult:
    outputs: dict[str, Path]
    report: dict[str, Any]


@with_stage_outputs("genres", dirs=lambda layer_dirs, **_: layer_dirs.values())
def run_genres_stage(
    staging: StagedOutputs,
    table: pd.DataFrame,
    tracks: pd.DataFrame | None,
    cfg: GenresConfig,
    layer_dirs: dict[str, Path],
    clusters: pd.DataFrame | None = None,
) -> GenresStageResult:
    """Build the graph, place genres, embed them, give tracks vectors and draw the song map.

    Parameters
    ----------
    staging
        Passed by :func:`~moodrec.storage.with_stage_outputs`, not by callers.
    table
        Tidy ``artist, genre, weight`` table (not modified).
    tracks
        ``track_id, artist, artist_name, name`` + audio features; ``None`` skips the per-track
        vectors and the song map (e.g. HetRec, which has no tracks).
    cfg
        Stage config.
    layer_dirs
        ``{"interim", "features", "reports"}`` → folder.
    clusters
        Optional ``track_id, cluster`` to colour the map by.

    The outputs are written all or none (:func:`~moodrec.storage.with_stage_outputs`).
    """
    out: dict[str, Path] = {}
    steps = progress.Steps("genres: steps", genres_stage_steps(cfg, tracks is not None))

    def path(name: str) -> Path:
        layer, fname = GENRE_OUTPUTS[name]
        return Path(layer_dirs[layer]) / fname

    out["genre_table"] = staging.write_parquet(table, path("genre_table"))
    steps.start("genre graph")
    graph = build_genre_graph(table, cfg)
    steps.start("super-genres")
    analysis = analyse_genre_graph(graph, cfg, placement_audio_profiles(table, tracks, cfg))
    out["genre_nodes"] = staging.write_parquet(analysis.genres, path("genre_nodes"))
    edges = graph.edges.assign(
        source_genre=graph.nodes["genre"].to_numpy()[graph.edges["source"]],
        target_genre=graph.nodes["genre"].to_numpy()[graph.edges["target"]],
    )
    out["genre_edges"] = staging.write_parquet(edges, path("genre_edges"))
    dist = None
    if cfg.embedding != "node2vec":
        steps.start(SHORTEST_PATHS_STEP)
        dist = shortest_path_matrix(graph)
    emb = embed_genres(graph, cfg, dist, steps)
    emb = emb.merge(analysis.genres[["genre", "super_genre"]], on="genre", how="left")
    out["genre_embedding"] = staging.write_parquet(emb, path("genre_embedding"))
    report: dict[str, Any] = {
        "source": cfg.source,
        "graph": analysis.report,
        "embedding": cfg.embedding,
        "vector_dim": cfg.vector_dim,
    }
    if tracks is not None:
        steps.start("track vectors")
        vecs = track_genre_vectors(tracks, table, emb, cfg.track_vector)
        out["track_genre_vectors"] = staging.write_parquet(vecs, path("track_genre_vectors"))
        report["tracks"] = {
            "n": len(vecs),
            "without_genre_vector": int((vecs["n_genres"] == 0).sum()),
        }
        # the map places tracks by their audio features: those without any are left out
        feats = [c for c in MAP_FEATURES if c in tracks.columns]
        has_audio = (
            tracks[feats].notna().any(axis=1).to_numpy()
            if feats
            else np.zeros(len(tracks), dtype=bool)
        )
        report["song_map"] = {
            "tracks": int(has_audio.sum()),
            "without_audio": int((~has_audio).sum()),
        }
        if has_audio.sum() >= 3:
            steps.start("song map")
            keep = np.flatnonzero(has_audio)
            _song_map(
                tracks.iloc[keep].reset_index(drop=True),
                table,
                vecs.iloc[keep].reset_index(drop=True),
                analysis.genres,
                cfg,
                staging.path(path("song_map")),
                clusters,
            )
            out["song_map"] = path("song_map")
        else:
            report["song_map"]["skipped"] = "fewer than 3 tracks with audio features"
            logger.warning("song map skipped: %d tracks with audio features", has_audio.sum())
    else:
        report["tracks"] = None
        logger.info("no tracks for source %s: no per-track vectors or song map", cfg.source)
    out["genres_report"] = staging.write_json(path("genres_report"), report)
    steps.finish()
    return GenresStageResult(outputs=out, report=report)


def genres_stage_steps(cfg: GenresConfig, with_tracks: bool) -> list[str]:
    """The steps :func:`run_genres_stage` reports to the progress view, in order."""
    shortest = [] if cfg.embedding == "node2vec" else [SHORTEST_PATHS_STEP]
    per_track = ["track vectors", "song map"] if with_tracks else []
    return ["genre graph", "super-genres", *shortest, *embedding_steps(cfg), *per_track]


def _song_map(
    tracks: pd.DataFrame,
    table: pd.DataFrame,
    vecs: pd.DataFrame,
    genres: pd.DataFrame,
    cfg: GenresConfig,
    target: Path,
    clusters: pd.DataFrame | None,
) -> Path:
    if len(tracks) > cfg.song_map_max_points:
        keep = np.sort(
            np.random.default_rng(cfg.seed).choice(
                len(tracks), cfg.song_map_max_points, replace=False
            )
        )
        tracks, vecs = tracks.iloc[keep], vecs.iloc[keep]
    feats = [c for c in MAP_FEATURES if c in tracks.columns]
    gcols = [c for c in vecs.columns if c.startswith("g") and c[1:].isdigit()]
    xy = song_map_coordinates(
        tracks[feats].reset_index(drop=True), vecs[gcols].reset_index(drop=True), cfg
    )
    genre_lists = table.groupby("artist")["genre"].agg(lambda s: ", ".join(s.head(6)))
    super_of = genres.set_index("genre")["super_genre"]
    points = pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "artist_name": tracks.get("artist_name", tracks["artist"]).astype(str).to_numpy(),
            "name": tracks.get("name", tracks["track_id"]).astype(str).to_numpy(),
            "genres": tracks["artist"].map(genre_lists).fillna("").to_numpy(),
            "super_genre": vecs["top_genre"].map(super_of).fillna("unknown").astype(str).to_numpy(),
        }
    )
    for col in ("valence", "energy"):
        if col in tracks.columns:
            points[col] = tracks[col].to_numpy()
    if clusters is not None:
        points["cluster"] = (
            tracks["track_id"]
            .map(clusters.set_index("track_id")["cluster"])
            .fillna(-1)
            .astype(int)
            .to_numpy()
        )
    return write_song_map_html(points, target, cfg, title=f"moodrec song map ({cfg.source})")
