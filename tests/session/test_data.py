"""Session sequences from ingest tables; item features linked by MBID, then by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moodrec.session.data import (
    SessionDataError,
    build_session_data,
    item_mood_from_features,
    link_item_features,
    load_session_data,
    read_truth_features,
)
from tests.session.conftest import make_events


def test_sessions_follow_user_then_time_and_subset_keeps_sequences() -> None:
    events = make_events([[3, 1], [2], [0, 4, 4]], users=[1, 0, 1])
    shuffled = events.sample(frac=1.0, random_state=0)
    tracks = pd.DataFrame({"track_id": range(5), "artist_id": [0, 0, 1, 1, 2]})
    data = build_session_data(shuffled, tracks)
    assert data.n_sessions == 3 and data.n_items == 5
    assert data.session_user.tolist() == [0, 1, 1]
    assert [data.session(s).tolist() for s in range(3)] == [[2], [3, 1], [0, 4, 4]]
    sub = data.subset(np.array([2, 0]))
    assert [sub.session(s).tolist() for s in range(2)] == [[0, 4, 4], [2]]
    assert data.item_artist.tolist() == [0, 0, 1, 1, 2]
    # the input frame is not modified
    assert shuffled.columns.tolist() == ["user_id", "ts", "track_id", "session_id"]


def test_missing_column_and_unknown_track_are_named_errors() -> None:
    events = make_events([[0, 1]], users=[0])
    with pytest.raises(SessionDataError, match="session_id"):
        build_session_data(
            events.drop(columns="session_id"),
            pd.DataFrame({"track_id": [0, 1], "artist_id": [0, 0]}),
        )
    with pytest.raises(SessionDataError, match="outside"):
        build_session_data(events, pd.DataFrame({"track_id": [0], "artist_id": [0]}))


def test_features_link_by_mbid_first_then_normalised_names() -> None:
    tracks = pd.DataFrame(
        {
            "track_id": [0, 1, 2, 3],
            "track_mbid": ["AAA", None, None, None],
            "artist_name": ["X", "Beyoncé", "Sigur  Rós", "Nobody"],
            "track_name": ["ignored", "HALO", "Hoppípolla", "Unknown"],
        }
    )
    features = pd.DataFrame(
        {
            "track_mbid": ["aaa", None, None],
            "artist_name": ["Other", "beyoncé", "sigur rós"],
            "name": ["t", "Halo", "Hoppipolla"],
            "alt_name": [None, None, "hoppípolla"],
            "valence": [0.1, 0.2, 0.3],
            "energy": [0.9, 0.8, 0.7],
        }
    )
    linked, report = link_item_features(tracks, features)
    assert report == {"n_tracks": 4, "linked_by_mbid": 1, "linked_by_name": 2, "link_rate": 0.75}
    assert linked["valence"].tolist()[:3] == [0.1, 0.2, 0.3]
    assert np.isnan(linked["valence"].iloc[3])
    mood = item_mood_from_features(linked, n_items=4)
    assert mood.known.tolist() == [True, True, True, False]
    assert np.all(mood.content[3] == 0)


def test_features_without_valence_are_rejected() -> None:
    with pytest.raises(SessionDataError, match="valence"):
        link_item_features(pd.DataFrame({"track_id": [0]}), pd.DataFrame({"energy": [0.1]}))


def test_tiny_sandbox_links_every_played_track(tiny_interim) -> None:
    features = read_truth_features(next((tiny_interim / "world").glob("truth/tracks.parquet")))
    data = load_session_data(tiny_interim / "data" / "interim", features)
    assert data.info["link_rate"] >= 0.99
    assert data.mood is not None and data.mood.known.mean() >= 0.99
    assert data.items.size == 4000
    ids_only = load_session_data(tiny_interim / "data" / "interim")
    assert ids_only.mood is None and "ids only" in ids_only.info["features"]


def test_features_file_keys_are_matched_case_insensitively(tmp_path) -> None:
    from moodrec.session.data import read_features_file

    path = tmp_path / "features.csv"
    path.write_text("Artist,Title,Valence,Energy\nBEYONCÉ,HALO,0.4,0.6\n")
    features = read_features_file(path)
    tracks = pd.DataFrame({"track_id": [0], "artist_name": ["Beyoncé"], "track_name": ["Halo"]})
    linked, report = link_item_features(tracks, features)
    assert report["linked_by_name"] == 1 and linked["energy"].tolist() == [0.6]
    (tmp_path / "bad.csv").write_text("Artist,Title\nx,y\n")
    with pytest.raises(SessionDataError, match="valence"):
        read_features_file(tmp_path / "bad.csv")
    with pytest.raises(SessionDataError, match="not found"):
        read_features_file(tmp_path / "missing.csv")
