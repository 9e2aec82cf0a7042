"""A Last.fm-1K-layout log built from the real file's rows, in merged (unsorted) order.

A generator independent of the sandbox world and of :mod:`benchmarks.synthetic_log`: its
names, MBIDs and quirks (empty MBIDs, quotes, non-ASCII, one artist spelt several ways)
are the real rows of ``../shared/data/lastfm_1k`` (the first 5,000 lines of the official
file), recombined to the full log's cardinalities per 19.15M rows (992 users, ~1M tracks,
~170k artists; ~18 % of events without a track MBID, ~3 % without an artist MBID).

The rows come **in time order across users**, as when several users' logs are merged,
shuffled (``order="shuffled"``), or grouped by user, newest first, like the official
file (``order="by-user"``).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

REAL_HEAD = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "lastfm_1k"
    / "userid-timestamp-artid-artname-traid-traname.head5000.tsv"
)
FULL_ROWS = 19_150_868


def _real_rows(path: Path) -> pl.DataFrame:
    return pl.read_csv(
        path,
        separator="\t",
        has_header=False,
        quote_char=None,
        infer_schema=False,
        new_columns=["user", "ts", "artist_mbid", "artist_name", "track_mbid", "track_name"],
    ).with_columns(pl.col(c).fill_null("") for c in ("artist_mbid", "track_mbid"))


def _mbids(rng: np.random.Generator, n: int, missing: float) -> list[str]:
    """``n`` random UUIDs, a ``missing`` share of them empty."""
    high = rng.integers(0, 2**62, n).tolist()
    gone = (rng.random(n) < missing).tolist()
    return [
        "" if g else str(uuid.UUID(int=(h << 64) | i))
        for i, (h, g) in enumerate(zip(high, gone, strict=True))
    ]


def write_realformat_log(
    path: Path,
    rows: int,
    seed: int = 0,
    order: Literal["merged", "shuffled", "by-user"] = "merged",
    real: Path = REAL_HEAD,
) -> Path:
    """Write ``rows`` lines recombined from the real head of the Last.fm 1K log.

    Parameters
    ----------
    path
        Target TSV (overwritten).
    rows
        Number of lines.
    seed
        Equal seeds give byte-identical files.
    order
        ``merged``: ascending time across all users; ``shuffled``: random order;
        ``by-user``: by user, newest first (the official file's order).
    real
        The real head file whose names and MBIDs are recombined.

    Returns
    -------
    Path
        ``path``.
    """
    rng = np.random.default_rng(seed)
    src = _real_rows(real)
    scale = rows / FULL_ROWS
    n_users = max(2, round(992 * min(1.0, scale**0.25)))
    n_tracks = max(10, round(1_000_000 * scale))
    n_artists = max(3, n_tracks // 6)
    art = src.select("artist_mbid", "artist_name").unique(maintain_order=True)
    names = src["track_name"].unique(maintain_order=True).to_numpy()
    # artists: a real name (suffixed past the first copy) and its MBID, or a fresh one
    a_pick = rng.integers(0, art.height, n_artists)
    a_name = [
        f"{art['artist_name'][int(p)]}" + (f" {i}" if i >= art.height else "")
        for i, p in enumerate(a_pick)
    ]
    a_mbid = _mbids(rng, n_artists, missing=0.03)
    # tracks: real titles (with their quirks), disambiguated by a number past the first copy
    t_pick = rng.integers(0, len(names), n_tracks)
    t_name = [str(names[p]) + (f" ({i})" if i >= len(names) else "") for i, p in enumerate(t_pick)]
    t_mbid = _mbids(rng, n_tracks, missing=0.18)
    t_artist = rng.integers(0, n_artists, n_tracks)
    # a few artists are spelt two ways (case / spacing), as in the real log
    variant = rng.random(rows) < 0.005
    track_of = np.minimum((n_tracks * rng.random(rows) ** 3).astype(np.int64), n_tracks - 1)
    user_of = np.minimum((n_users * rng.random(rows) ** 1.5).astype(np.int64), n_users - 1)
    start = 1_108_339_200  # 2005-02-14
    ts = np.sort(rng.integers(start, 1_245_369_600, rows))  # .. 2009-06-19, merged order
    artist_of = t_artist[track_of]
    frame = pl.DataFrame(
        {
            "user": pl.Series(user_of + 1).cast(pl.String).str.zfill(6),
            "ts": pl.from_epoch(pl.Series(ts), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "artist_mbid": pl.Series(a_mbid).gather(artist_of),
            "artist_name": pl.Series(a_name).gather(artist_of),
            "track_mbid": pl.Series(t_mbid).gather(track_of),
            "track_name": pl.Series(t_name).gather(track_of),
        }
    ).with_columns(
        ("user_" + pl.col("user")).alias("user"),
        pl.when(pl.Series(variant))
        .then(pl.col("artist_name").str.to_uppercase())
        .otherwise(pl.col("artist_name"))
        .alias("artist_name"),
    )
    if order == "shuffled":
        frame = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    elif order == "by-user":
        # ISO text sorts as time; stable, so equal times keep the merged order
        frame = frame.sort("user", "ts", descending=[False, True], maintain_order=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, separator="\t", include_header=False, quote_style="never")
    return path
