"""The sandbox world: reproducible bytes, the real log layout, planted quirks and truth."""

from __future__ import annotations

import csv
import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moodrec.errors import MoodrecError
from moodrec.sandbox.config import SandboxConfig
from moodrec.sandbox.world import (
    LOG_FILENAME,
    PROFILE_FILENAME,
    WorldSize,
    WorldSummary,
    build_world,
    generate_world,
)

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MBID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# Mid-size world: big enough for stable quirk shares, still well under a second.
MID = WorldSize(n_users=30, n_artists=300, n_tracks=2_000, n_events=40_000)
ARTIFACTS = ("Contributor", "Lyrics\n", "[", "]", "Embed", "You might also like")


def read_log(path: Path) -> pd.DataFrame:
    """The reading call the brief promises to satisfy."""
    return pd.read_csv(path, sep="\t", header=None, quoting=csv.QUOTE_NONE, dtype=str)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    return generate_world(SandboxConfig(profile="tiny", seed=7), tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def mid(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    return build_world(MID, seed=3, out_dir=tmp_path_factory.mktemp("mid"), profile="mid")


@pytest.fixture(scope="module")
def mid_log(mid: WorldSummary) -> pd.DataFrame:
    return read_log(mid.log_path)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# --- determinism ------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tiny: WorldSummary, tmp_path: Path) -> None:
    again = generate_world(SandboxConfig(profile="tiny", seed=7), tmp_path / "again")
    first, second = _files(tiny.out_dir), _files(again.out_dir)
    assert sorted(first) == sorted(second)
    assert len(first) >= 12
    for name in first:
        assert first[name] == second[name], name


def test_other_seed_gives_other_world(tiny: WorldSummary, tmp_path: Path) -> None:
    other = generate_world(SandboxConfig(profile="tiny", seed=8), tmp_path / "other")
    assert other.log_path.read_bytes() != tiny.log_path.read_bytes()
    assert (other.truth_dir / "tracks.parquet").read_bytes() != (
        tiny.truth_dir / "tracks.parquet"
    ).read_bytes()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_any_seed_reproduces_and_parses(seed: int) -> None:
    size = WorldSize(n_users=4, n_artists=12, n_tracks=40, n_events=600)
    with tempfile.TemporaryDirectory() as tmp:
        a = build_world(size, seed, Path(tmp) / "a")
        b = build_world(size, seed, Path(tmp) / "b")
        assert a.log_path.read_bytes() == b.log_path.read_bytes()
        log = read_log(a.log_path)
        assert log.shape == (600, 6)
        assert log[0].is_monotonic_increasing


# --- the log and profile layouts ----------------------------------------------------------


def test_summary_counts_match_files(tiny: WorldSummary) -> None:
    assert tiny.log_path == tiny.out_dir / LOG_FILENAME
    assert tiny.profile_path == tiny.out_dir / PROFILE_FILENAME
    assert (tiny.profile, tiny.seed) == ("tiny", 7)
    log = read_log(tiny.log_path)
    assert len(log) == tiny.n_events
    assert log[0].nunique() == tiny.n_users
    assert pq.read_metadata(tiny.truth_dir / "tracks.parquet").num_rows == tiny.n_tracks
    assert pq.read_metadata(tiny.truth_dir / "artists.parquet").num_rows == tiny.n_artists
    assert pq.read_metadata(tiny.truth_dir / "users.parquet").num_rows == tiny.n_users
    world = json.loads((tiny.out_dir / "world.json").read_text(encoding="utf-8"))
    assert world["synthetic"] is True
    assert world["counts"]["events"] == tiny.n_events
    assert (world["profile"], world["seed"]) == ("tiny", 7)
    for rel in world["files"]:
        assert (tiny.out_dir / rel).is_file(), rel


def test_log_has_the_lastfm_layout(tiny: WorldSummary) -> None:
    raw = tiny.log_path.read_bytes()
    assert raw.endswith(b"\n")
    assert b"\r" not in raw
    lines = raw.decode("utf-8").splitlines()
    assert all(line.count("\t") == 5 for line in lines)
    log = read_log(tiny.log_path)
    assert log.shape == (tiny.n_events, 6)
    assert log[[0, 1, 3, 5]].notna().all().all()
    assert log[0].str.fullmatch(r"user_\d{6}").all()
    assert log[0].is_monotonic_increasing  # users ascending
    assert log[1].map(lambda s: bool(TS_RE.match(s))).all()
    assert log[1].min() >= "2005-02"
    assert log[1].max() < "2009-07"
    for col in (2, 4):
        ids = log[col].dropna()
        assert ids.map(lambda s: bool(MBID_RE.match(s))).all()


def test_each_user_is_newest_first(mid_log: pd.DataFrame) -> None:
    ts = pd.to_datetime(mid_log[1], format="%Y-%m-%dT%H:%M:%SZ")
    step = ts.groupby(mid_log[0]).diff().dropna()
    assert (step <= pd.Timedelta(0)).all()


def test_profile_file_has_the_real_layout(tiny: WorldSummary) -> None:
    lines = tiny.profile_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#id\tgender\tage\tcountry\tregistered"
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[0] for r in rows] == [f"user_{i:06d}" for i in range(1, tiny.n_users + 1)]
    assert all(len(r) == 5 for r in rows)
    assert {r[1] for r in rows} <= {"m", "f", ""}
    assert all(r[2] == "" or 10 <= int(r[2]) <= 80 for r in rows)
    date_re = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}$")
    assert all(r[4] == "" or date_re.match(r[4]) for r in rows)


