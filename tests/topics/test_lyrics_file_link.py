"""``lyrics.source: file`` without moodrec's ``track_id``: linked by artist + title."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from moodrec.errors import InputDataError
from moodrec.text.config import LyricsConfig
from moodrec.topics.stage import read_lyrics_table


def _tracks(tmp_path: Path) -> Path:
    path = tmp_path / "tracks.parquet"
    pd.DataFrame(
        {
            "track_id": [10, 11, 12],
            "artist_name": ["Coldplay", "The Beach Boys", "Nobody"],
            "track_name": ["Yellow", "God Only Knows - Remastered 1996", "Silence"],
            "n_events": [3, 2, 1],
        }
    ).to_parquet(path)
    return path


def test_file_with_artist_title_and_no_track_id_is_linked(tmp_path: Path) -> None:
    lyrics = tmp_path / "lyrics.csv"
    pd.DataFrame(
        {
            "Artist": ["COLDPLAY", "Beach Boys", "Someone"],
            "Title": ["YELLOW", "God Only Knows", "Other"],
            "Lyrics": ["look at the stars", "i may not always love you", "la"],
        }
    ).to_csv(lyrics, index=False)
    cfg = LyricsConfig(source="file", path=lyrics)
    out = read_lyrics_table(cfg, enrich={"tracks": _tracks(tmp_path)})
    assert out.sort_values("track_id")["track_id"].tolist() == [10, 11]
    assert set(out.columns) == {"track_id", "text", "source"}


def test_file_without_track_id_needs_the_catalogue(tmp_path: Path) -> None:
    lyrics = tmp_path / "lyrics.json"
    pd.DataFrame({"artist": ["a"], "title": ["b"], "lyrics": ["c"]}).to_json(lyrics)
    cfg = LyricsConfig(source="file", path=lyrics)
    with pytest.raises(InputDataError, match="run the ingest stage first"):
        read_lyrics_table(cfg)
    with pytest.raises(InputDataError, match="none of its 1 rows matched"):
        read_lyrics_table(cfg, enrich={"tracks": _tracks(tmp_path)})
