"""Personal scrobble exports: layout detection, canonical tables, strict error paths."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moodrec.errors import InputDataError
from moodrec.ingest.scrobbles import ingest_scrobbles, read_scrobble_export

SIMPLE = (
    "artist,album,track,date\n"
    "Björk,Post,Army of Me,04 May 2009 23:08\n"
    '"Simon, Garfunkel",Bookends,"Mrs. ""Robinson""",04 May 2009 23:00\n'
    "björk,Post,army of me,03 May 2009 10:00\n"
    "Now,Playing,Row,\n"
)
FULL = (
    "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\r\n"
    '1241478537,"04 May 2009, 23:08",Deep Dish,f1b1cf71-bd35-4e99-8624-24a6e15f133a,A,,T,'
    "b0000000-0000-0000-0000-000000000001\r\n"
    ',"04 May 2009, 22:08",Deep Dish,,A,,T,\r\n'
)


def test_simple_layout_with_header(tmp_path: Path) -> None:
    path = tmp_path / "alice.csv"
    path.write_text(SIMPLE, encoding="utf-8")
    res = ingest_scrobbles(path, tmp_path / "out")
    assert (res.n_events, res.n_rejected, res.n_lines) == (3, 1, 4)
    users = pl.read_parquet(res.outputs["users"])
    assert users["user"].to_list() == ["alice"]
    tracks = pl.read_parquet(res.outputs["tracks"]).sort("track_id")
    # case variants collapse into one track by the 1K canonicalisation rules
    assert tracks["track_name"].to_list() == ["Army of Me", 'Mrs. "Robinson"']
    assert tracks["n_events"].to_list() == [2, 1]
    events = pl.read_parquet(res.outputs["events"])
    assert events["ts"].to_list()[0] == datetime(2009, 5, 3, 10, 0, tzinfo=UTC)
    assert pl.read_parquet(res.outputs["sessions"]).height == 2
    rejects = res.outputs["rejects"].read_text(encoding="utf-8").splitlines()
    assert rejects[1].startswith("5\tno timestamp")


def test_simple_layout_without_header_and_user_flag(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(SIMPLE.split("\n", 1)[1], encoding="utf-8")
    export = read_scrobble_export(path, user="rj")
    assert export.layout == "simple" and export.user == "rj"
    assert export.parsed.events.height == 3


def test_full_layout_uses_uts_then_utc_time(tmp_path: Path) -> None:
    path = tmp_path / "bob.csv"
    path.write_bytes(FULL.encode())
    res = ingest_scrobbles(path, tmp_path / "out")
    events = pl.read_parquet(res.outputs["events"])
    assert events["ts"].to_list() == [
        datetime(2009, 5, 4, 22, 8, tzinfo=UTC),
        datetime(2009, 5, 4, 23, 8, 57, tzinfo=UTC),
    ]
    tracks = pl.read_parquet(res.outputs["tracks"])
    # the row without MBIDs inherits them from the row with the same names
    assert tracks.height == 1 and tracks["track_mbid"][0].startswith("b000")
    assert res.summary["share_missing_track_mbid"] == 0.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("title,when\nx,y\n", r"line 1: unrecognised first line"),
        ("", r"line 1: file is empty"),
        (SIMPLE + "Björk,Post,Army\n", r"line 6: 3 comma-separated fields; expected 4"),
        (SIMPLE + 'Björk,"Post,Army\n', r"line 6: malformed CSV"),
        (SIMPLE.replace("03 May 2009 10:00", "yesterday"), r"line 4: unparsable date 'yesterday'"),
        (FULL + "12ab,x,a,,b,,c,\r\n", r"line 4: uts '12ab' is not Unix seconds"),
    ],
)
def test_wrong_or_truncated_export_names_file_line_and_format(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "carol.csv"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(InputDataError, match=message) as err:
        ingest_scrobbles(path, out)
    assert "carol.csv" in str(err.value) and "expected" in str(err.value)
    assert not out.exists()  # nothing partial


def test_invalid_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "dave.csv"
    path.write_bytes(SIMPLE.encode() + b"Bj\xf6rk,a,b,01 Jan 2010 10:00\n")
    with pytest.raises(InputDataError, match=r"dave.csv, line 6: invalid UTF-8"):
        read_scrobble_export(path)


_name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s != "")
_scrobble = st.tuples(_name, _name, _name, st.integers(0, 10_000_000))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_scrobble, min_size=1, max_size=20), st.booleans())
def test_export_round_trip_property(
    tmp_path: Path, rows: list[tuple[str, str, str, int]], full: bool
) -> None:
    """Any export written by a CSV writer parses back to the same events, in both layouts."""
    base = datetime(2008, 1, 1, tzinfo=UTC)
    buf = io.StringIO()
    w = csv.writer(buf)
    if full:
        w.writerow(["uts", "utc_time", "artist", "artist_mbid", "album", "album_mbid", "track",
                    "track_mbid"])  # fmt: skip
    else:
        w.writerow(["artist", "album", "track", "date"])
    want = []
    for artist, album, track, minutes in rows:
        ts = base + timedelta(minutes=minutes)
        want.append((artist, track, ts))
        if full:
            w.writerow([int(ts.timestamp()), "", artist, "", album, "", track, ""])
        else:
            w.writerow([artist, album, track, ts.strftime("%d %b %Y %H:%M")])
    path = tmp_path / "prop.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    parsed = read_scrobble_export(path).parsed
    combos = parsed.combos
    got = [
        (combos["artist_name"][c], combos["track_name"][c], ts)
        for c, ts in zip(parsed.events["combo"], parsed.events["ts"], strict=True)
    ]
    assert got == want
    assert int(combos["n"].sum()) == len(rows)


def test_real_1k_sample_profile_joins(shared_data: Path, tmp_path: Path) -> None:
    profile = shared_data / "lastfm_1k" / "userid-profile.tsv"
    if not profile.is_file():
        pytest.skip(f"{profile} is absent")
    path = tmp_path / "user_000001.csv"
    path.write_text(SIMPLE, encoding="utf-8")
    res = ingest_scrobbles(path, tmp_path / "out", profile_path=profile)
    users = pl.read_parquet(res.outputs["users"])
    assert users.filter(pl.col("user") == "user_000001")["country"].to_list() == ["Japan"]
