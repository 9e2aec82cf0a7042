"""Real genre sources: HetRec Last.fm tags and Spotify top40nl micro-genres build, embed, map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moodrec.genres.analysis import analyse_genre_graph
from moodrec.genres.config import GenresConfig
from moodrec.genres.embedding import embed_genres, shortest_path_matrix, vector_columns
from moodrec.genres.graph import build_genre_graph
from moodrec.genres.sources import read_hetrec_tags, read_spotify_artist_genres
from moodrec.genres.stage import load_tracks, run_genres_stage

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _nearer(emb, dist, g, anchor: str, near: str, far: str) -> None:
    v = emb.set_index("genre")[vector_columns(emb)]
    assert np.linalg.norm(v.loc[anchor] - v.loc[near]) < np.linalg.norm(v.loc[anchor] - v.loc[far])
    i = g.index_of()
    assert dist[i[anchor], i[near]] < dist[i[anchor], i[far]]


def test_hetrec_tags_decode_and_build_embed(shared_data) -> None:
    folder = shared_data / "hetrec2011_lastfm_2k"
    table = read_hetrec_tags(folder)
    # ISO-8859-1 decoded: accented tags come back as real characters
    assert {"español", "rock français"} <= set(table["genre"])
    assert (table["weight"] >= 1).all()
    cfg = GenresConfig(
        source="hetrec", path=folder, min_genre_support=10, min_edge_support=2, betweenness_k=16
    )
    g = build_genre_graph(table, cfg)
    res = analyse_genre_graph(g, cfg)
    assert res.report["n_genres"] > 500
    assert res.report["super_genres_missing"] == []
    assert res.report["n_unplaceable"] == len(res.report["unplaceable"])
    dist = shortest_path_matrix(g)
    emb = embed_genres(g, cfg, dist)
    _nearer(emb, dist, g, "death metal", "black metal", "dance pop")
    sup = dict(zip(res.genres["genre"], res.genres["super_genre"], strict=True))
    # well-known tags a listener would file the same way (the default placement: graph +
    # names; HetRec has no tracks, so no audio evidence)
    assert res.report["super_genre_evidence"]["audio"] is False
    expected = {
        "black metal": "metal",
        "death metal": "metal",
        "thrash metal": "metal",
        "hip-hop": "hip hop",
        "gangsta rap": "hip hop",
        "trance": "electronica",
        "techno": "electronica",
        "punk": "rock",
        "classic rock": "rock",
        "bebop": "jazz",
        "smooth jazz": "jazz",
        "opera": "classical",
        "folk rock": "folk",
        "singer-songwriter": "folk",
        "noise": "experimental",
    }
    assert {g: sup[g] for g in expected} == expected


def test_spotify_micro_genres_build_embed_and_map(shared_data, tmp_path) -> None:
    csv = shared_data / "spotify_top40nl_artist_genres" / "spotify_songs_top40nl.csv"
    table = read_spotify_artist_genres(csv)
    assert table["genre"].nunique() == 1101
    cfg = GenresConfig(source="spotify_csv", path=csv, song_map_method="pca", plotlyjs="cdn")
    tracks = load_tracks(cfg)
    dirs = {k: tmp_path / k for k in ("interim", "features", "reports")}
    res = run_genres_stage(table, tracks, cfg, dirs)
    assert res.report["graph"]["n_genres"] == 1101
    assert res.report["tracks"]["n"] == len(tracks) == 14_299
    assert res.outputs["song_map"].stat().st_size > 10_000
    # "black metal" is not among the 1,101 micro-genres: closest valid pair is groove metal
    g = build_genre_graph(table, cfg)
    dist = shortest_path_matrix(g)
    emb = pd.read_parquet(res.outputs["genre_embedding"])
    _nearer(emb, dist, g, "death metal", "groove metal", "dance pop")


def test_spotify_audio_features_cluster(shared_data, tmp_path) -> None:
    from moodrec.clustering.config import ClusteringConfig
    from moodrec.clustering.stage import load_cluster_tracks, run_clusters_stage

    csv = shared_data / "spotify_top40nl_artist_genres" / "spotify_songs_top40nl.csv"
    feats = (
        "danceability",
        "energy",
        "loudness",
        "speechiness",
        "acousticness",
        "liveness",
        "valence",
        "tempo",
        "duration_ms",
    )
    cfg = ClusteringConfig(
        source="spotify_csv",
        path=csv,
        audio_features=feats,
        methods=("kmeans",),
        k_min=4,
        k_max=6,
        bootstrap_rounds=0,
        silhouette_sample=2000,
    )
    tracks = load_cluster_tracks(cfg, csv)
    outputs, report = run_clusters_stage(tracks, cfg, {"features": tmp_path, "reports": tmp_path})
    labels = pd.read_parquet(outputs["track_clusters"])
    assert len(labels) == 14_299
    assert 4 <= report["audio"]["n_clusters"] <= 6
    assert report["topics"] is None
