"""The sandbox world's log and profile file, written in the exact Last.fm 1K layout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from moodrec.sandbox import vocab
from moodrec.sandbox.listening import REGISTER_START, Listening
from moodrec.sandbox.quirks import Catalogue
from moodrec.storage import atomic_path, write_text_atomic


def write_log(path: Path, listening: Listening, cat: Catalogue, chunk: int) -> None:
    """Write the log in the Last.fm 1K layout: users ascending, each user newest first."""
    n = listening.user.size
    n_users = int(listening.user_first_ts.size)
    counts = np.bincount(listening.user, minlength=n_users)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    user_ids = pl.Series("user", [f"user_{i + 1:06d}" for i in range(n_users)])
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            pos = np.arange(lo, hi)
            u = listening.user[lo:hi]
            src = start[u] + counts[u] - 1 - (pos - start[u])  # reverse within each user
            frame = pl.DataFrame(
                {
                    "user": user_ids.gather(u),
                    "ts": pl.from_epoch(pl.Series(listening.ts[src]), time_unit="s"),
                    "tail": cat.tails.gather(cat.event_tail[src]),
                }
            )
            frame.write_csv(
                fh,
                separator="\t",
                quote_style="never",
                include_header=False,
                datetime_format="%Y-%m-%dT%H:%M:%SZ",
            )


@dataclass(frozen=True)
class Profiles:
    gender: list[str]
    age: list[str]
    country: list[str]
    registered: list[str]


def draw_profiles(rng: np.random.Generator, first_ts: np.ndarray) -> Profiles:
    n = first_ts.size
    gender = np.asarray(["m", "f", ""])[rng.choice(3, size=n, p=[0.51, 0.38, 0.11])]
    has_age = rng.random(n) < 0.3
    ages = np.clip(np.round(rng.normal(25.0, 6.5, size=n)), 14, 70).astype(int)
    countries = np.asarray([c for c, _ in vocab.COUNTRIES] + [""], dtype=object)
    weights = np.asarray([w for _, w in vocab.COUNTRIES] + [85.0])
    country = countries[rng.choice(countries.size, size=n, p=weights / weights.sum())]
    days_before = rng.uniform(0, 500, size=n) * 86_400
    reg = np.maximum(first_ts - days_before, REGISTER_START).astype(np.int64)
    has_reg = rng.random(n) >= 0.01
    registered = []
    for ts, ok in zip(reg.tolist(), has_reg.tolist(), strict=True):
        d = datetime.fromtimestamp(ts, tz=UTC)
        registered.append(f"{vocab.MONTH_ABBR[d.month - 1]} {d.day}, {d.year}" if ok else "")
    return Profiles(
        gender=gender.tolist(),
        age=[str(a) if h else "" for a, h in zip(ages.tolist(), has_age.tolist(), strict=True)],
        country=country.tolist(),
        registered=registered,
    )


def write_profiles(path: Path, p: Profiles) -> None:
    lines = ["#id\tgender\tage\tcountry\tregistered"]
    for i, row in enumerate(zip(p.gender, p.age, p.country, p.registered, strict=True)):
        lines.append("\t".join([f"user_{i + 1:06d}", *row]))
    write_text_atomic(path, "\n".join(lines) + "\n")
