"""The content join: names, keys, fuzzy matching, artist level, coverage by plays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.content.config import ContentConfig, ContentSource
from moodrec.content.join import catalogue_frame, coverage_table, join_source, unmatched_table
from moodrec.content.names import artist_key, artist_parts, title_key
from moodrec.content.sources import read_source
from moodrec.content.stage import run_content_join
from moodrec.errors import InputDataError

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _tracks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track_id": [0, 1, 2, 3, 4],
            "track_mbid": ["m-0", None, None, None, None],
            "artist_id": [0, 1, 2, 3, 4],
            "artist_name": ["Beyoncé", "The Verve", "Dua Lipa", "Coldplay", "Nobody Known"],
            "track_name": [
                "Halo",
                "Bitter Sweet Symphony - 2004 Remaster",
                "Levitating (feat. DaBaby)",
                "Yellow",
                "Unheard",
            ],
            "n_events": [5, 40, 30, 20, 100],
        }
    )


def _features(tmp_path: Path) -> Path:
    path = tmp_path / "features.csv"
    pd.DataFrame(
        {
            "Artist": ["Someone Else", "Verve", "Dua Lipa feat. DaBaby", "Coldplay"],
            "Title": ["Other", "BITTER SWEET SYMPHONY", "LEVITATING", "YELLOW"],
            "mbid": ["m-0", None, None, None],
            "Danceability": [0.1, 0.2, 0.3, 0.4],
            "Energy": [0.5, 0.6, 0.7, 0.8],
            "Artist_Genres": ["a", "britpop, rock", "dance pop", ""],
        }
    ).to_csv(path, index=False)
    return path


def test_names_drop_release_detail_but_keep_remixes() -> None:
    assert title_key("Bitter Sweet Symphony - 2004 Remaster") == "bitter sweet symphony"
    assert title_key("Talk (Album Version)") == "talk"
    assert title_key("Levitating (feat. DaBaby)") == "levitating"
    assert title_key("Song [Live at Wembley]") == "song"
    assert title_key("Cold Heart - PNAU Remix") == "cold heart pnau remix"
    assert artist_key("The Verve") == "verve"
    assert artist_key("Beyoncé feat. Jay-Z") == "beyonce"
    assert artist_parts("Lady Gaga & Bruno Mars") == [
        "lady gaga and bruno mars",
        "lady gaga",
        "bruno mars",
    ]


def test_join_links_by_id_then_exact_then_fuzzy(tmp_path: Path) -> None:
    table = read_source(ContentSource(name="f", kind="features", path=_features(tmp_path)))
    assert table.capabilities["audio_features"] == ["danceability", "energy"]
    assert "instrumentalness" in table.missing  # left out and reported, not an error
    joined = join_source(catalogue_frame(_tracks(), None), table, ContentConfig(sources=()))
    assert joined["match_key"].tolist() == ["mbid", "fuzzy", "fuzzy", "name", ""]
    assert joined["danceability"].tolist()[:4] == [0.1, 0.2, 0.3, 0.4]
    assert np.isnan(joined["danceability"].iat[4])
    assert joined.loc[joined["match_key"] == "fuzzy", "match_score"].between(90, 100).all()
    strict = join_source(
        catalogue_frame(_tracks(), None), table, ContentConfig(sources=(), fuzzy=False)
    )
    assert strict["match_key"].tolist() == ["mbid", "", "", "name", ""]


def test_a_remix_is_not_the_original(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    pd.DataFrame(
        {
            "artist": ["*NSYNC"],
            "title": ["Thinking Of You (I Drive Myself Crazy) - Remix"],
            "energy": [0.5],
        }
    ).to_csv(path, index=False)
    table = read_source(ContentSource(name="f", kind="features", path=path))
    tracks = pd.DataFrame(
        {
            "track_id": [1],
            "artist_name": ["*Nsync"],
            "track_name": ["THINKING OF YOU (I DRIVE MYSELF CRAZY)"],
        }
    )
    joined = join_source(catalogue_frame(tracks, None), table, ContentConfig())
    assert joined["match_key"].tolist() == [""]


def test_fuzzy_threshold_rejects_other_titles(tmp_path: Path) -> None:
    tracks = _tracks().assign(track_name=["Halo", "Lucky Man", "Physical", "Fix You", "x"])
    table = read_source(ContentSource(name="f", kind="features", path=_features(tmp_path)))
    joined = join_source(catalogue_frame(tracks, None), table, ContentConfig())
    assert joined["match_key"].tolist() == ["mbid", "", "", "", ""]


def test_coverage_counts_plays_exact_and_fuzzy(tmp_path: Path) -> None:
    src = ContentSource(name="f", kind="features", path=_features(tmp_path))
    table = read_source(src)
    joined = {"f": join_source(catalogue_frame(_tracks(), None), table, ContentConfig())}
    cov = coverage_table(joined, {"f": table}).set_index("capability")
    audio = cov.loc["audio_features"]
    assert audio["plays"] == 195
    assert audio["plays_exact"] == 5 + 20
    assert audio["plays_linked"] == 5 + 40 + 30 + 20
    assert audio["by_fuzzy"] == 2 and audio["missing"].startswith("key")
    # genres: Coldplay's row has an empty genre list, so it is linked but not covered
    assert cov.loc["genres", "items_linked"] == 3
    miss = unmatched_table(joined, 3)
    assert miss["title"].tolist() == ["Unheard"] and miss["plays"].tolist() == [100]


def test_lyrics_file_without_track_id_and_artist_level(tmp_path: Path) -> None:
    path = tmp_path / "lyrics.json"
    pd.DataFrame(
        {
            "artist": ["Coldplay", "Dua Lipa"],
            "track_name": ["Yellow", "Levitating"],
            "lyrics": ["look at the stars", "you want me"],
        }
    ).to_json(path, orient="records")
    table = read_source(ContentSource(name="l", kind="lyrics", path=path))
    joined = join_source(catalogue_frame(_tracks(), None), table, ContentConfig())
    assert joined.set_index("track_id").loc[3, "text"] == "look at the stars"
    assert joined.set_index("track_id").loc[2, "match_key"] == "fuzzy"
    artists = pd.DataFrame(
        {
            "artist_id": [7, 8, 9, 10],
            "artist_name": ["coldplay", "Cold-Play", "Coldplay攀", "Ryan Adams"],
            "n_events": [3, 1, 1, 1],
        }
    )
    src = tmp_path / "by_artist.csv"
    pd.DataFrame(
        {"artist": ["Coldplay", "Bryan Adams"], "lyrics": ["look at the stars", "summer of 69"]}
    ).to_csv(src, index=False)
    table = read_source(ContentSource(name="a", kind="lyrics", path=src))
    by_artist = join_source(catalogue_frame(None, artists), table, ContentConfig())
    # same name without spaces / scraping debris: linked; one letter apart: another artist
    assert by_artist["match_key"].tolist() == ["name", "fuzzy", "fuzzy", ""]
    assert by_artist["text"].tolist()[:3] == ["look at the stars"] * 3


def test_sources_without_keys_or_payload_are_named_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    pd.DataFrame({"foo": [1], "lyrics": ["a"]}).to_csv(path, index=False)
    with pytest.raises(InputDataError, match="no column to link by"):
        read_source(ContentSource(name="x", kind="lyrics", path=path))
    pd.DataFrame({"artist": ["a"], "title": ["b"]}).to_csv(path, index=False)
    with pytest.raises(InputDataError, match="no lyrics column"):
        read_source(ContentSource(name="x", kind="lyrics", path=path))
    with pytest.raises(InputDataError, match="does not exist"):
        read_source(ContentSource(name="x", kind="lyrics", path=tmp_path / "none.csv"))


def test_stage_writes_tables_and_coverage(tmp_path: Path) -> None:
    tracks = tmp_path / "tracks.parquet"
    _tracks().to_parquet(tracks)
    cfg = ContentConfig(
        sources=(ContentSource(name="f", kind="features", path=_features(tmp_path)),)
    )
    outputs, report = run_content_join(tracks, None, cfg, tmp_path / "out")
    assert set(outputs) == {"content_f", "content_coverage", "content_unmatched", "content_report"}
    assert all(p.is_file() for p in outputs.values())
    assert pd.read_parquet(outputs["content_f"])["match_key"].tolist()[:4] == [
        "mbid",
        "fuzzy",
        "fuzzy",
        "name",
    ]
    assert {"key", "mode", "instrumentalness"} <= set(report["sources"]["f"]["missing"])


@pytest.mark.skipif(not (DATA / "lyrics_poplyrics_1k_genius").is_dir(), reason="no shared data")
def test_real_files_fuzzy_lifts_linked_tracks() -> None:
    """The pop-lyrics file joined to the Top 40 NL features file (upper-case titles, joint
    credits): fuzzy matching links more than exact keys, at 90+ scores."""
    feats = read_source(
        ContentSource(
            name="top40",
            kind="features",
            path=DATA / "spotify_top40nl_artist_genres" / "spotify_songs_top40nl.csv",
        )
    )
    lyrics = read_source(
        ContentSource(
            name="pop",
            kind="lyrics",
            path=DATA / "lyrics_poplyrics_1k_genius" / "poplyric-1k.parquet",
        )
    )
    f = feats.frame
    tracks = pd.DataFrame(
        {"track_id": np.arange(len(f)), "artist_name": f["artist"], "track_name": f["title"]}
    )
    joined = {"pop": join_source(catalogue_frame(tracks, None), lyrics, ContentConfig())}
    cov = coverage_table(joined, {"pop": lyrics}).iloc[0]
    assert cov["items_linked"] > 1.2 * cov["items_exact"] > 0
