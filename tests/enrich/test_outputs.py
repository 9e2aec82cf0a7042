"""Enrich tables as inputs of later stages: tiny frames built here, no servers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.enrich.outputs import (
    best_features,
    genre_table_from_enrich,
    lyrics_from_enrich,
    session_features_from_open,
    tracks_from_enrich,
)
from moodrec.errors import InputDataError

FEATS = ("valence", "energy")


def _write(tmp_path: Path, name: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / f"{name}.parquet"
    frame.to_parquet(path)
    return path


@pytest.fixture
def tables(tmp_path: Path) -> dict[str, Path]:
    tracks = pd.DataFrame(
        {
            "track_id": [0, 1, 2, 3],
            "track_mbid": [None] * 4,
            "artist_id": [10, 10, 11, 12],
            "artist_name": ["A", "A", "B", "C"],
            "track_name": ["a1", "a2", "b1", "c1"],
            "n_events": [5, 4, 3, 2],
        }
    )
    features = pd.DataFrame(
        {
            "track_id": [0, 0, 1, 2],
            "provider": ["spotify", "features_file", "spotify", "spotify"],
            "valence": [0.1, 0.2, np.nan, 0.5],
            "energy": [np.nan, 0.3, 0.7, 0.6],
        }
    )
    genres = pd.DataFrame(
        {
            "artist_id": [10, 10, 11],
            "provider": ["spotify", "musicbrainz", "spotify"],
            "spotify_artist_id": ["x", None, "y"],
            "genres": [["Death Metal", "metal"], ["metal", "thrash metal"], ["dance pop"]],
        }
    )
    lyrics = pd.DataFrame(
        {
            "track_id": [0, 0, 2, 3],
            "provider": ["genius", "lrclib", "lrclib", "genius"],
            "text": ["first words", "other words", "b words", "   "],
            "match_score": [1.0, 0.9, 0.8, 0.7],
        }
    )
    return {
        "tracks": _write(tmp_path, "tracks", tracks),
        "track_features": _write(tmp_path, "track_features", features),
        "artist_genres": _write(tmp_path, "artist_genres", genres),
        "lyrics_raw": _write(tmp_path, "lyrics_raw", lyrics),
    }


def test_best_features_takes_the_most_complete_provider_row() -> None:
    f = pd.DataFrame(
        {
            "track_id": [5, 5, 5, 6],
            "provider": ["a", "b", "c", "a"],
            "valence": [0.1, 0.2, 0.3, np.nan],
            "energy": [np.nan, 0.4, 0.5, np.nan],
        }
    )
    out = best_features(f, FEATS)
    # track 5: b and c are complete, b came first; track 6 has no feature at all: dropped
    assert out.to_dict("records") == [
        {"track_id": 5, "feature_provider": "b", "valence": 0.2, "energy": 0.4}
    ]


def test_genre_table_is_the_union_over_providers_keyed_by_artist_id(tables) -> None:
    table = genre_table_from_enrich(tables["artist_genres"])
    got = sorted(zip(table["artist"], table["genre"], strict=True))
    assert got == [
        ("10", "death metal"),
        ("10", "metal"),
        ("10", "thrash metal"),
        ("11", "dance pop"),
    ]
    assert (table["weight"] == 1.0).all()


def test_genre_weights_come_from_the_providers_tag_counts(tables, tmp_path: Path) -> None:
    tags = pd.DataFrame(
        {
            "artist_id": [10, 10, 10, 10],
            "provider": ["musicbrainz", "musicbrainz", "lastfm_tags", "lastfm_tags"],
            "tag": ["Metal", "thrash metal", "metal", "death metal"],
            "count": [4, 1, 100, 0],
        }
    )
    table = genre_table_from_enrich(tables["artist_genres"], _write(tmp_path, "at", tags))
    w = {
        (a, g): x for a, g, x in zip(table["artist"], table["genre"], table["weight"], strict=True)
    }
    # the largest share of an artist's top count over providers; a zero count stays above 0;
    # a genre no tag carries (Spotify's unweighted list) keeps weight 1
    assert w[("10", "metal")] == 1.0
    assert w[("10", "thrash metal")] == 0.25
    assert w[("10", "death metal")] == 0.01
    assert w[("11", "dance pop")] == 1.0


def test_session_features_from_open_covers_tracks_by_evidence(tables, tmp_path: Path) -> None:
    moods = pd.DataFrame(
        {
            "track_id": [0],
            "provider": ["acousticbrainz_dump"],
            "mood_happy": [0.9],
            "mood_sad": [0.1],
            "mood_relaxed": [0.2],
            "mood_aggressive": [0.1],
            "mood_party": [0.7],
        }
    )
    track_tags = pd.DataFrame(
        {
            "track_id": [1, 1],
            "provider": ["lastfm_tags"] * 2,
            "tag": ["rock", "Sad"],
            "count": [100, 40],
        }
    )
    audio = pd.DataFrame({"track_id": [2], "bpm": [128.0], "gain": [-6.0]})
    paths = {
        "track_moods": _write(tmp_path, "m", moods),
        "track_tags": _write(tmp_path, "tt", track_tags),
        "track_audio": _write(tmp_path, "au", audio),
    }
    by = {
        ev: session_features_from_open(tables["tracks"], paths, ev)
        for ev in ("acousticbrainz", "mood_tags", "any")
    }
    assert by["acousticbrainz"]["track_name"].tolist() == ["a1"]
    assert sorted(by["mood_tags"]["track_name"]) == ["a1", "a2"]
    assert sorted(by["any"]["track_name"]) == ["a1", "a2", "b1"]  # c1: no evidence at all
    out = by["any"].set_index("track_name")
    assert out.loc["a1", "mood_source"] == "acousticbrainz+"
    assert out.loc["a1", "valence"] > out.loc["a2", "valence"]  # happy record vs a "sad" tag
    assert out[["valence", "energy"]].stack().between(0, 1).all()
    with pytest.raises(InputDataError, match="enough evidence"):
        session_features_from_open(tables["tracks"], {}, "any")


def test_no_genres_at_all_is_a_clear_error(tmp_path: Path) -> None:
    empty = _write(
        tmp_path,
        "artist_genres",
        pd.DataFrame(
            {
                "artist_id": pd.Series([], dtype="int32"),
                "provider": pd.Series([], dtype=str),
                "genres": pd.Series([], dtype=object),
            }
        ),
    )
    with pytest.raises(InputDataError, match=r"artist_genres\.parquet holds no genre"):
        genre_table_from_enrich(empty)
    with pytest.raises(InputDataError, match="does not exist"):
        genre_table_from_enrich(tmp_path / "missing.parquet")


def test_tracks_keep_nan_features_unless_required(tables) -> None:
    every = tracks_from_enrich(tables["tracks"], tables["track_features"], FEATS)
    assert every["track_id"].tolist() == [0, 1, 2, 3]
    assert every["artist"].tolist() == ["10", "10", "11", "12"]
    assert every["name"].tolist() == ["a1", "a2", "b1", "c1"]
    assert every.loc[0, "feature_provider"] == "features_file"  # the complete row
    assert np.isnan(every.loc[1, "valence"]) and every.loc[1, "energy"] == 0.7
    assert every.loc[3, ["valence", "energy"]].isna().all()  # no provider answered: NaN

    complete = tracks_from_enrich(
        tables["tracks"], tables["track_features"], FEATS, require_features=True
    )
    assert complete["track_id"].tolist() == [0, 2]


def test_required_features_that_no_track_has_is_a_clear_error(tables) -> None:
    with pytest.raises(InputDataError, match=r"no track .* has all of \['valence', 'tempo'\]"):
        tracks_from_enrich(
            tables["tracks"], tables["track_features"], ("valence", "tempo"), require_features=True
        )


def test_lyrics_one_text_per_track_from_the_first_provider(tables) -> None:
    out = lyrics_from_enrich(tables["lyrics_raw"], tables["track_features"])
    assert out[["track_id", "text", "source"]].to_dict("records") == [
        {"track_id": 0, "text": "first words", "source": "genius"},
        {"track_id": 2, "text": "b words", "source": "lrclib"},
    ]  # track 3's blank text is not a lyric
    assert out["valence"].tolist() == [0.2, 0.5]


def test_no_lyrics_is_a_clear_error(tmp_path: Path) -> None:
    empty = _write(
        tmp_path,
        "lyrics_raw",
        pd.DataFrame({"track_id": [1], "provider": ["genius"], "text": [""], "match_score": [1.0]}),
    )
    with pytest.raises(InputDataError, match="holds no lyrics"):
        lyrics_from_enrich(empty)
