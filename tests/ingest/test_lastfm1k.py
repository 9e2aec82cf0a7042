"""End to end: real sample, output schemas, canonical identity, sessions, plays, users."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from moodrec.ingest.canonical import normalise_names
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import LOG_FILENAME, ingest_lastfm1k
from moodrec.ingest.summary import summarize_events
from tests.ingest.conftest import A1, A2, T1, T2, Ingest, line

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lastfm_1k"
HEAD = REAL / LOG_FILENAME.replace(".tsv", ".head5000.tsv")
PROFILE = REAL / "userid-profile.tsv"


def _t(result, name: str) -> pl.DataFrame:
    return pl.read_parquet(result.outputs[name])


@pytest.mark.realdata
def test_real_head5000(tmp_path: Path) -> None:
    if not HEAD.is_file():
        pytest.skip(f"{HEAD} is absent")
    res = ingest_lastfm1k(HEAD, tmp_path / "out", IngestConfig(), profile_path=PROFILE)
    assert (res.n_lines, res.n_events, res.n_rejected, res.n_users) == (5000, 5000, 0, 2)
    artists = _t(res, "artists")
    names = set(artists["artist_name"]) | {v for vs in artists["name_variants"] for v in vs}
    assert 'Johnny "Hammond" Smith' in names
    users = _t(res, "users")
    assert users.filter(pl.col("n_events") > 0)["user"].to_list() == [
        "user_000001",
        "user_000002",
    ]
    assert users.height == 992  # profile-only users kept with n_events 0
    assert users.filter(pl.col("user") == "user_000001")["country"].item() == "Japan"
    assert _t(res, "plays")["plays"].sum() == 5000
    assert res.summary["users"] == 2 and res.summary["events"] == 5000
    assert summarize_events(res.out_dir) == res.summary


def test_output_schemas(ingest: Ingest) -> None:
    res = ingest(line() + "\n" + line(user="user_000002") + "\n")
    ev = _t(res, "events")
    assert ev.schema == pl.Schema(
        {
            "user_id": pl.Int32,
            "ts": pl.Datetime("us", "UTC"),
            "artist_id": pl.Int32,
            "track_id": pl.Int32,
            "session_id": pl.Int64,
        }
    )
    assert set(_t(res, "tracks").columns) == {
        "track_id", "track_mbid", "artist_id", "artist_name", "track_name",
        "name_variants", "n_events", "n_listeners",
    }  # fmt: skip
    assert _t(res, "plays").columns == [
        "user_id", "track_id", "plays", "first_ts", "last_ts", "rating", "confidence",
    ]  # fmt: skip
    assert _t(res, "plays").schema["rating"] == pl.Float32
    assert _t(res, "sessions").columns == [
        "session_id", "user_id", "start", "end", "n_events", "n_tracks",
    ]  # fmt: skip
    assert Path(res.outputs["rejects"]).read_text().startswith("line\treason\tcontent\n")


def test_mbid_with_two_spellings_is_one_track(ingest: Ingest) -> None:
    rows = [line(track="Song")] * 3 + [line(track="Song (remaster)")]
    res = ingest("\n".join(rows) + "\n")
    tracks = _t(res, "tracks")
    assert tracks.height == 1
    assert tracks["track_name"].item() == "Song"
    assert tracks["name_variants"].item().to_list() == ["Song (remaster)"]
    assert tracks["n_events"].item() == 4


def test_display_name_tie_takes_smallest(ingest: Ingest) -> None:
    res = ingest(line(track="b") + "\n" + line(track="a") + "\n")
    assert _t(res, "tracks")["track_name"].item() == "a"


def test_missing_mbid_is_filled_from_the_same_normalised_key(ingest: Ingest) -> None:
    rows = [
        line(amb=A1, artist="Röyksopp", tmb=T1, track="Eple"),
        line(amb="", artist="RÖYKSOPP ", tmb="", track="  eple"),
        line(amb=A1, artist="Röyksopp", tmb=T2, track="Other"),
    ]
    res = ingest("\n".join(rows) + "\n")
    tracks, artists = _t(res, "tracks"), _t(res, "artists")
    assert artists.height == 1 and artists["artist_mbid"].item() == A1
    assert tracks.height == 2
    eple = tracks.filter(pl.col("track_mbid") == T1)
    assert eple["n_events"].item() == 2
    assert res.summary["share_track_mbid_filled"] == pytest.approx(1 / 3, abs=1e-6)
    assert res.summary["share_missing_artist_mbid"] == pytest.approx(1 / 3, abs=1e-6)


def test_fill_picks_the_most_frequent_mbid(ingest: Ingest) -> None:
    rows = [line(tmb=T2, track="X")] * 2 + [line(tmb=T1, track="x")] + [line(tmb="", track="X")]
    res = ingest("\n".join(rows) + "\n")
    ev = _t(res, "events").join(_t(res, "tracks"), on="track_id")
    assert ev.sort("ts")["track_mbid"].null_count() == 0
    assert _t(res, "tracks").filter(pl.col("track_mbid") == T2)["n_events"].item() == 3


def test_same_title_by_two_artists_is_two_tracks(ingest: Ingest) -> None:
    rows = [
        line(amb=A1, artist="One", tmb="", track="Intro"),
        line(amb=A2, artist="Two", tmb="", track="Intro"),
    ]
    res = ingest("\n".join(rows) + "\n")
    assert res.n_tracks == 2 and res.n_artists == 2


def test_artists_without_mbid_merge_on_normalised_name(ingest: Ingest) -> None:
    rows = [line(amb="", artist="The  Band"), line(amb="", artist="the band")]
    res = ingest("\n".join(rows) + "\n")
    assert res.n_artists == 1


def test_normalise_names_matches_python_casefold() -> None:
    raw = ["Straße", "ΣΊΣΥΦΟΣ", "ﬁne  Tune ", "Ǆemal", None, "\u00a0x\ty", "Ｆｕｌｌ"]
    expected = [
        "strasse", "σίσυφοσ", "fine tune", "džemal", "", "x y", "full",
    ]  # fmt: skip
    assert normalise_names(pl.Series(raw, dtype=pl.String)).to_list() == expected


def _ts(minutes: float) -> str:
    import datetime as dt

    t = dt.datetime(2009, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_sessions_split_only_when_gap_exceeds_threshold(ingest: Ingest) -> None:
    # reverse-chronological like the real file; gaps 30 (exactly: same session), 31 (split)
    minutes = [0, 30, 61, 70]
    rows = [line(ts=_ts(m), tmb="", track=f"t{m}") for m in reversed(minutes)]
    res = ingest("\n".join(rows) + "\n", session_gap_minutes=30)
    ev = _t(res, "events")
    assert ev["session_id"].to_list() == [0, 0, 1, 1]
    assert ev["ts"].is_sorted()
    sess = _t(res, "sessions")
    assert sess["n_events"].to_list() == [2, 2]
    assert sess["n_tracks"].to_list() == [2, 2]
    assert res.n_sessions == 2


def test_sessions_never_span_users(ingest: Ingest) -> None:
    rows = [line(user="u1", ts=_ts(0)), line(user="u2", ts=_ts(1))]
    res = ingest("\n".join(rows) + "\n")
    assert _t(res, "sessions")["user_id"].to_list() == [0, 1]


def test_ties_keep_file_order(ingest: Ingest) -> None:
    rows = [line(tmb="", track="first"), line(tmb="", track="second")]  # same timestamp
    res = ingest("\n".join(rows) + "\n")
    assert _t(res, "events")["track_id"].to_list() == [0, 1]


def test_ratings_and_confidence(ingest: Ingest) -> None:
    rows = [line(user="a", tmb="", track="x")] * 5 + [line(user="a", tmb="", track="y")]
    rows += [line(user="a", tmb="", track="z")] * 2
    rows += [line(user="b", tmb="", track="x")] * 3  # one pair only: midpoint
    res = ingest("\n".join(rows) + "\n")
    plays = _t(res, "plays")
    assert plays["plays"].sum() == res.n_events == 11
    a = plays.filter(pl.col("user_id") == 0).sort("plays")
    assert a["rating"].to_list()[0] == pytest.approx(3.0)
    assert a["rating"].to_list()[-1] == pytest.approx(10.0)
    assert plays.filter(pl.col("user_id") == 1)["rating"].item() == pytest.approx(6.5)
    assert plays["rating"].is_between(3, 10).all()
    import math

    assert plays.filter(pl.col("plays") == 5)["confidence"].item() == pytest.approx(
        1 + 40 * math.log(6), rel=1e-6
    )
    tracks = _t(res, "tracks")
    assert tracks.filter(pl.col("track_name") == "x")["n_listeners"].item() == 2


def test_users_with_profile(ingest: Ingest) -> None:
    profile = (
        "#id\tgender\tage\tcountry\tregistered\n"
        "user_000002\tf\t25\tPeru\tFeb 24, 2006\n"
        "user_000009\t\t\t\t\n"
    )
    rows = [line(user="user_000002"), line(user="user_000001")]
    res = ingest("\n".join(rows) + "\n", profile=profile)
    users = _t(res, "users")
    assert users["user"].to_list() == ["user_000001", "user_000002", "user_000009"]
    assert users["user_id"].to_list() == [0, 1, 2]
    assert users["n_events"].to_list() == [1, 1, 0]
    assert users["age"].to_list() == [None, 25, None]
    assert str(users["registered"][1]) == "2006-02-24"
    assert res.n_users == 2


def test_deterministic_outputs(ingest: Ingest) -> None:
    rows = "\n".join(
        line(user=f"u{i % 3}", ts=_ts(i * 7), amb="", artist=f"a{i % 4}", tmb="", track=f"t{i % 9}")
        for i in range(200)
    )
    r1, r2 = ingest(rows), ingest(rows)
    for name in ("events", "tracks", "artists", "users", "plays", "sessions"):
        assert _t(r1, name).equals(_t(r2, name))
