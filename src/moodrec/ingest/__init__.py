"""Ingest stage: a Last.fm-1K-layout listening log → canonical Parquet tables (pure code)."""

from moodrec.ingest.lastfm1k import (
    LOG_FILENAME,
    PROFILE_FILENAME,
    IngestResult,
    ingest_lastfm1k,
    read_profiles,
)
from moodrec.ingest.summary import summarize_events

__all__ = [
    "LOG_FILENAME",
    "PROFILE_FILENAME",
    "IngestResult",
    "ingest_lastfm1k",
    "read_profiles",
    "summarize_events",
]
