"""A quick synthetic Last.fm-1K-layout log, for benchmark runs without the sandbox world.

Realistic cardinalities (1,000 users, ~1M tracks over ~150k artists, Zipf-like popularity,
~11 % of events without a track MBID, ~3 % without an artist MBID, a few spelling
variants, quotes and non-ASCII names), written in 2M-row chunks so memory stays small.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import polars as pl

_WORDS = [
    "love",
    "night",
    "blue",
    "heart",
    "fire",
    "dream",
    "rain",
    "summer",
    "city",
    "dance",
    "ghost",
    "gold",
    "river",
    "star",
    "road",
    "home",
    "light",
    "shadow",
    "time",
    "world",
    'Johnny "Hammond"',
    "坂本龍一",
    "Sigur Rós",
    "Mötley",
    "Björk",
    "Café",
    "Ñandú",
    "東京",
]


def _names(rng: np.random.Generator, n: int, prefix: str) -> list[str]:
    w = np.array(_WORDS, dtype=object)
    a = w[rng.integers(0, len(w), n)]
    b = w[rng.integers(0, len(w), n)]
    return [f"{x} {y} {prefix}{i}" for i, (x, y) in enumerate(zip(a, b, strict=True))]


def _mbids(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64)
    return [str(uuid.UUID(int=(int(h) << 64) | int(lo))) for h, lo in raw]


def write_synthetic_log(
    path: Path, rows: int, seed: int = 0, n_users: int = 1000, chunk: int = 2_000_000
) -> Path:
    """Write ``rows`` lines of a synthetic 6-column log to ``path`` (overwrites it).

    Parameters
    ----------
    path
        Target TSV (no header, ``\\n`` line endings, no quoting).
    rows
        Number of lines.
    seed
        Random seed; equal seeds give byte-identical files.
    n_users, chunk
        Distinct users; rows generated per write.

    Returns
    -------
    Path
        ``path``.
    """
    rng = np.random.default_rng(seed)
    n_tracks = max(10, min(1_000_000, rows // 12))
    n_artists = max(3, n_tracks // 7)
    artist_names = _names(rng, n_artists, "A")
    artist_mbids = _mbids(rng, n_artists)
    artist_has = rng.random(n_artists) > 0.03
    track_artist = rng.integers(0, n_artists, n_tracks)
    track_names = _names(rng, n_tracks, "T")
    track_mbids = _mbids(rng, n_tracks)
    track_has = rng.random(n_tracks) > 0.11
    tracks = pl.DataFrame(
        {
            "artist_mbid": [artist_mbids[a] if artist_has[a] else "" for a in track_artist],
            "artist_name": [artist_names[a] for a in track_artist],
            "track_mbid": [m if h else "" for m, h in zip(track_mbids, track_has, strict=True)],
            "track_name": track_names,
        }
    )
    # events per user: lognormal, normalised to ``rows``
    weights = rng.lognormal(0, 1, n_users)
    per_user = np.floor(weights / weights.sum() * rows).astype(np.int64)
    per_user[: rows - per_user.sum()] += 1
    user_of = np.repeat(np.arange(n_users), per_user)
    # reverse-chronological per user: gaps of minutes, sometimes hours/days
    gaps = np.where(
        rng.random(rows) < 0.05, rng.exponential(86_400, rows), rng.exponential(240, rows)
    )
    gaps = gaps.astype(np.int64) + 1
    ts = np.empty(rows, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(per_user)[:-1]])
    end_ts = 1_241_478_537  # 2009-05-04T23:08:57Z
    csum = np.cumsum(gaps)
    base = np.repeat(csum[starts] - gaps[starts], per_user)
    ts[:] = end_ts - (csum - base) + gaps[0]
    u = rng.random(rows)
    track_of = np.minimum((n_tracks * u**3).astype(np.int64), n_tracks - 1)
    variant = rng.random(rows) < 0.01
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for lo in range(0, rows, chunk):
            hi = min(rows, lo + chunk)
            part = tracks[track_of[lo:hi]]
            df = pl.DataFrame(
                {
                    "user": pl.Series(user_of[lo:hi] + 1).cast(pl.String).str.zfill(6),
                    "ts": pl.from_epoch(pl.Series(ts[lo:hi]), time_unit="s"),
                }
            ).with_columns(("user_" + pl.col("user")).alias("user"))
            name = part["track_name"].zip_with(
                pl.Series(~variant[lo:hi]), part["track_name"].str.to_uppercase()
            )
            out = pl.DataFrame(
                {
                    "user": df["user"],
                    "ts": df["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "artist_mbid": part["artist_mbid"],
                    "artist_name": part["artist_name"],
                    "track_mbid": part["track_mbid"],
                    "track_name": name,
                }
            )
            out.write_csv(fh, separator="\t", include_header=False, quote_style="never")
    return path
