"""Sessions and per-(user, track) plays from the sorted events.

Session rule: a user's first event opens a session; each later event opens a new one
when the gap to that user's previous event is **strictly greater** than
``session_gap_minutes`` (a gap of exactly the threshold stays in the session).

Rating (the seed study): ``log(1 + plays)`` rescaled per user min-max to
``[rating_min, rating_max]``; a user whose counts are all equal gets the midpoint.
Confidence (Hu, Koren & Volinsky 2008): ``1 + alpha * log(1 + plays / epsilon)``.
"""

from __future__ import annotations

import polars as pl

from moodrec.ingest.config import IngestConfig


def assign_sessions(events: pl.DataFrame, gap_minutes: float) -> pl.DataFrame:
    """Add ``session_id`` (Int64, dense from 0 in (user, time) order) to sorted events.

    Parameters
    ----------
    events
        ``user_id``, ``ts`` (Datetime), sorted by ``user_id, ts``.
    gap_minutes
        A gap strictly greater than this starts a new session.

    Returns
    -------
    pl.DataFrame
        ``events`` plus ``session_id``.
    """
    gap_us = round(gap_minutes * 60 * 1_000_000)
    user = pl.col("user_id")
    t = pl.col("ts").dt.epoch("us")
    new = ((user != user.shift(1)) | ((t - t.shift(1)) > gap_us)).fill_null(True)
    return events.with_columns((new.cast(pl.Int64).cum_sum() - 1).alias("session_id"))


def build_sessions(events: pl.DataFrame) -> pl.DataFrame:
    """One row per session: ``session_id, user_id, start, end, n_events, n_tracks``.

    Parameters
    ----------
    events
        ``session_id``, ``user_id``, ``ts``, ``track_id``, sorted by ``session_id``
        (as :func:`assign_sessions` leaves them).
    """
    return (
        events.with_columns(pl.col("session_id").set_sorted())
        .group_by("session_id", maintain_order=True)
        .agg(
            pl.col("user_id").first(),
            pl.col("ts").first().alias("start"),
            pl.col("ts").last().alias("end"),
            pl.len().cast(pl.Int32).alias("n_events"),
            pl.col("track_id").n_unique().cast(pl.Int32).alias("n_tracks"),
        )
    )


