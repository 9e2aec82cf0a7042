"""The seed study's exploratory summary of an ingested log (JSON-serialisable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

#: key of the Parquet key-value metadata on ``events.parquet`` holding the raw MBID counts
MBID_STATS_KEY = b"moodrec.ingest.mbid_stats"


def _iso(ts: pl.Series, how: str) -> str:
    """ISO text of the series' ``min`` or ``max`` (``2009-05-04T23:08:57+00:00``).

    Python's datetime cannot hold years before 1 or after 9999 (a log read without a
    timestamp window may have them); polars formats those.
    """
    try:
        return str((ts.min() if how == "min" else ts.max()).isoformat())  # type: ignore[union-attr]
    except ValueError:
        agg = pl.col(ts.name).min() if how == "min" else pl.col(ts.name).max()
        return str(ts.to_frame().select(agg.dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z")).item())


def _share(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def summarize_events(
    source: Path | str | pl.DataFrame,
    sessions: pl.DataFrame | None = None,
    *,
    n_tracks: int | None = None,
    n_artists: int | None = None,
    mbid_stats: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Summarise an ingested log.

    Parameters
    ----------
    source
        An ingest output folder (reads ``events``, ``sessions``, ``tracks``,
        ``artists`` Parquet files and the raw MBID counts stored in the events file's
        metadata), or the events frame itself (``user_id, ts, artist_id, track_id``).
    sessions
        Sessions frame (``n_events, start, end``) when ``source`` is a frame.
    n_tracks, n_artists
        Distinct counts (default: distinct ids in the events).
    mbid_stats
        Raw-log event counts ``missing_artist_mbid``, ``missing_track_mbid``,
        ``filled_artist_mbid``, ``filled_track_mbid``.

    Returns
    -------
    dict
        ``users, events, tracks, artists``, MBID shares (missing in the raw log,
        filled from elsewhere), ``events_per_user`` (min, p25, median, p75, p95, max,
        mean), ``date_range`` (ISO first/last), ``sessions`` and the median session
        length in events and minutes.
    """
    if not isinstance(source, pl.DataFrame):
        folder = Path(source)
        events_path = folder / "events.parquet"
        events = pl.read_parquet(events_path, columns=["user_id", "ts"])
        sessions = pl.read_parquet(folder / "sessions.parquet")
        n_tracks = pq.ParquetFile(folder / "tracks.parquet").metadata.num_rows
        n_artists = pq.ParquetFile(folder / "artists.parquet").metadata.num_rows
        meta = pq.ParquetFile(events_path).metadata.metadata or {}
        if MBID_STATS_KEY in meta:
            mbid_stats = json.loads(meta[MBID_STATS_KEY])
    else:
        events = source
        if n_tracks is None:
            n_tracks = events["track_id"].n_unique()
        if n_artists is None:
            n_artists = events["artist_id"].n_unique()
    n = events.height
    per_user = events.group_by("user_id").len()["len"]
    stats = mbid_stats or {}

    def q(p: float) -> float:
        return float(per_user.quantile(p, "linear") or 0) if n else 0.0

    out: dict[str, Any] = {
        "users": int(per_user.len()),
        "events": n,
        "tracks": int(n_tracks or 0),
        "artists": int(n_artists or 0),
        "share_missing_artist_mbid": _share(stats.get("missing_artist_mbid", 0), n),
        "share_missing_track_mbid": _share(stats.get("missing_track_mbid", 0), n),
        "share_artist_mbid_filled": _share(stats.get("filled_artist_mbid", 0), n),
        "share_track_mbid_filled": _share(stats.get("filled_track_mbid", 0), n),
        "events_per_user": {
            "min": int(per_user.min() or 0),
            "p25": q(0.25),
            "median": q(0.5),
            "p75": q(0.75),
            "p95": q(0.95),
            "max": int(per_user.max() or 0),
            "mean": round(float(per_user.mean() or 0), 3),
        },
        "date_range": {
            "first": _iso(events["ts"], "min") if n else None,
            "last": _iso(events["ts"], "max") if n else None,
        },
        "sessions": 0,
        "median_session_events": 0.0,
        "median_session_minutes": 0.0,
    }
    if sessions is not None and sessions.height:
        minutes = (sessions["end"] - sessions["start"]).dt.total_seconds() / 60
        out["sessions"] = sessions.height
        out["median_session_events"] = float(sessions["n_events"].median() or 0)
        out["median_session_minutes"] = round(float(minutes.median() or 0), 3)
    return out
