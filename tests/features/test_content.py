"""Content features: linking ingest tracks to world tracks, groups, imputation flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.errors import InputDataError
from moodrec.features.content import (
    AUDIO_FEATURES,
    assemble_item_features,
    features_frame,
    features_from_frame,
    link_tracks,
    load_item_features,
    normalise_name,
)


def _truth() -> pd.DataFrame:
    rows = []
    for wid, (mbid, artist, name, alt, genre, cluster, topics) in enumerate(
        [
            ("m-0", "Björk", "Jóga", None, "pop", 1, [0.7, 0.3]),
            ("m-1", "Björk", "Hyperballad", "Hyper-Ballad", "pop", 2, [0.2, 0.8]),
            ("m-2", "Nick Drake", "Pink Moon", None, "folk", 1, None),
        ]
    ):
        row = {f: float(wid + i) for i, f in enumerate(AUDIO_FEATURES)}
        row |= {
            "track_id": 100 + wid,
            "track_mbid": mbid,
            "artist_name": artist,
            "name": name,
            "alt_name": alt,
            "super_genre": genre,
            "audio_cluster": cluster,
            "topic_mixture": None if topics is None else np.array(topics),
            "popularity": 0.1 * (wid + 1),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _tracks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track_id": [0, 1, 2, 3],
            # 0: by MBID; 1: no MBID, alt name with other punctuation; 2: accents differ;
            # 3: unknown track
            "track_mbid": ["m-0", None, None, "m-x"],
            "artist_name": ["Björk", "bjork", "Nick Drake", "Nobody"],
            "track_name": ["Joga (remaster)", "Hyper Ballad", "pink moon", "Silence"],
        }
    )


def test_normalise_name_folds_case_accents_and_punctuation() -> None:
    assert normalise_name("Björk") == normalise_name("BJORK") == "bjork"
    assert normalise_name("Hyper-Ballad!") == "hyper ballad"
    assert normalise_name(None) == normalise_name(float("nan")) == ""


def test_link_tracks_by_mbid_then_name() -> None:
    links = link_tracks(_tracks(), _truth()).set_index("track_id")
    assert links.loc[0, "link"] == "mbid" and links.loc[0, "world_track_id"] == 100
    assert links.loc[1, "link"] == "name" and links.loc[1, "world_track_id"] == 101
    assert links.loc[2, "link"] == "name" and links.loc[2, "world_track_id"] == 102
    assert links.loc[3, "link"] == "none" and pd.isna(links.loc[3, "world_track_id"])


def test_assemble_groups_imputes_and_flags_missing_values() -> None:
    content = assemble_item_features(np.array([2, 0, 3, 1]), _tracks(), _truth())
    f = content.features
    assert list(f.groups) == ["audio", "genre", "cluster", "topics", "word2vec", "popularity"]
    assert f.groups["word2vec"] == []  # no Word2Vec lyric vectors given: an empty group
    assert f.groups["genre"] == ["genre_folk", "genre_pop"]
    assert f.groups["topics"] == ["topic_0", "topic_1"]
    avail = pd.DataFrame(f.available, columns=list(f.groups))
    # row order follows the item ids given: 2 (Pink Moon, no lyrics), 0, 3 (unlinked), 1
    assert avail["audio"].tolist() == [True, True, False, True]
    assert avail["topics"].tolist() == [False, True, False, True]
    topics = f.select(["topics"]).values
    np.testing.assert_allclose(topics[1], [0.7, 0.3], rtol=1e-6)
    # imputed rows hold the mean of the known rows
    np.testing.assert_allclose(topics[0], [0.45, 0.55], rtol=1e-6)
    audio = f.select(["audio"]).values
    np.testing.assert_allclose(audio[2], audio[[0, 1, 3]].mean(0), rtol=1e-6)
    assert np.isfinite(f.values).all()
    assert content.report["link_rate"] == pytest.approx(0.75)
    assert content.report["linked_by_mbid"] == 1 and content.report["unlinked"] == 1


def test_stage_outputs_replace_the_planted_content() -> None:
    genre = pd.DataFrame({"track_id": [100, 101], "g0": [1.0, 2.0], "g1": [0.5, 0.5]})
    clusters = pd.DataFrame({"track_id": [100, 101, 102], "audio_cluster": [7, 8, 7]})
    topics = pd.DataFrame(
        {"track_id": [101], "language": ["en"], "topic_0": [0.1], "topic_1": [0.9]}
    )
    content = assemble_item_features(
        np.array([0, 1, 2]),
        _tracks(),
        _truth(),
        genre_vectors=genre,
        clusters=clusters,
        track_topics=topics,
        word2vec=pd.DataFrame({"track_id": [100, 102], "w2v_0": [0.5, -0.5], "w2v_1": [1.0, 2.0]}),
    )
    f = content.features
    assert f.groups["word2vec"] == ["word2vec_w2v_0", "word2vec_w2v_1"]
    assert f.available[:, list(f.groups).index("word2vec")].tolist() == [True, False, True]
    assert content.report["sources"]["word2vec"] == "Word2Vec lyric vectors"
    assert f.groups["genre"] == ["genre_g0", "genre_g1"]
    assert f.groups["cluster"] == ["cluster_7", "cluster_8"]
    assert f.groups["topics"] == ["topics_topic_0", "topics_topic_1"]
    np.testing.assert_allclose(f.select(["cluster"]).values, [[1, 0], [0, 1], [1, 0]])
    assert content.report["sources"]["topics"].startswith("topics stage")
    assert f.available[:, list(f.groups).index("genre")].tolist() == [True, True, False]


def test_unknown_item_ids_and_missing_columns_are_input_errors() -> None:
    with pytest.raises(InputDataError, match="not among the ingest tracks"):
        assemble_item_features(np.array([0, 9]), _tracks(), _truth())
    with pytest.raises(InputDataError, match="popularity"):
        assemble_item_features(np.array([0]), _tracks(), _truth().drop(columns="popularity"))


def test_frame_roundtrip_and_file_loading(tmp_path: Path) -> None:
    _tracks().to_parquet(tmp_path / "tracks.parquet")
    _truth().to_parquet(tmp_path / "truth.parquet")
    ids = np.array([0, 1, 2])
    content = load_item_features(ids, tmp_path / "tracks.parquet", tmp_path / "truth.parquet")
    frame = features_frame(content, ids)
    back = features_from_frame(frame, content.features.groups)
    np.testing.assert_array_equal(back.values, content.features.values)
    np.testing.assert_array_equal(back.available, content.features.available)
    with pytest.raises(InputDataError, match="does not exist"):
        load_item_features(ids, tmp_path / "nope.parquet", tmp_path / "truth.parquet")


def test_sandbox_links_agree_with_the_world_events(tmp_path: Path) -> None:
    """On a generated world, every linked track is the world track its plays came from."""
    from moodrec.ingest.config import IngestConfig
    from moodrec.ingest.lastfm1k import ingest_lastfm1k
    from moodrec.sandbox.config import SandboxConfig
    from moodrec.sandbox.world import generate_world

    world = tmp_path / "world"
    generate_world(SandboxConfig(profile="tiny", seed=7), world)
    log = next(world.glob("userid-timestamp-*.tsv"))
    ingest_lastfm1k(log, tmp_path / "interim", IngestConfig())
    events = pd.read_parquet(tmp_path / "interim" / "events.parquet")
    truth_events = pd.read_parquet(world / "truth" / "events.parquet")
    assert len(events) == len(truth_events)
    tracks = pd.read_parquet(tmp_path / "interim" / "tracks.parquet")
    truth = pd.read_parquet(world / "truth" / "tracks.parquet")
    links = link_tracks(tracks, truth).set_index("track_id")["world_track_id"]
    ev = events.sort_values(["ts", "user_id"], kind="stable").reset_index(drop=True)
    tev = truth_events.sort_values(["timestamp", "user_id"], kind="stable").reset_index(drop=True)
    linked = links.loc[ev["track_id"]].to_numpy()
    ok = ~pd.isna(linked)
    assert ok.mean() > 0.95
    agree = linked[ok].astype(np.int64) == tev["track_id"].to_numpy()[ok]
    assert agree.mean() > 0.99
