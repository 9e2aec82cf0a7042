"""Real-log item content from stage outputs: groups, availability flags, no sandbox truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.content.config import ContentConfig, ContentSource
from moodrec.content.stage import run_content_join
from moodrec.features.content import GROUPS
from moodrec.features.stage_content import assemble_stage_features, load_stage_features

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _content_tables() -> tuple[dict[str, pd.DataFrame], dict[str, dict]]:
    feats = pd.DataFrame(
        {
            "track_id": [1, 2, 3],
            "match_key": ["name", "fuzzy", ""],
            "danceability": [0.2, 0.8, np.nan],
            "tempo": [90.0, 150.0, np.nan],
            "genres": [["rock", "indie"], ["pop"], None],
        }
    )
    kinds = {
        "f": {"capabilities": {"audio_features": ["danceability", "tempo"], "genres": ["genres"]}}
    }
    return {"f": feats}, kinds


def test_groups_come_from_stage_outputs_with_availability_flags() -> None:
    tables, kinds = _content_tables()
    topics = pd.DataFrame({"track_id": [2], "topic_0": [0.3], "topic_1": [0.7]})
    out = assemble_stage_features(
        np.array([3, 2, 1, 9]), content_tables=tables, content_kinds=kinds, track_topics=topics
    )
    f = out.features
    assert list(f.groups) == list(GROUPS)
    assert f.groups["audio"] == ["audio_danceability", "audio_tempo"]
    assert f.groups["popularity"] == [] and f.groups["cluster"] == []
    avail = dict(zip(f.groups, f.available.T, strict=True))
    assert avail["audio"].tolist() == [False, True, True, False]  # unmatched row 3 and item 9
    assert avail["genre"].tolist() == [False, True, True, False]
    assert avail["topics"].tolist() == [False, True, False, False]
    audio = f.values[:, [f.columns.index(c) for c in f.groups["audio"]]]
    assert np.allclose(audio[1], -audio[2])  # z-scored over the items that have audio
    assert np.allclose(audio[0], 0) and np.allclose(audio[3], 0)  # imputed: the mean
    assert out.report["sources"]["popularity"] == "none"
    assert "instrumentalness" in out.report["missing_audio_features"]


@pytest.mark.skipif(not (DATA / "hetrec2011_lastfm_2k").is_dir(), reason="no shared data")
def test_hetrec_artists_get_tag_content(tmp_path: Path) -> None:
    from moodrec.ingest.hetrec import ingest_hetrec

    ingest_hetrec(DATA / "hetrec2011_lastfm_2k", tmp_path / "interim")
    cfg = ContentConfig(
        sources=(
            ContentSource(name="tags", kind="hetrec_tags", path=DATA / "hetrec2011_lastfm_2k"),
        )
    )
    outputs, _ = run_content_join(
        None, tmp_path / "interim" / "artists.parquet", cfg, tmp_path / "c"
    )
    plays = pd.read_parquet(tmp_path / "interim" / "plays.parquet")
    ids = np.sort(plays["artist_id"].unique())
    out = load_stage_features(ids, item_key="artist_id", content_report=outputs["content_report"])
    genre = out.features.groups["genre"]
    assert len(genre) == 64
    assert out.report["available"]["genre"] > 0.5
    assert json.loads(Path(outputs["content_report"]).read_text())["level"] == "artist_id"