def build_plays(events: pl.DataFrame, cfg: IngestConfig) -> pl.DataFrame:
    """Per (user, track): ``plays, first_ts, last_ts, rating, confidence``.

    Parameters
    ----------
    events
        ``user_id``, ``track_id``, ``ts``; ``first_ts``/``last_ts`` are the times of
        the pair's first and last rows in this order (the earliest and latest when the
        events are sorted by time, as :func:`assign_sessions` needs them).
    cfg
        ``rating_min``, ``rating_max``, ``confidence_alpha``, ``confidence_epsilon``.

    Returns
    -------
    pl.DataFrame
        Sorted by ``user_id, track_id``; ``plays`` Int32, ``rating`` and
        ``confidence`` Float32.
    """
    n = events.height
    top_user, top_track, low = events.select(
        pl.col("user_id").max().alias("top_user"),
        pl.col("track_id").max().alias("top_track"),
        pl.min_horizontal(pl.col("user_id").min(), pl.col("track_id").min()).alias("low"),
    ).row(0)
    if n and low >= 0:  # non-negative ids pack into bit fields
        user_bits = max(int(top_user), 1).bit_length()
        track_bits = max(int(top_track), 1).bit_length()
        row_bits = max(n - 1, 1).bit_length()
        if user_bits + track_bits + row_bits <= 63:
            return rate_plays(_plays_by_packed_key(events, track_bits, row_bits), cfg)
    # a stable sort by (user, track) keeps the order inside each pair, so the pairs
    # are contiguous runs whose first/last rows are the first/last plays
    pair = (pl.col("user_id").cast(pl.Int64) * (1 << 32) + pl.col("track_id")).alias("_pair")
    plays = (
        events.select(pair, "ts")
        .sort("_pair", maintain_order=True)
        .with_columns(pl.col("_pair").set_sorted())
        .group_by("_pair", maintain_order=True)
        .agg(
            pl.len().cast(pl.Int32).alias("plays"),
            pl.col("ts").first().alias("first_ts"),
            pl.col("ts").last().alias("last_ts"),
        )
        .select(
            (pl.col("_pair") // (1 << 32)).cast(pl.Int32).alias("user_id"),
            (pl.col("_pair") % (1 << 32)).cast(pl.Int32).alias("track_id"),
            "plays",
            "first_ts",
            "last_ts",
        )
    )
    return rate_plays(plays, cfg)


def _plays_by_packed_key(events: pl.DataFrame, track_bits: int, row_bits: int) -> pl.DataFrame:
    """Play counts from one sorted Int64 key (user, track, row number) per event.

    The row number makes the keys distinct, so an unstable sort of the single column
    orders the rows by (user, track) and, inside a pair, by row: each pair is a run
    whose first and last rows give its first and last times, as a stable sort would.
    """
    n = events.height
    key = (
        pl.col("user_id").cast(pl.Int64) * (1 << (track_bits + row_bits))
        + pl.col("track_id").cast(pl.Int64) * (1 << row_bits)
        + pl.int_range(0, n, dtype=pl.Int64)
    ).sort()
    # inside a run the keys rise with the row, so its first/last keys hold its first/last
    # rows: no second 8-byte column per event beside the sorted keys
    runs = (
        events.select(key.alias("_key"))
        .group_by(
            (pl.col("_key") // (1 << row_bits)).set_sorted().alias("_pair"), maintain_order=True
        )
        .agg(
            pl.len().cast(pl.Int32).alias("plays"),
            (pl.col("_key").first() % (1 << row_bits)).alias("_first"),
            (pl.col("_key").last() % (1 << row_bits)).alias("_last"),
        )
    )
    ts = events["ts"]
    return runs.select(
        (pl.col("_pair") // (1 << track_bits)).cast(pl.Int32).alias("user_id"),
        (pl.col("_pair") % (1 << track_bits)).cast(pl.Int32).alias("track_id"),
        "plays",
        pl.lit(ts).gather(pl.col("_first")).alias("first_ts"),
        pl.lit(ts).gather(pl.col("_last")).alias("last_ts"),
    )


def rate_plays(plays: pl.DataFrame, cfg: IngestConfig) -> pl.DataFrame:
    """Add the seed's ``rating`` and the implicit-feedback ``confidence`` to play counts.

    Parameters
    ----------
    plays
        ``user_id`` and ``plays``, **sorted by** ``user_id`` (any other columns are kept).
    cfg
        ``rating_min``, ``rating_max``, ``confidence_alpha``, ``confidence_epsilon``.

    Returns
    -------
    pl.DataFrame
        ``plays`` plus ``rating`` = log(1 + plays) rescaled per user to
        ``[rating_min, rating_max]`` (the midpoint when all of a user's counts are equal) and
        ``confidence`` = 1 + alpha * log(1 + plays / epsilon), both Float32.
    """
    lo, hi = cfg.rating_min, cfg.rating_max
    # log1p is monotonic: per-user extremes of log1p(plays) come from those of plays
    per_user = (
        plays.with_columns(pl.col("user_id").set_sorted())
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("plays").min().alias("_lo"), pl.col("plays").max().alias("_hi"))
        .with_columns(pl.col("_lo", "_hi").cast(pl.Float64).log1p())
    )
    x = pl.col("plays").cast(pl.Float64).log1p()
    span = pl.col("_hi") - pl.col("_lo")
    rating = (
        pl.when(span > 0)
        .then(lo + (x - pl.col("_lo")) / span * (hi - lo))
        .otherwise((lo + hi) / 2)
        .clip(lo, hi)
    )
    conf = 1 + cfg.confidence_alpha * (pl.col("plays") / cfg.confidence_epsilon).log1p()
    return (
        plays.join(per_user, on="user_id", how="left", maintain_order="left")
        .with_columns(
            rating.cast(pl.Float32).alias("rating"), conf.cast(pl.Float32).alias("confidence")
        )
        .drop("_lo", "_hi")
    )
