"""Golden outputs: ingest of a small hostile + normal log stays exactly what it was.

The fixture ``tests/fixtures/ingest_golden/lastfm1k.json`` holds every output table (and
the rejects, the counts and the summary) of :func:`ingest_lastfm1k` on the logs that
:func:`golden_logs` builds, as written by the code before the issue-22 speed work. A
speed change must leave every value, dtype and row order as it was.

Regenerate (only when an output is meant to change, and say why in the commit)::

    PYTHONPATH=src python -m tests.ingest.test_golden
"""

from __future__ import annotations

import json
import random
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import ingest_lastfm1k

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "ingest_golden" / "lastfm1k.json"
TABLES = ("events", "tracks", "artists", "users", "plays", "sessions")
CFG = IngestConfig(latest_timestamp=datetime(2026, 1, 1, tzinfo=UTC))
PROFILE = (
    "#id\tgender\tage\tcountry\tregistered\n"
    "user_000002\tf\t25\tJapan\tFeb 24, 2006\n"
    "user_000009\tm\t\tPeru\tAug 13, 2006\n"
)

# (artist MBID, artist spellings) and (track MBID, titles): case, whitespace, NFKC,
# casefold (ß, final sigma) variants, missing MBIDs, one title by two artists
_ARTISTS = [
    ("a0000000-0000-0000-0000-000000000001", ["The Band", "the band", "The  Band "]),
    ("a0000000-0000-0000-0000-000000000002", ["Straße", "STRASSE"]),
    ("", ["Straße", "strasse"]),
    ("", ["ΟΔΟΣ", "οδος"]),
    ("a0000000-0000-0000-0000-000000000003", ['"Quoted', "ﬁve ﬁngers"]),
    ("", ["Nameless", "NAMELESS"]),
    ("a0000000-0000-0000-0000-000000000004", ["坂本龍一"]),
]
_TRACKS = [
    ("b0000000-0000-0000-0000-000000000001", ["Song", "song"]),
    ("", ["Song", "SONG "]),
    ("b0000000-0000-0000-0000-000000000002", ["Other", "Other\u00a0"]),
    ("", ["Intro"]),
    ("b0000000-0000-0000-0000-000000000003", ["Ünïcode", "ünïcode"]),
    ("", ["", "Tab-free"]),
]


def _normal_lines(rng: random.Random, n: int) -> list[str]:
    base = datetime(2008, 3, 1, tzinfo=UTC)
    out = []
    for _ in range(n):
        amb, artists = rng.choice(_ARTISTS)
        tmb, titles = rng.choice(_TRACKS)
        # gaps around the 30-minute session threshold; some exact ties
        ts = base + timedelta(minutes=rng.choice([0, 1, 29, 30, 31, 600]) * rng.randrange(40))
        out.append(
            "\t".join(
                [
                    f"user_{rng.randrange(1, 6):06d}",
                    ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    amb,
                    rng.choice(artists),
                    tmb,
                    rng.choice(titles),
                ]
            )
        )
    return out


_HOSTILE: list[bytes] = [
    b"",  # empty line
    b"user_000001\t2009-05-04T23:08:57Z\tonly\tfour",  # 4 columns
    b"user_000001\t2009-05-04T23:08:57Z\t\tA\t\tT\textra",  # 7 columns
    b"user_000001\t2009-05-04T23:08:57Z\t\tA\t\tT\t",  # 7 (trailing tab)
    b"user_000001\t2009-05-04T23:08:57Z\t\tBad \xff\xfe UTF\t\tT",  # invalid UTF-8
    b"\t2009-05-04T23:08:57Z\t\tA\t\tT",  # empty user
    b"user_000001\tyesterday\t\tA\t\tT",  # unparsable
    b"user_000001\t2009-13-45T25:61:00Z\t\tA\t\tT",  # unparsable
    b"user_000001\t1999-12-31T23:59:59Z\t\tA\t\tT",  # before the window
    b"user_000001\t2031-01-01T00:00:00Z\t\tA\t\tT",  # after the window
    b'user_000002\t2009-05-04T23:08:57Z\t\t\\ back\\slash "q\t\tT\r',  # CR at the end
    b"user_000003\t2009-05-04T23:08:57Z\t\tA\t\t",  # empty 6th field: kept
]


def golden_logs() -> dict[str, bytes]:
    """``clean`` (no bad line: the fast structural check) and ``hostile`` logs, unsorted."""
    rng = random.Random(22)
    clean = _normal_lines(rng, 300)
    hostile: list[bytes] = [x.encode() for x in _normal_lines(rng, 300)]
    for i, bad in enumerate(_HOSTILE):
        hostile.insert(7 + 23 * i, bad)
    return {
        "clean": ("\n".join(clean) + "\n").encode(),
        "hostile": b"\n".join(hostile),  # no final newline
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def snapshot(log: bytes, folder: Path) -> dict[str, Any]:
    """Every output of one ingest of ``log`` as JSON-ready data (dtypes and row order kept)."""
    path = folder / "log.tsv"
    path.write_bytes(log)
    profile = folder / "profile.tsv"
    profile.write_text(PROFILE, encoding="utf-8")
    res = ingest_lastfm1k(path, folder / "out", CFG, profile_path=profile)
    out: dict[str, Any] = {
        "counts": [
            res.n_lines,
            res.n_events,
            res.n_rejected,
            res.n_users,
            res.n_tracks,
            res.n_artists,
            res.n_sessions,
        ],
        "summary": res.summary,
        "rejects": Path(res.outputs["rejects"]).read_text(encoding="utf-8"),
    }
    for name in TABLES:
        df = pl.read_parquet(res.outputs[name])
        out[name] = {
            "schema": {c: str(t) for c, t in df.schema.items()},
            "rows": [[_jsonable(v) for v in row] for row in df.rows()],
        }
    return out


@pytest.mark.parametrize("case", ["clean", "hostile"])
def test_outputs_equal_the_golden_ones(case: str, tmp_path: Path) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))[case]
    got = json.loads(json.dumps(snapshot(golden_logs()[case], tmp_path)))
    for key in expected:
        assert got[key] == expected[key], f"{case}: {key} differs from the golden output"
    assert set(got) == set(expected)


def test_the_golden_logs_exercise_both_read_paths() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert golden["clean"]["rejects"] == "line\treason\tcontent\n"
    reasons = {r.split("\t")[1] for r in golden["hostile"]["rejects"].splitlines()[1:]}
    assert len(reasons) >= 6  # columns, empty, UTF-8, user, unparsable, window


def main() -> None:
    """Rewrite the golden file from the current code."""
    with tempfile.TemporaryDirectory() as tmp:
        data = {}
        for case, log in golden_logs().items():
            (Path(tmp) / case).mkdir()
            data[case] = snapshot(log, Path(tmp) / case)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
