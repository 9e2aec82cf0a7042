"""Helpers for the ingest tests: write tiny logs and run the ingest on them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import IngestResult, ingest_lastfm1k

A1 = "a0000000-0000-0000-0000-000000000001"
A2 = "a0000000-0000-0000-0000-000000000002"
T1 = "b0000000-0000-0000-0000-000000000001"
T2 = "b0000000-0000-0000-0000-000000000002"


def line(
    user: str = "user_000001",
    ts: str = "2009-05-04T23:08:57Z",
    amb: str = A1,
    artist: str = "Artist",
    tmb: str = T1,
    track: str = "Track",
) -> str:
    return "\t".join([user, ts, amb, artist, tmb, track])


Ingest = Callable[..., IngestResult]


@pytest.fixture
def ingest(tmp_path: Path) -> Ingest:
    """``ingest(content: str | bytes, **cfg) -> IngestResult`` on a fresh folder."""
    counter = iter(range(1_000_000))

    def run(content: str | bytes, profile: str | None = None, **cfg: object) -> IngestResult:
        i = next(counter)
        log = tmp_path / f"log{i}.tsv"
        log.write_bytes(content.encode() if isinstance(content, str) else content)
        prof = None
        if profile is not None:
            prof = tmp_path / f"profile{i}.tsv"
            prof.write_text(profile, encoding="utf-8")
        return ingest_lastfm1k(log, tmp_path / f"out{i}", IngestConfig(**cfg), profile_path=prof)

    return run
