"""The ingest stage's config: which listening log to read and how to rate it (a leaf)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from moodrec.stage_config import StageConfig

__all__ = ["ARTIST_LEVEL_SOURCES", "IngestConfig", "IngestSource", "ItemLevel"]

IngestSource = Literal["sandbox", "lastfm1k", "hetrec", "scrobbles", "listens"]
ItemLevel = Literal["auto", "track", "artist"]
#: sources that hold play counts per (user, artist) only: no events, no tracks
ARTIST_LEVEL_SOURCES = frozenset({"hetrec"})


class IngestConfig(StageConfig):
    """Reading a listening log into the canonical tables.

    ``source`` says what ``log_path`` / ``paths`` are:

    ``sandbox``    the generated sandbox world (no path).
    ``lastfm1k``   ``log_path``: the Last.fm 1K TSV (+ optional ``profile_path``).
    ``hetrec``     ``log_path``: the unpacked HetRec 2011 Last.fm folder (play counts per
                   user and artist, no timestamps: the items are artists).
    ``scrobbles``  ``log_path``: one user's scrobble-export CSV (``user`` names that user;
                   default the file name's stem).
    ``listens``    ``paths``: several files or folders, each auto-detected (Last.fm 1K TSV,
                   scrobble-export CSVs of the common layouts, a HetRec folder), merged into
                   one catalogue: artists by MBID, then by normalised name; tracks likewise.

    ``item_level`` says what an item is: ``track`` (needs timestamps: every input a log of
    events) or ``artist`` (what HetRec has; a track-level export then counts each play as a
    play of its artist). ``auto`` = ``artist`` when an input is HetRec, else ``track``.
    """

    source: IngestSource = "sandbox"
    # lastfm1k: the TSV log; hetrec: the folder; scrobbles: the export file
    log_path: Path | None = None
    profile_path: Path | None = None
    # listens: files or folders (each file auto-detected; a folder's files all read)
    paths: list[Path] = Field(default_factory=list)
    # scrobbles / a one-user export among ``paths``: its user's name (default: file stem)
    user: str | None = None
    item_level: ItemLevel = "auto"
    session_gap_minutes: float = Field(default=30.0, gt=0)
    # The seed study's rating: log(1 + plays) rescaled per user to [rating_min, rating_max].
    rating_min: float = 3.0
    rating_max: float = 10.0
    # Implicit-feedback confidence 1 + alpha * log(1 + plays / epsilon) (Hu, Koren & Volinsky 2008).
    confidence_alpha: float = Field(default=40.0, gt=0)
    confidence_epsilon: float = Field(default=1.0, gt=0)
    # Parse threads; 0 = all cores.
    threads: int = Field(default=0, ge=0)
    # Plausible event times: a line outside [earliest_timestamp, latest_timestamp] is rejected
    # with its reason (Last.fm began scrobbling in 2002). latest_timestamp None = the time of
    # the run plus future_tolerance_hours (clocks of scrobbling devices drift).
    earliest_timestamp: datetime = datetime(2002, 1, 1, tzinfo=UTC)
    latest_timestamp: datetime | None = None
    future_tolerance_hours: float = Field(default=24.0, ge=0)

    def timestamp_window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """``(earliest, latest)`` accepted event times, both timezone-aware UTC."""
        lo = _as_utc(self.earliest_timestamp)
        if self.latest_timestamp is not None:
            return lo, _as_utc(self.latest_timestamp)
        now = datetime.now(UTC) if now is None else _as_utc(now)
        return lo, now + timedelta(hours=self.future_tolerance_hours)

    @model_validator(mode="after")
    def _log_path_for_files(self) -> IngestConfig:
        if self.source in ("lastfm1k", "hetrec", "scrobbles") and self.log_path is None:
            what = {"lastfm1k": "the TSV log", "hetrec": "the folder", "scrobbles": "the export"}
            raise ValueError(
                f"log_path is required when source is {self.source!r} ({what[self.source]})"
            )
        if self.source == "listens" and not self.paths:
            raise ValueError("paths is required when source is 'listens' (files or folders)")
        if self.source == "hetrec" and self.item_level == "track":
            raise ValueError(
                "item_level 'track' is impossible with source 'hetrec': HetRec has play "
                "counts per artist only (use item_level: artist or auto)"
            )
        if self.rating_min >= self.rating_max:
            raise ValueError("rating_min must be below rating_max")
        if self.latest_timestamp is not None and _as_utc(self.latest_timestamp) <= _as_utc(
            self.earliest_timestamp
        ):
            raise ValueError("latest_timestamp must be after earliest_timestamp")
        return self


def _as_utc(value: datetime) -> datetime:
    """A naive datetime is read as UTC; an aware one is converted to UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
