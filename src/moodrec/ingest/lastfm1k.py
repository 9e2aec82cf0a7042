"""Ingest a Last.fm-1K-layout listening log into moodrec's canonical tables.

Outputs (in ``out_dir``; Parquet with zstd, integer ids dense from 0, deterministic):

``events``    ``user_id`` i32, ``ts`` timestamp[us, UTC], ``artist_id`` i32, ``track_id``
              i32, ``session_id`` i64; sorted by ``user_id, ts`` (file order on ties).
``tracks``    ``track_id, track_mbid, artist_id, artist_name, track_name, name_variants,
              n_events, n_listeners``.
``artists``   ``artist_id, artist_mbid, artist_name, name_variants, n_events``.
``users``     ``user_id, user, gender, age, country, registered, n_events``. Users with
              events get ids ``0..n-1`` (sorted by name); with a profile file, profile
              users without events follow with ``n_events = 0``.
``plays``     ``user_id, track_id, plays, first_ts, last_ts, rating, confidence``.
``sessions``  ``session_id, user_id, start, end, n_events, n_tracks``.
``rejects``   TSV ``line<TAB>reason<TAB>content`` (1-based physical line numbers).

An empty log gives valid empty tables. All or none: every table is first written to a
staging folder inside ``out_dir`` and the tables are renamed into place only once all of
them are written, so a failure (bad input, a crash while building) never leaves tables
of the new input beside tables of an older one.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from moodrec.errors import InputDataError
from moodrec.ingest.canonical import canonicalise
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.reader import ParsedLog, Reject, read_log
from moodrec.ingest.sessions import assign_sessions, build_plays, build_sessions
from moodrec.ingest.summary import MBID_STATS_KEY, summarize_events
from moodrec.storage import StagedOutputs, with_stage_outputs

logger = logging.getLogger(__name__)

LOG_FILENAME = "userid-timestamp-artid-artname-traid-traname.tsv"
PROFILE_FILENAME = "userid-profile.tsv"
OUTPUT_NAMES = ("events", "tracks", "artists", "users", "plays", "sessions", "rejects")


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest_lastfm1k` wrote and counted (``n_lines == n_events + n_rejected``)."""

    out_dir: Path
    outputs: dict[str, Path]
    n_lines: int
    n_events: int
    n_rejected: int
    n_users: int  # users with at least one event
    n_tracks: int
    n_artists: int
    n_sessions: int
    summary: dict[str, Any] = field(default_factory=dict)


class _Laps:
    """Wall time of consecutive steps, for the debug log."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.steps: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = round(now - self.t, 3)
        self.t = now

    def report(self) -> str:
        return ", ".join(f"{k} {v:.2f}s" for k, v in self.steps.items())


def read_profiles(path: Path) -> pl.DataFrame:
    """Read ``userid-profile.tsv`` (``#id, gender, age, country, registered``).

    Parameters
    ----------
    path
        Tab-separated profile file with that header; empty fields are null;
        ``registered`` like ``Aug 13, 2006``.

    Returns
    -------
    pl.DataFrame
        ``user, gender, age`` (Int16), ``country``, ``registered`` (Date).

    Raises
    ------
    InputDataError
        Missing file or unexpected header.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"user profile file {path} does not exist")
    try:
        df = pl.read_csv(
            path,
            separator="\t",
            quote_char=None,
            infer_schema=False,
            truncate_ragged_lines=True,
            encoding="utf8-lossy",
        )
    except pl.exceptions.PolarsError as exc:
        raise InputDataError(f"{path}: cannot read the profile file ({exc})") from exc
    expected = ["#id", "gender", "age", "country", "registered"]
    if df.columns[:5] != expected:
        raise InputDataError(f"{path}: expected header {expected}, found {df.columns}")
    return (
        df.select(
            pl.col("#id").str.strip_chars().alias("user"),
            pl.col("gender").str.strip_chars(),
            pl.col("age").str.strip_chars().cast(pl.Int16, strict=False),
            pl.col("country").str.strip_chars(),
            pl.col("registered").str.strip_chars().str.strptime(pl.Date, "%b %d, %Y", strict=False),
        )
        .filter(pl.col("user").is_not_null())
        .unique(subset="user", keep="first", maintain_order=True)
    )


