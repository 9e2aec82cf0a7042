"""Hostile input: every malformed line becomes a reject with its physical line number."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from moodrec.errors import InputDataError
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import ingest_lastfm1k
from tests.ingest.conftest import Ingest, line


def _rejects(result) -> pl.DataFrame:
    return pl.read_csv(
        result.outputs["rejects"], separator="\t", quote_char=None, infer_schema=False
    ).with_columns(pl.col("line").cast(pl.Int64))


def _good(n: int) -> list[str]:
    return [line(ts=f"2009-05-04T23:{m:02d}:00Z", tmb="", track=f"T{m}") for m in range(n)]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (line() + "\textra", "found 7"),
        ("\t".join(line().split("\t")[:5]), "found 5"),
        ("", "empty line"),
        (line(ts="yesterday"), "timestamp"),
        (line(ts="2009-13-45T99:00:00Z"), "timestamp"),
        (line(user=""), "empty user id"),
    ],
)
def test_malformed_line_is_rejected_with_its_line_number(
    ingest: Ingest, bad: str, reason: str
) -> None:
    rows = _good(4)
    rows.insert(2, bad)  # physical line 3
    res = ingest("\n".join(rows) + "\n")
    assert (res.n_lines, res.n_events, res.n_rejected) == (5, 4, 1)
    rej = _rejects(res)
    assert rej["line"].to_list() == [3]
    assert reason in rej["reason"][0]


def test_bad_utf8_is_rejected_and_the_rest_kept(ingest: Ingest) -> None:
    rows = [r.encode() for r in _good(3)]
    rows.insert(1, line(artist="X").encode().replace(b"X", b"\xff\xfe"))
    res = ingest(b"\n".join(rows) + b"\n")
    assert (res.n_lines, res.n_events, res.n_rejected) == (4, 3, 1)
    rej = _rejects(res)
    assert rej["line"].to_list() == [2]
    assert rej["reason"][0] == "invalid UTF-8"
    assert "\\xff" in rej["content"][0]


def test_crlf_line_endings_are_accepted(ingest: Ingest) -> None:
    res = ingest("\r\n".join(_good(3)) + "\r\n")
    assert (res.n_events, res.n_rejected) == (3, 0)
    names = pl.read_parquet(res.outputs["tracks"])["track_name"].to_list()
    assert all("\r" not in n for n in names)
    assert sorted(names) == ["T0", "T1", "T2"]


def test_crlf_with_a_bad_line_still_numbers_lines(ingest: Ingest) -> None:
    rows = _good(3)
    rows.insert(1, "\t".join(line().split("\t")[:4]))
    res = ingest("\r\n".join(rows) + "\r\n")
    assert _rejects(res)["line"].to_list() == [2]
    names = pl.read_parquet(res.outputs["tracks"])["track_name"].to_list()
    assert all("\r" not in n for n in names)


def test_a_one_megabyte_field_is_kept(ingest: Ingest) -> None:
    big = "x" * 1_000_000
    rows = [*_good(2), line(tmb="", track=big), *_good(2)]
    res = ingest("\n".join(rows))  # no trailing newline either
    assert (res.n_lines, res.n_events, res.n_rejected) == (5, 5, 0)
    names = pl.read_parquet(res.outputs["tracks"])["track_name"]
    assert names.str.len_chars().max() == 1_000_000


def test_quotes_are_plain_characters(ingest: Ingest) -> None:
    rows = [line(artist='Johnny "Hammond" Smith'), line(artist='"open', track='say "hi')]
    rows += _good(2)
    res = ingest("\n".join(rows) + "\n")
    assert (res.n_events, res.n_rejected) == (4, 0)
    artists = pl.read_parquet(res.outputs["artists"])
    names = set(artists["artist_name"]) | {v for vs in artists["name_variants"] for v in vs}
    assert 'Johnny "Hammond" Smith' in names
    assert '"open' in names


def test_empty_track_name_with_six_columns_is_kept(ingest: Ingest) -> None:
    res = ingest(line(track="") + "\n" + line() + "\n")
    assert (res.n_events, res.n_rejected) == (2, 0)


def test_empty_file_gives_valid_empty_tables(ingest: Ingest) -> None:
    res = ingest(b"")
    assert (res.n_lines, res.n_events, res.n_rejected, res.n_users) == (0, 0, 0, 0)
    for name in ("events", "tracks", "artists", "users", "plays", "sessions"):
        assert pl.read_parquet(res.outputs[name]).height == 0
    assert res.summary["events"] == 0


def test_only_blank_lines(ingest: Ingest) -> None:
    res = ingest("\n\n\r\n")
    assert (res.n_lines, res.n_events, res.n_rejected) == (3, 0, 3)
    assert _rejects(res)["reason"].to_list() == ["empty line"] * 3


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.tsv"
    with pytest.raises(InputDataError, match=r"nope\.tsv"):
        ingest_lastfm1k(missing, tmp_path / "out", IngestConfig())


def test_reject_content_is_escaped_and_truncated(ingest: Ingest) -> None:
    bad = "u\t" + "y" * 5000 + "\tz\\w"  # 3 columns, long
    res = ingest(line() + "\n" + bad + "\n")
    content = _rejects(res)["content"][0]
    assert content.startswith("u\\ty")
    assert len(content) <= 301


def test_bad_input_leaves_previous_outputs_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    log = tmp_path / "log.tsv"
    log.write_text(line() + "\n", encoding="utf-8")
    ingest_lastfm1k(log, out, IngestConfig())
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(InputDataError):
        ingest_lastfm1k(tmp_path / "missing.tsv", out, IngestConfig())
    with pytest.raises(InputDataError):
        ingest_lastfm1k(log, out, IngestConfig(), profile_path=tmp_path / "missing.tsv")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