# --- planted quirks ---------------------------------------------------------------------


def test_missing_mbid_shares_match_the_real_file(mid_log: pd.DataFrame) -> None:
    artist_empty = mid_log[2].isna().mean()
    track_empty = mid_log[4].isna().mean()
    assert 0.01 <= artist_empty <= 0.06
    assert 0.05 <= track_empty <= 0.20
    # No artist MBID implies no track MBID, as in the real file.
    assert mid_log.loc[mid_log[2].isna(), 4].isna().all()


def test_some_tracks_miss_their_mbid_only_sometimes(
    mid: WorldSummary, mid_log: pd.DataFrame
) -> None:
    key = mid_log[3] + "\x00" + mid_log[5]
    has = mid_log[4].notna().groupby(key).agg(["any", "all"])
    assert (has["any"] & ~has["all"]).sum() >= 3
    tracks = pq.read_table(mid.truth_dir / "tracks.parquet").to_pandas()
    assert tracks["mbid_partial"].sum() >= 3
    assert tracks.loc[tracks["mbid_partial"], "track_mbid"].notna().all()


def test_awkward_names_are_present(tiny: WorldSummary) -> None:
    log = read_log(tiny.log_path)
    names = pd.concat([log[3], log[5]])
    assert names.str.startswith('"').any()
    assert names.str.slice(1).str.contains('"', regex=False).any()
    assert names.map(lambda s: not s.isascii()).any()
    assert not names.str.contains("\t|\n", regex=True).any()


def test_one_mbid_has_two_spellings(tiny: WorldSummary) -> None:
    log = read_log(tiny.log_path)
    spellings = log.dropna(subset=[4]).groupby(4)[5].nunique()
    assert (spellings >= 2).any()
    mbid = spellings[spellings >= 2].index
    assert {"Don't Stop", "Dont Stop"} <= set(log.loc[log[4].isin(mbid), 5])
    tracks = pq.read_table(tiny.truth_dir / "tracks.parquet").to_pandas()
    row = tracks[tracks["alt_name"].notna()].iloc[0]
    assert (row["name"], row["alt_name"]) == ("Don't Stop", "Dont Stop")


# --- truth ----------------------------------------------------------------------------------


def test_topic_mixtures_sum_to_one(tiny: WorldSummary) -> None:
    tracks = pq.read_table(tiny.truth_dir / "tracks.parquet").to_pandas()
    vocal = tracks[~tracks["is_instrumental"]]
    assert vocal["topic_mixture"].notna().all()
    sums = vocal["topic_mixture"].map(np.sum)
    np.testing.assert_allclose(sums, 1.0, atol=1e-9)
    assert tracks.loc[tracks["is_instrumental"], "topic_mixture"].isna().all()
    topics = json.loads((tiny.truth_dir / "topics.json").read_text(encoding="utf-8"))["topics"]
    assert len(vocal["topic_mixture"].iloc[0]) == len(topics)


def test_audio_features_have_realistic_ranges(mid: WorldSummary) -> None:
    t = pq.read_table(mid.truth_dir / "tracks.parquet").to_pandas()
    unit = ("danceability", "energy", "speechiness", "acousticness", "instrumentalness")
    for col in (*unit, "liveness", "valence"):
        assert t[col].between(0, 1).all(), col
    assert t["key"].between(-1, 11).all()
    assert set(t["mode"]) <= {0, 1}
    assert t["loudness"].between(-60, 0).all()
    assert t["loudness"].between(-15, -3).mean() > 0.6
    assert t["tempo"].between(50, 220).all()
    assert t["duration_ms"].between(90_000, 600_000).all()
    assert 0.04 <= t["is_instrumental"].mean() <= 0.2
    assert t["audio_cluster"].nunique() == 8