def _write_parquet(df: pl.DataFrame, path: Path, metadata: dict[str, str] | None = None) -> Path:
    # written into the stage's staging folder (stage_outputs), so no temp file of its own
    df.write_parquet(path, compression="zstd", compression_level=1, metadata=metadata)
    return path


def _write_rejects(rejects: list[Reject], path: Path) -> Path:
    lines = ["line\treason\tcontent"]
    lines.extend(f"{r.line}\t{r.reason}\t{r.content}" for r in rejects)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ingest_lastfm1k(
    log_path: Path,
    out_dir: Path,
    cfg: IngestConfig,
    profile_path: Path | None = None,
) -> IngestResult:
    """Ingest a Last.fm-1K-layout log into the canonical tables in ``out_dir``.

    Parameters
    ----------
    log_path
        ``user<TAB>ISO-8601 UTC<TAB>artist-mbid<TAB>artist<TAB>track-mbid<TAB>track``,
        no header, UTF-8, no quoting. Malformed lines (wrong column count, invalid
        UTF-8, unparsable timestamp, empty user id, empty line) go to ``rejects.tsv``.
    out_dir
        Output folder (created).
    cfg
        Session gap, rating range and confidence parameters.
    profile_path
        Optional ``userid-profile.tsv`` joined onto ``users``.

    Returns
    -------
    IngestResult
        Output paths, counts and :func:`~moodrec.ingest.summary.summarize_events`.

    Raises
    ------
    InputDataError
        The log or profile file is missing or unreadable.
    """
    t0 = time.perf_counter()
    log_path, out_dir = Path(log_path), Path(out_dir)
    profiles = read_profiles(profile_path) if profile_path is not None else None
    if cfg.threads and cfg.threads != pl.thread_pool_size():
        logger.info(
            "threads=%d ignored: polars' pool is fixed per process at %d (POLARS_MAX_THREADS)",
            cfg.threads,
            pl.thread_pool_size(),
        )
    parsed = read_log(log_path, window=cfg.timestamp_window())
    return write_canonical(parsed, out_dir, cfg, profiles=profiles, source=log_path, t0=t0)


