"""The ingest stage's config: which listening log to read and how to rate it (a leaf)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from moodrec.stage_config import StageConfig

__all__ = ["IngestConfig"]


class IngestConfig(StageConfig):
    """Reading a listening log into the canonical tables."""

    source: Literal["sandbox", "lastfm1k"] = "sandbox"
    # Used when source == "lastfm1k": the listening log and (optional) user profile file.
    log_path: Path | None = None
    profile_path: Path | None = None
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
        if self.source == "lastfm1k" and self.log_path is None:
            raise ValueError("log_path is required when source is 'lastfm1k'")
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
