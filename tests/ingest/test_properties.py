"""Hypothesis properties over generated hostile logs."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import ingest_lastfm1k

_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n\r"),
    max_size=8,
)
_NAME = st.sampled_from(["Song", "song", 'say "hi', "Straße", "STRASSE", "", "x y", "x  y"])
_MBID = st.sampled_from(["", "m-1", "m-2"])
_USER = st.sampled_from(["user_000001", "user_000002", "user_000003"])


@st.composite
def good_line(draw: st.DrawFn) -> bytes:
    t = dt.datetime(2009, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=draw(st.integers(0, 600)))
    fields = [
        draw(_USER),
        t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        draw(_MBID),
        draw(st.sampled_from(["Artist", "artist", "Other"])),
        draw(_MBID),
        draw(_NAME),
    ]
    return "\t".join(fields).encode()


@st.composite
def hostile_line(draw: st.DrawFn) -> bytes:
    base = draw(good_line()).split(b"\t")
    kind = draw(st.sampled_from(["short", "long", "empty", "utf8", "ts", "user", "junk", "cr"]))
    if kind == "short":
        return b"\t".join(base[: draw(st.integers(1, 5))])
    if kind == "long":
        return b"\t".join(base + [draw(_TEXT).encode()] * draw(st.integers(1, 3)))
    if kind == "empty":
        return b""
    if kind == "utf8":
        base[3] = b"\xff" + base[3]
    elif kind == "ts":
        base[1] = draw(_TEXT).encode()
    elif kind == "user":
        base[0] = b""
    elif kind == "junk":
        return draw(_TEXT).encode()
    else:
        return b"\t".join(base) + b"\r"
    return b"\t".join(base)


LOG = st.lists(st.one_of(good_line(), good_line(), hostile_line()), min_size=0, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=LOG, trailing_newline=st.booleans())
def test_every_line_is_an_event_or_a_reject(lines: list[bytes], trailing_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log.tsv"
        log.write_bytes(data)
        res = ingest_lastfm1k(log, Path(tmp) / "out", IngestConfig())
        physical = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        assert res.n_lines == physical == res.n_events + res.n_rejected
        rejects = pl.read_csv(
            res.outputs["rejects"], separator="\t", quote_char=None, infer_schema=False
        )
        assert rejects.height == res.n_rejected
        rej_lines = sorted(int(x) for x in rejects["line"])
        assert len(set(rej_lines)) == len(rej_lines)
        assert all(1 <= n <= physical for n in rej_lines)

        # the kept lines are exactly the six-column, decodable, timestamped, user lines
        expected_users: dict[str, int] = {}
        for i, raw in enumerate(data.split(b"\n")[:physical], start=1):
            raw = raw.removesuffix(b"\r")
            f = raw.split(b"\t")
            try:
                raw.decode("utf-8")
                ok = len(f) == 6 and f[0] != b"" and len(f[1]) == 20 and f[1].endswith(b"Z")
            except UnicodeDecodeError:
                ok = False
            assert (i not in rej_lines) == ok, (i, raw)
            if ok:
                u = f[0].decode()
                expected_users[u] = expected_users.get(u, 0) + 1

        ev = pl.read_parquet(res.outputs["events"])
        users = pl.read_parquet(res.outputs["users"])
        got = dict(
            ev.group_by("user_id").len().join(users, on="user_id").select("user", "len").iter_rows()
        )
        assert got == expected_users
        for name, col in [("tracks", "track_id"), ("artists", "artist_id"), ("users", "user_id")]:
            ids = pl.read_parquet(res.outputs[name])[col].to_list()
            assert ids == list(range(len(ids)))
        assert set(ev["track_id"]) == set(range(res.n_tracks))
        assert ev["session_id"].unique().sort().to_list() == list(range(res.n_sessions))
        plays = pl.read_parquet(res.outputs["plays"])
        assert plays["plays"].sum() == res.n_events if res.n_events else plays.height == 0
        assert plays["rating"].is_between(3, 10).all()