def test_lyrics_have_artifacts_and_clean_text_has_none(mid: WorldSummary) -> None:
    lyrics = pq.read_table(mid.truth_dir / "lyrics.parquet").to_pandas()
    dirty = lyrics[lyrics["has_artifacts"]]
    assert 0.3 <= len(dirty) / len(lyrics) <= 0.6
    assert dirty["raw"].str.match(r"^\d+ Contributors?.+ Lyrics\n").all()
    assert dirty["raw"].str.contains(r"\[(?:Verse \d|Chorus)(?:: [^\]]+)?\]").all()
    assert dirty["raw"].str.contains(r"\d*Embed$").all()
    assert dirty["raw"].str.contains("\nYou might also like\n", regex=False).all()
    for token in ARTIFACTS:
        assert not lyrics["clean"].str.contains(token, regex=False).any(), token
    plain = lyrics[~lyrics["has_artifacts"]]
    assert (plain["raw"] == plain["clean"]).all()
    words = lyrics["clean"].str.split().str.len()
    assert words.between(80, 250).all()
    other = lyrics["language"] != "en"
    assert 0.02 <= other.mean() <= 0.2


def test_gap_rule_recovers_the_planted_sessions(mid: WorldSummary, mid_log: pd.DataFrame) -> None:
    ts = pd.to_datetime(mid_log[1], format="%Y-%m-%dT%H:%M:%SZ")
    frame = pd.DataFrame({"user": mid_log[0], "ts": ts}).iloc[::-1]  # oldest first per user
    gap = frame.groupby("user")["ts"].diff()
    starts = gap.isna() | (gap > pd.Timedelta(minutes=30))
    found = starts.groupby(frame["user"]).sum()
    sessions = pq.read_table(mid.truth_dir / "sessions.parquet").to_pandas()
    truth = sessions.groupby("user_id").size()
    pd.testing.assert_series_equal(found.sort_index(), truth.sort_index(), check_names=False)
    assert sessions["n_events"].sum() == mid.n_events


def test_session_mood_shapes_what_is_played(mid: WorldSummary) -> None:
    events = pq.read_table(mid.truth_dir / "events.parquet").to_pandas()
    sessions = pq.read_table(mid.truth_dir / "sessions.parquet").to_pandas()
    tracks = pq.read_table(mid.truth_dir / "tracks.parquet").to_pandas()
    mood = sessions["mood"].to_numpy()[events["session"].to_numpy()]
    valence = tracks["valence"].to_numpy()[events["track_id"].to_numpy()]
    energy = tracks["energy"].to_numpy()[events["track_id"].to_numpy()]
    fresh = (events["kind"] == "fresh").to_numpy()

    def mean_of(values: np.ndarray, state: str) -> float:
        return float(values[fresh & (mood == state)].mean())

    assert mean_of(valence, "happy") > mean_of(valence, "sad") + 0.1
    assert mean_of(energy, "energetic") > mean_of(energy, "calm") + 0.1


def test_artist_genres_cluster_in_one_subtree(mid: WorldSummary) -> None:
    artists = pq.read_table(mid.truth_dir / "artists.parquet").to_pandas()
    genres = pq.read_table(mid.truth_dir / "genres.parquet").to_pandas()
    super_of = dict(zip(genres["genre"], genres["super_genre"], strict=True))
    counts = artists["genres"].map(len)
    assert counts.between(1, 4).all()
    assert counts.nunique() >= 3
    flat = artists.explode("genres")
    assert flat["genres"].isin(super_of).all()
    same = flat["genres"].map(super_of) == flat["super_genre"]
    assert 0.7 <= same.mean() < 1.0  # mostly one subtree, with some cross-over
    assert set(genres["level"]) == {0, 1, 2}
    assert (genres["level"] == 0).sum() == 9


def test_users_truth_is_consistent(mid: WorldSummary) -> None:
    users = pq.read_table(mid.truth_dir / "users.parquet").to_pandas()
    assert users["n_events"].sum() == mid.n_events
    for col in ("taste_super", "topic_pref", "mood_stationary"):
        np.testing.assert_allclose(users[col].map(np.sum), 1.0, atol=1e-9)
    trans = np.stack(users["mood_transition"].map(np.asarray)).reshape(-1, 4, 4)
    np.testing.assert_allclose(trans.sum(axis=2), 1.0, atol=1e-9)
    assert users["n_events"].max() > 3 * users["n_events"].median()  # heavy-tailed activity


def test_bad_sizes_and_profiles_raise(tmp_path: Path) -> None:
    with pytest.raises(MoodrecError, match="inconsistent"):
        build_world(WorldSize(n_users=2, n_artists=10, n_tracks=5, n_events=50), 0, tmp_path)
    with pytest.raises(MoodrecError, match="events cannot cover"):
        build_world(WorldSize(n_users=20, n_artists=5, n_tracks=10, n_events=5), 0, tmp_path)
    with pytest.raises(MoodrecError, match="unknown profile"):
        generate_world(SandboxConfig.model_construct(profile="huge", seed=1), tmp_path)
