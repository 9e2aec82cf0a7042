"""Stages fed by the enrich stage (``source: enrich``): topics, clusters and genres.

The tiny sandbox run asks the fake servers as an app with the pre-2024 Spotify access (audio
features, genres open) — the recorded 2026 refusals are covered in test_enrich_flow.py.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from moodrec.errors import CatalogueError
from moodrec.features.content import link_tracks
from moodrec.flows.enrich import enrich_flow
from moodrec.flows.genres import clusters_flow, genres_flow
from moodrec.flows.ingest import ingest_flow
from moodrec.flows.topics import topics_flow
from tests.flows.test_kill_pipeline import FAST

pytestmark = pytest.mark.slow


def test_topics_clusters_genres_read_the_enrich_tables(harness, config_env, tmp_path: Path) -> None:
    data = tmp_path / "data"
    overrides = {
        "paths": {"data_dir": str(data)},
        "enrich": {
            "sandbox_servers": {
                "spotify_dev_mode": False,
                "spotify_audio_features_closed": False,
                "error_rate": 0.0,
                "reset_rate": 0.0,
            }
        },
        "lyrics": {"source": "enrich"},
        # a small sweep: what is checked is where the lyrics come from, not the model chosen
        "topics": FAST["topics"],
        "clustering": {"source": "enrich", "methods": ["kmeans", "gmm"], "bootstrap_rounds": 0},
        "genres": {"source": "enrich"},
    }
    # before enrich ran: a clear error naming what is missing and what writes it
    with pytest.raises(CatalogueError, match=r"reads tracks, track_features, artist_genres"):
        genres_flow.fn(profile="tiny", overrides=overrides)

    ingest_flow(profile="tiny", overrides=overrides)
    enriched = enrich_flow(profile="tiny", overrides=overrides)
    lyrics_raw = pd.read_parquet(enriched["refs"]["lyrics_raw"].path)
    features = pd.read_parquet(enriched["refs"]["track_features"].path)
    assert len(features) > 0 and len(lyrics_raw) > 0

    topics = topics_flow(profile="tiny", overrides=overrides)
    assert topics["synthetic"]  # a sandbox run's enrich answers describe the synthetic world
    lyrics_input = pd.read_parquet(topics["refs"]["lyrics_input"].path)
    assert set(lyrics_input["track_id"]) == set(lyrics_raw["track_id"])
    assert set(lyrics_input["source"]) <= {"genius", "lrclib"}
    track_topics = pd.read_parquet(topics["refs"]["track_topics"].path)
    assert set(track_topics["track_id"]) <= set(lyrics_raw["track_id"])

    clusters = clusters_flow(profile="tiny", overrides=overrides)
    assert clusters["synthetic"]
    labels = pd.read_parquet(clusters["refs"]["track_clusters"].path)
    complete = features.dropna(subset=clusters["summary"]["audio"]["features"])
    assert set(labels["track_id"]) == set(complete["track_id"])
    # lyric topics of the same catalogue tracks were clustered too
    assert clusters["summary"]["topics"] is not None
    assert (labels["topic_cluster"] >= 0).sum() == len(
        set(track_topics["track_id"]) & set(labels["track_id"])
    )
    # the features the fake Spotify served are the world's: the planted clusters come back
    tracks = pd.read_parquet(data / "interim/tracks.parquet")
    truth = pd.read_parquet(next(data.rglob("truth/tracks.parquet")))
    link = link_tracks(tracks, truth).dropna(subset=["world_track_id"])
    planted = truth.set_index("track_id")["audio_cluster"]
    joined = labels.merge(link, on="track_id")
    assert len(joined) > 0.9 * len(labels)
    ari = adjusted_rand_score(joined["world_track_id"].map(planted), joined["audio_cluster"])
    assert ari > 0.6, ari

    genres = genres_flow(profile="tiny", overrides=overrides)
    assert genres["synthetic"]
    table = pd.read_parquet(genres["refs"]["genre_table"].path)
    artist_genres = pd.read_parquet(enriched["refs"]["artist_genres"].path)
    assert set(table["artist"]) == {str(a) for a in artist_genres["artist_id"]}
    vectors = pd.read_parquet(genres["refs"]["track_genre_vectors"].path)
    of_artists = tracks[tracks["artist_id"].astype(str).isin(set(table["artist"]))]
    assert sorted(vectors["track_id"]) == sorted(of_artists["track_id"])
    report = genres["summary"]
    assert report["song_map"]["tracks"] >= 3 and "skipped" not in report["song_map"]
    assert Path(genres["refs"]["song_map"].path).is_file()
    # the graph is built on what the fake Spotify answered: each artist's genres in the world
    artists = pd.read_parquet(next(data.rglob("truth/artists.parquet")))
    world_genres = {
        name: {str(g).lower() for g in gs}
        for name, gs in zip(artists["name"], artists["genres"], strict=True)
    }
    names = tracks.drop_duplicates("artist_id").set_index("artist_id")["artist_name"]
    got = table.groupby("artist")["genre"].agg(set)
    assert len(got) > 0
    for artist, genres_of in got.items():
        assert genres_of == world_genres[names[int(artist)]], artist
    nodes = pd.read_parquet(genres["refs"]["genre_nodes"].path)
    assert set(nodes["genre"]) == set(table["genre"])
    assert nodes["super_genre"].notna().all()  # every genre placed or listed, none dropped


def test_genres_from_enrich_without_any_genre_says_why(harness, config_env, tmp_path: Path) -> None:
    """The 2026 reality of a new app (the tiny profile's servers): no genres, a clear error."""
    from moodrec.errors import InputDataError

    overrides = {
        "paths": {"data_dir": str(tmp_path / "data")},
        "enrich": {"max_tracks": 20, "sandbox_servers": {"error_rate": 0.0, "reset_rate": 0.0}},
        "genres": {"source": "enrich"},
        "clustering": {"source": "enrich"},
    }
    ingest_flow(profile="tiny", overrides=overrides)
    enrich_flow(profile="tiny", overrides=overrides)
    with pytest.raises(InputDataError, match="holds no genre for any artist"):
        genres_flow(profile="tiny", overrides=overrides)
    with pytest.raises(InputDataError, match="audio features are closed"):
        clusters_flow(profile="tiny", overrides=overrides)
