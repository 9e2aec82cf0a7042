"""Issue 19 D3/D11: implausible timestamps, all-or-none outputs, compressed input; issue 22:
the event order does not depend on the input order."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import moodrec.ingest.lastfm1k as lastfm1k
from moodrec.errors import InputDataError
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import _sort_events, ingest_lastfm1k
from moodrec.ingest.reader import REASON_TOO_LATE
from moodrec.ingest.scrobbles import ingest_scrobbles
from moodrec.ingest.sessions import build_plays
from tests.ingest.conftest import Ingest, line

GOOD = [line(ts=f"2009-05-04T2{i}:00:00Z", track=f"T{i}", tmb="") for i in range(3)]


def _rejects(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, separator="\t", quote_char=None, infer_schema=False)


def test_negative_year_is_rejected_not_a_crash(ingest: Ingest) -> None:
    # D3: this line crashed the summary (Python's datetime has no year -1)
    res = ingest("\n".join([GOOD[0], line(ts="-0001-05-04T23:08:57Z"), *GOOD[1:]]) + "\n")
    assert (res.n_events, res.n_rejected, res.n_lines) == (3, 1, 4)
    rej = _rejects(res.outputs["rejects"])
    assert rej["line"].to_list() == ["2"]
    assert rej["reason"][0] == "implausible timestamp (before 2002-01-01T00:00:00Z)"
    assert res.summary["date_range"]["first"].startswith("2009-05-04")


@pytest.mark.parametrize(
    "ts",
    [
        "1900-01-01T00:00:00Z",
        "2001-12-31T23:59:59Z",
        "2999-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ],
)
def test_implausible_years_are_rejected_with_a_reason(ingest: Ingest, ts: str) -> None:
    res = ingest("\n".join([*GOOD, line(ts=ts)]) + "\n")
    assert (res.n_events, res.n_rejected) == (3, 1)
    rej = _rejects(res.outputs["rejects"])
    assert rej["line"].to_list() == ["4"] and "implausible timestamp" in rej["reason"][0]
    assert ts in rej["content"][0]
    if ts > "2027":  # a late time's reason names the setting, not the clock: same every run
        assert rej["reason"][0] == REASON_TOO_LATE


def test_window_edges_and_configured_window(ingest: Ingest) -> None:
    edges = [line(ts="2002-01-01T00:00:00Z"), line(ts="1999-06-01T00:00:00Z")]
    assert ingest("\n".join(edges) + "\n").n_rejected == 1  # the earliest instant is kept
    wide = ingest(
        "\n".join([*edges, line(ts="1900-01-01T00:00:00Z")]) + "\n",
        earliest_timestamp=datetime(1890, 1, 1, tzinfo=UTC),
    )
    assert (wide.n_events, wide.n_rejected) == (3, 0)
    narrow = ingest("\n".join(GOOD) + "\n", latest_timestamp=datetime(2009, 5, 4, 21, tzinfo=UTC))
    assert (narrow.n_events, narrow.n_rejected) == (2, 1)


def test_default_window_ends_a_day_after_now() -> None:
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    lo, hi = IngestConfig().timestamp_window(now)
    assert (lo, hi) == (datetime(2002, 1, 1, tzinfo=UTC), datetime(2026, 12, 5, 12, tzinfo=UTC))
    with pytest.raises(ValueError, match="latest_timestamp"):
        IngestConfig(latest_timestamp=datetime(2001, 1, 1, tzinfo=UTC))


def test_scrobble_export_huge_uts_is_rejected(tmp_path: Path) -> None:
    # D11: uts=99999999999999999 wrapped around to the year 8319 and was kept
    path = tmp_path / "eve.csv"
    path.write_text(
        "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n"
        '1241478537,"04 May 2009, 23:08",A,,Al,,T,\n'
        '99999999999999999,"04 May 2009, 23:09",A,,Al,,T2,\n'
        '32503680000,"01 Jan 3000, 00:00",A,,Al,,T3,\n'
        ',"01 Jan 1900, 00:00",A,,Al,,T4,\n',
        encoding="utf-8",
    )
    res = ingest_scrobbles(path, tmp_path / "out")
    assert (res.n_events, res.n_rejected) == (1, 3)
    rej = _rejects(res.outputs["rejects"])
    assert rej["line"].to_list() == ["3", "4", "5"]
    assert rej["reason"].to_list() == [
        REASON_TOO_LATE,
        REASON_TOO_LATE,
        "implausible timestamp (before 2002-01-01T00:00:00Z)",
    ]
    assert pl.read_parquet(res.outputs["events"])["ts"].dt.year().to_list() == [2009]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_crash_while_building_leaves_every_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # D3: the crash came after events.parquet had been replaced (events new, tracks old)
    out = tmp_path / "out"
    first = tmp_path / "first.tsv"
    first.write_text("\n".join(GOOD) + "\n", encoding="utf-8")
    ingest_lastfm1k(first, out, IngestConfig())
    before = _snapshot(out)

    def boom(*args: object, **kwargs: object) -> dict:
        raise RuntimeError("crash while building")

    monkeypatch.setattr(lastfm1k, "summarize_events", boom)
    second = tmp_path / "second.tsv"
    second.write_text("\n".join([line(user="someone_else", track="New")] * 5) + "\n")
    with pytest.raises(RuntimeError, match="crash while building"):
        ingest_lastfm1k(second, out, IngestConfig())
    assert _snapshot(out) == before  # no new table, no staging folder left behind


def test_gzip_log_is_refused_naming_the_file(tmp_path: Path) -> None:
    # D11: a gzip file read as text gave "parser saw 5000 rows but the file has 344 lines"
    log = tmp_path / "listening.tsv"
    log.write_bytes(gzip.compress(("\n".join(GOOD * 2000) + "\n").encode()))
    with pytest.raises(InputDataError, match=r"listening\.tsv is gzip-compressed.*gunzip"):
        ingest_lastfm1k(log, tmp_path / "out", IngestConfig())
    assert not (tmp_path / "out").exists()


def test_gzip_scrobble_export_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "eve.csv"
    path.write_bytes(gzip.compress(b"artist,album,track,date\nA,B,C,04 May 2009 23:08\n"))
    with pytest.raises(InputDataError, match=r"eve\.csv is gzip-compressed"):
        ingest_scrobbles(path, tmp_path / "out")


def test_shuffled_input_gives_the_same_events_as_sorted(ingest: Ingest) -> None:
    rng = random.Random(7)
    lines = [
        line(
            user=f"user_{rng.randrange(5):06d}",
            ts=f"2009-05-0{rng.randrange(1, 4)}T{rng.randrange(24):02d}:{rng.randrange(2):02d}:00Z",
            track=f"T{rng.randrange(30)}",
            tmb="",
        )
        for _ in range(400)
    ]
    shuffled = lines[:]
    rng.shuffle(shuffled)
    key = ["user_id", "ts"]
    for content in (lines, shuffled):
        res = ingest("\n".join(content) + "\n")
        ev = pl.read_parquet(res.outputs["events"])
        assert ev.select(key).equals(ev.select(key).sort(key))
        tracks = pl.read_parquet(res.outputs["tracks"], columns=["track_id", "track_name"])
        # ties (same user and second) keep file order
        got = ev.join(tracks, on="track_id").sort(key, maintain_order=True)
        users = pl.read_parquet(res.outputs["users"], columns=["user_id", "user"])
        named = got.join(users, on="user_id", maintain_order="left")
        expect = (
            pl.DataFrame(
                [r.split("\t") for r in content],
                schema=["user", "ts", "a", "b", "c", "t"],
                orient="row",
            )
            .with_columns(pl.col("ts").str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%dT%H:%M:%SZ"))
            .sort("user", "ts", maintain_order=True)
        )
        assert named["track_name"].to_list() == expect["t"].to_list()


@pytest.mark.parametrize("n_users", [3, 1 << 14, 1 << 40])
def test_sort_events_matches_a_stable_two_column_sort(n_users: int) -> None:
    # the packed key in microseconds, in seconds (many users) and the fallback all agree
    rng = random.Random(n_users)
    n = 2_000
    users = [rng.randrange(min(n_users, 50)) * (n_users // 50 or 1) for _ in range(n)]
    base = int(datetime(2005, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    ts = [base + rng.randrange(10**6) * 1_000_000 * (rng.random() < 0.5 or 7) for _ in range(n)]
    ev = pl.DataFrame(
        {
            "user_id": pl.Series(users, dtype=pl.Int64),
            "ts": pl.Series(ts, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "combo": pl.Series(range(n), dtype=pl.UInt32),
        }
    )
    expected = ev.sort("user_id", "ts", maintain_order=True)
    assert _sort_events(ev, n_users).equals(expected)
    sub = ev.with_columns(pl.col("ts") + pl.duration(microseconds=pl.col("combo") % 3))
    assert _sort_events(sub, n_users).equals(sub.sort("user_id", "ts", maintain_order=True))


@pytest.mark.parametrize("id_step", [1, 1 << 10, (1 << 31) // 10])
def test_build_plays_matches_a_stable_sort_of_unsorted_events(id_step: int) -> None:
    # the packed (user, track, row) key, and the fallback when the ids do not fit in it
    # (the last case), both count each pair and take its first and last rows in input
    # order, ties included
    rng = random.Random(id_step)
    n = 3_000
    base = int(datetime(2005, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    ev = pl.DataFrame(
        {
            "user_id": pl.Series([rng.randrange(9) * id_step for _ in range(n)], dtype=pl.Int32),
            "track_id": pl.Series([rng.randrange(7) * id_step for _ in range(n)], dtype=pl.Int32),
            "ts": pl.Series(
                [base + rng.randrange(50) * 1_000_000 for _ in range(n)], dtype=pl.Int64
            ).cast(pl.Datetime("us", "UTC")),
        }
    )
    expected = (
        ev.with_row_index("row")
        .sort("user_id", "track_id", maintain_order=True)
        .group_by("user_id", "track_id", maintain_order=True)
        .agg(
            pl.len().cast(pl.Int32).alias("plays"),
            pl.col("ts").first().alias("first_ts"),
            pl.col("ts").last().alias("last_ts"),
        )
    )
    got = build_plays(ev, IngestConfig())
    assert got.select(expected.columns).cast(expected.schema).equals(expected)
    assert got["plays"].sum() == n