def _sort_events(events: pl.DataFrame, n_users: int) -> pl.DataFrame:
    """Events sorted by ``user_id, ts``, file order on ties, whatever the input order.

    One Int64 key per row packs the user id (high bits), the time since the earliest
    event (in whole seconds when every time is one, else microseconds) and the row
    number (low bits). The keys are distinct, so a plain unstable sort of that one
    column gives the stable order, and the rows are gathered once: the same cost for
    sorted and shuffled input (a two-column stable sort is 6-20× slower on shuffled
    than on grouped input, measured on 3M rows in issue 22), and cheaper than the
    stable arg-sort of a key without the row number (callgrind). Falls back to a
    stable sort of the key without the row number, then to the two-column sort, when
    the bits do not fit in 63.
    """
    n = events.height
    if n == 0:
        return events
    us = events["ts"].dt.epoch("us")
    lo, hi = int(us.min()), int(us.max())  # type: ignore[arg-type]  # not empty, no nulls
    user_bits = max(int(n_users) - 1, 1).bit_length()
    row_bits = max(n - 1, 1).bit_length()
    whole_seconds = bool((us % 1_000_000 == 0).all())
    for unit in (1_000_000, 1) if whole_seconds else (1,):
        time_bits = max((hi - lo) // unit, 1).bit_length()
        if user_bits + time_bits + row_bits <= 63:
            key = (
                pl.col("user_id").cast(pl.Int64) * (1 << (time_bits + row_bits))
                + (pl.col("ts").dt.epoch("us") - lo) // unit * (1 << row_bits)
                + pl.int_range(0, n, dtype=pl.Int64)
            )
            order = events.select((key.sort() % (1 << row_bits)).alias("row"))["row"]
            return events.select(pl.all().gather(order))
    for unit in (1, 1_000_000):
        if unit > 1 and not whole_seconds:
            break
        span = (hi - lo) // unit
        if user_bits + max(span, 1).bit_length() <= 63:
            key = events["user_id"].cast(pl.Int64) * (1 << (63 - user_bits)) + (us - lo) // unit
            return (
                events.with_columns(key.alias("_key"))
                .sort("_key", maintain_order=True)
                .drop("_key")
            )
    return events.sort("user_id", "ts", maintain_order=True)


@with_stage_outputs("ingest", dirs=lambda out_dir, **_: [out_dir])
def write_canonical(
    staging: StagedOutputs,
    parsed: ParsedLog,
    out_dir: Path,
    cfg: IngestConfig,
    profiles: pl.DataFrame | None = None,
    source: Path | str = "<memory>",
    t0: float | None = None,
) -> IngestResult:
    """Build and write the canonical tables from an already parsed log.

    Other listening-log formats (personal scrobble exports, ...) reuse the Last.fm 1K
    canonicalisation by building a :class:`~moodrec.ingest.reader.ParsedLog` and calling
    this function.

    Parameters
    ----------
    parsed
        Events (``user`` Categorical, ``ts``, ``combo``), distinct name combinations and
        rejected lines, as :func:`~moodrec.ingest.reader.read_log` returns them.
    out_dir
        Output folder (created).
    cfg
        Session gap, rating range and confidence parameters.
    profiles
        Optional :func:`read_profiles` frame joined onto ``users``.
    source
        The input, for log messages only.
    t0
        ``time.perf_counter()`` at the start of the read (timing log only).

    Returns
    -------
    IngestResult
    """
    out_dir = Path(out_dir)
    t_read = time.perf_counter()
    t0 = t_read if t0 is None else t0
    lap = _Laps()
    with ThreadPoolExecutor(max_workers=3) as pool:
        # canonical ids (small tables, partly single-threaded) overlap the event sort
        canon_job = pool.submit(canonicalise, parsed.combos)
        # users from the categorical codes: a count per code and one row to name it (no
        # hash group-by over every event), then user categorical codes -> dense user ids
        # through a small lookup array
        codes = parsed.events["user"].to_physical().to_numpy()
        counts = np.bincount(codes)
        present = np.flatnonzero(counts)
        a_row = np.zeros(counts.size, dtype=np.int64)
        a_row[codes] = np.arange(codes.size)  # some row of each code: all share its name
        users = (
            pl.DataFrame(
                [
                    parsed.events["user"].gather(a_row[present]).cast(pl.String),
                    pl.Series("n_events", counts[present], dtype=pl.Int64),
                    pl.Series("code", present, dtype=pl.Int64),
                ]
            )
            .sort("user")
            .with_row_index("user_id")
            .with_columns(pl.col("user_id").cast(pl.Int32))
        )
        lookup = np.zeros(counts.size, dtype=np.int32)
        lookup[users["code"].to_numpy()] = users["user_id"].to_numpy()
        users = users.drop("code")
        events = (
            pl.DataFrame(
                [
                    pl.Series("user_id", lookup[codes], dtype=pl.Int32),
                    parsed.events["ts"],
                    parsed.events["combo"],
                ]
            )
            .pipe(_sort_events, users.height)
            .pipe(assign_sessions, cfg.session_gap_minutes)
        )
        del parsed.events, codes  # codes is a view of the events' user column
        lap("events")
        canon = canon_job.result()
        del parsed.combos  # ~200 MB of name strings at full size, no longer needed
        lap("canonical (wait)")
        combo = events["combo"].to_numpy()
        events = events.select(
            "user_id",
            "ts",
            pl.Series("artist_id", canon.key_map["artist_id"].to_numpy()[combo], dtype=pl.Int32),
            pl.Series("track_id", canon.key_map["track_id"].to_numpy()[combo], dtype=pl.Int32),
            "session_id",
        )
        del combo
        stats_meta = {MBID_STATS_KEY.decode(): json.dumps(canon.stats, sort_keys=True)}
        jobs = {
            "events": pool.submit(
                _write_parquet, events, staging.path(out_dir / "events.parquet"), stats_meta
            )
        }
        # each table is written (beside the remaining work, into the staging folder) as soon
        # as it is built, and only the writer keeps it: the plays' temporaries and the
        # sessions are never in memory together (the full-size peak, issue 22)
        plays = build_plays(events, cfg)
        lap("plays")
        # plays has one row per (user, track): a track's rows count its listeners
        listeners = np.bincount(plays["track_id"].to_numpy(), minlength=canon.tracks.height)
        jobs["plays"] = pool.submit(_write_parquet, plays, staging.path(out_dir / "plays.parquet"))
        del plays
        sessions = build_sessions(events)
        lap("sessions")
        jobs["sessions"] = pool.submit(
            _write_parquet, sessions, staging.path(out_dir / "sessions.parquet")
        )
        # canon.tracks has ids 0..n-1 in order
        tracks = canon.tracks.with_columns(pl.Series("n_listeners", listeners, dtype=pl.Int64))
        summary = summarize_events(
            # sorted by user: its per-user counts take polars' sorted path, not a hash
            events.with_columns(pl.col("user_id").set_sorted()),
            sessions,
            n_tracks=tracks.height,
            n_artists=canon.artists.height,
            mbid_stats=canon.stats,
        )
        n_events, n_sessions = events.height, sessions.height
        del events, sessions
        lap("summary")
        logger.debug("build steps: %s", lap.report())
        t_build = time.perf_counter()

        for name, table in [
            ("tracks", tracks),
            ("artists", canon.artists),
            ("users", _users_table(users, profiles)),
        ]:
            jobs[name] = pool.submit(
                _write_parquet, table, staging.path(out_dir / f"{name}.parquet")
            )
        jobs["rejects"] = pool.submit(
            _write_rejects, parsed.rejects, staging.path(out_dir / "rejects.tsv")
        )
        # the tables replace the old ones only once every one of them is written: the files
        # are moved into place when the stage's staging block ends (with_stage_outputs)
        outputs = {name: out_dir / jobs[name].result().name for name in OUTPUT_NAMES}
    t_end = time.perf_counter()
    logger.info(
        "ingested %s: %d lines, %d events, %d rejected in %.1fs "
        "(read %.1fs, build %.1fs, write %.1fs)",
        source,
        parsed.n_lines,
        n_events,
        len(parsed.rejects),
        t_end - t0,
        t_read - t0,
        t_build - t_read,
        t_end - t_build,
    )
    return IngestResult(
        out_dir=out_dir,
        outputs=outputs,
        n_lines=parsed.n_lines,
        n_events=n_events,
        n_rejected=len(parsed.rejects),
        n_users=users.height,
        n_tracks=tracks.height,
        n_artists=canon.artists.height,
        n_sessions=n_sessions,
        summary=summary,
    )


def _users_table(users: pl.DataFrame, profiles: pl.DataFrame | None) -> pl.DataFrame:
    """Users with events (ids 0..n-1), then profile-only users; profile columns joined."""
    cols = {
        "gender": pl.String,
        "age": pl.Int16,
        "country": pl.String,
        "registered": pl.Date,
    }
    if profiles is None:
        out = users.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in cols.items())
    else:
        out = users.join(profiles, on="user", how="left", maintain_order="left")
        extra = (
            profiles.join(users, on="user", how="anti")
            .sort("user")
            .with_row_index("user_id", offset=users.height)
            .with_columns(pl.col("user_id").cast(pl.Int32), pl.lit(0, pl.Int64).alias("n_events"))
        )
        out = pl.concat([out, extra], how="diagonal")
    return out.select("user_id", "user", *cols, "n_events")
