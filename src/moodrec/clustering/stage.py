"""The clusters stage as one pure function: tracks → candidates, selection, labels, profiles."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec.clustering.config import ClusteringConfig
from moodrec.clustering.methods import cluster_profiles, feature_matrix, select_clustering
from moodrec.domain import topic_share_columns
from moodrec.errors import InputDataError
from moodrec.storage import stage_outputs

logger = logging.getLogger(__name__)

#: output dataset name → (layer, file name)
CLUSTER_OUTPUTS = {
    "track_clusters": ("features", "track_clusters.parquet"),
    "cluster_candidates": ("reports", "cluster_candidates.parquet"),
    "cluster_profiles": ("reports", "cluster_profiles.parquet"),
    "clusters_report": ("reports", "clusters_report.json"),
}


def load_cluster_tracks(cfg: ClusteringConfig, path: Path | str) -> pd.DataFrame:
    """Tracks to cluster from a file: ``cfg.source`` ``file`` (Parquet/CSV) or ``spotify_csv``.

    Raises
    ------
    InputDataError
        When the file is missing or has no ``track_id`` column.
    """
    from moodrec.genres.sources import read_spotify_tracks

    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"tracks file {p} does not exist")
    if cfg.source == "spotify_csv":
        return read_spotify_tracks(p)
    df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    if "track_id" not in df.columns:
        raise InputDataError(f"{p}: a tracks file needs a track_id column")
    return df


def load_enrich_cluster_tracks(
    cfg: ClusteringConfig,
    tracks_path: Path | str,
    features_path: Path | str,
    artist_genres_path: Path | str | None = None,
    track_topics_path: Path | str | None = None,
) -> pd.DataFrame:
    """Tracks to cluster from the enrich stage (``cfg.source == "enrich"``).

    The catalogue's tracks with every one of ``cfg.audio_features`` from ``track_features``;
    ``genres`` (list, union over providers) from ``artist_genres``; ``topic_mixture`` (the
    ``topic_*`` shares) from the topic stage's ``track_topics`` where a track has lyrics.

    Raises
    ------
    InputDataError
        Missing files/columns, or no track with all the audio features.
    """
    from moodrec.enrich.outputs import genre_table_from_enrich, tracks_from_enrich

    tracks = tracks_from_enrich(
        tracks_path, features_path, cfg.audio_features, require_features=False
    )
    # a feature no provider answered (instrumentalness from a features file without it) is
    # left out, not required: the stage reports it (see :func:`available_features`)
    feats, _ = available_features(tracks, cfg)
    tracks = tracks[tracks[feats].notna().all(axis=1)].reset_index(drop=True)
    if tracks.empty:
        raise InputDataError(
            f"track features: no track in {features_path} has all of {feats} (the enrich "
            "coverage report says which provider answered)"
        )
    if artist_genres_path is not None:
        # the genres stage's table (normalised names, union over providers); none is no error
        # here: genres only label the cluster profiles
        with contextlib.suppress(InputDataError):
            table = genre_table_from_enrich(artist_genres_path)
            lists = table.groupby("artist")["genre"].agg(list)
            tracks["genres"] = tracks["artist"].map(lists)
    if track_topics_path is not None:
        tt = pd.read_parquet(track_topics_path)
        cols = topic_share_columns(tt)
        if cols:
            mix = pd.Series(
                list(tt[cols].to_numpy(dtype=np.float64)), index=tt["track_id"].astype(np.int64)
            )
            tracks["topic_mixture"] = tracks["track_id"].map(mix)
    return tracks


def available_features(tracks: pd.DataFrame, cfg: ClusteringConfig) -> tuple[list[str], list[str]]:
    """``(present, missing)``: the configured audio features the tracks have (a column with a
    value) and those they lack, which are left out and reported instead of failing.

    Raises
    ------
    InputDataError
        None of ``cfg.audio_features`` is there, naming the columns the table has.
    """
    present = [f for f in cfg.audio_features if f in tracks and tracks[f].notna().any()]
    missing = [f for f in cfg.audio_features if f not in present]
    if not present:
        empty = [f for f in cfg.audio_features if f in tracks]
        if empty:
            # the columns exist but no track has a value: no provider answered for them
            raise InputDataError(
                f"clustering: no track has a value for any of clustering.audio_features "
                f"{list(cfg.audio_features)}: the provider that should give them answered "
                "none (audio features are closed to Spotify apps created after November 2024; "
                "the enrich coverage report says which provider answered). Use a features "
                "file (clustering.source: file) or the AcousticBrainz dump "
                "(enrich.acousticbrainz_dump)."
            )
        raise InputDataError(
            f"clustering: the tracks have none of clustering.audio_features "
            f"{list(cfg.audio_features)} (columns: {sorted(map(str, tracks.columns))[:30]})"
        )
    if missing:
        logger.warning("clustering: %s not in the tracks' features; left out", missing)
    return present, missing


def topic_matrix(tracks: pd.DataFrame, column: str = "topic_mixture") -> pd.DataFrame | None:
    """Topic shares as columns ``topic0…`` for rows with a topic vector, or None if absent."""
    if column not in tracks.columns:
        return None
    has = tracks[column].notna()
    if not has.any():
        return None
    mat = np.vstack(tracks.loc[has, column].map(lambda v: np.asarray(v, dtype=float)).to_numpy())
    return pd.DataFrame(
        mat, index=tracks.index[has], columns=[f"topic{i}" for i in range(mat.shape[1])]
    )


def run_clusters_stage(
    tracks: pd.DataFrame, cfg: ClusteringConfig, layer_dirs: dict[str, Path]
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Cluster tracks by audio features and (when present) by lyric-topic vectors.

    Parameters
    ----------
    tracks
        ``track_id`` + ``cfg.audio_features``; optional ``genres`` (list or str) and
        ``topic_mixture`` (array per track, None for instrumentals). Not modified.

    Returns
    -------
    outputs, report
        Written files by dataset name (all or none), and the JSON-able report.
    """

    def path(name: str) -> Path:
        layer, fname = CLUSTER_OUTPUTS[name]
        return Path(layer_dirs[layer]) / fname

    feats, missing = available_features(tracks, cfg)
    x = feature_matrix(tracks, feats, cfg.scaling)
    audio = select_clustering(x, cfg)
    clusters = pd.DataFrame(
        {"track_id": tracks["track_id"].to_numpy(), "audio_cluster": audio.labels.astype(np.int64)}
    )
    topics = topic_matrix(tracks)
    cand = [audio.candidates.assign(feature_set="audio")]
    report: dict[str, Any] = {
        "audio": {
            **audio.selected,
            "features": feats,
            "missing_features": missing,
            "scaling": cfg.scaling,
            "n_tracks": len(tracks),
        }
    }
    if topics is not None and len(topics) >= max(10, cfg.k_min + 2):
        # topic shares are compositions: Hellinger (sqrt) makes Euclidean distance meaningful
        xt = np.sqrt(np.clip(topics.to_numpy(), 0.0, None))
        topic_res = select_clustering(xt, cfg)
        lab = pd.Series(-1, index=tracks.index, dtype=np.int64)
        lab.loc[topics.index] = topic_res.labels
        clusters["topic_cluster"] = lab.to_numpy()
        cand.append(topic_res.candidates.assign(feature_set="topics"))
        report["topics"] = {**topic_res.selected, "n_tracks": len(topics)}
    else:
        clusters["topic_cluster"] = -1
        report["topics"] = None
    profiles = cluster_profiles(
        tracks.join(topics) if topics is not None else tracks,
        audio.labels,
        feats,
        genre_column="genres" if "genres" in tracks.columns else None,
        topic_columns=list(topics.columns) if topics is not None else None,
        top_n=cfg.top_genres,
    )
    candidates = pd.concat(cand, ignore_index=True)
    candidates["k"] = candidates["k"].astype("Int64")
    with stage_outputs(*layer_dirs.values(), label="clusters") as staging:
        outputs = {
            "track_clusters": staging.write_parquet(clusters, path("track_clusters")),
            "cluster_candidates": staging.write_parquet(candidates, path("cluster_candidates")),
            "cluster_profiles": staging.write_parquet(profiles, path("cluster_profiles")),
            "clusters_report": staging.write_json(path("clusters_report"), report),
        }
    return outputs, report
