"""Dataset profile: the seed study's exploratory analysis of ingested data, as a report.

For each canonical folder (a Last.fm 1K / scrobble ingest with ``events``, or a HetRec
ingest with artist-level ``plays`` only) the profile gives users, events (for HetRec: the
sum of play counts), distinct tracks and artists, missing MBIDs, the distributions of
events per user and listeners per track (per artist for HetRec) as log-scale histogram
PNGs, listening over time (events per month; HetRec has no listening times) and profile
demographics when the ``users`` table has any.

:func:`write_profile_report` writes ``profile.md`` plus one PNG per figure, every file
atomically, PNGs first so the Markdown never points at a missing image. The first line
says the data is synthetic when it comes from the sandbox
(:data:`moodrec.report.checkpoints.SYNTHETIC_BANNER`).
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from pydantic import Field

from moodrec.errors import InputDataError
from moodrec.ingest.summary import MBID_STATS_KEY
from moodrec.report.checkpoints import SYNTHETIC_BANNER
from moodrec.stage_config import StageConfig
from moodrec.storage import stage_outputs

logger = logging.getLogger(__name__)

REPORT_NAME = "profile.md"


class ProfileReportConfig(StageConfig):
    """The ``profile`` stage: figure and table settings."""

    bins: int = Field(default=40, ge=5, le=200)
    top_countries: int = Field(default=10, ge=1)
    dpi: int = Field(default=100, ge=50, le=300)


@dataclass
class DatasetProfile:
    """Numbers and figure data of one data set (figures are drawn separately)."""

    name: str
    kind: str  # "events" or "plays"
    stats: dict[str, Any]
    per_user: np.ndarray
    listeners: np.ndarray
    item: str  # "track" or "artist"
    monthly: pl.DataFrame | None = None
    demographics: dict[str, Any] = field(default_factory=dict)
    ages: np.ndarray | None = None


def _rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def _need(folder: Path, name: str) -> Path:
    path = folder / f"{name}.parquet"
    if not path.is_file():
        raise InputDataError(
            f"{folder}: {path.name} is missing; expected an ingest output folder "
            "(events/plays, users, artists ... Parquet tables)"
        )
    return path


def _null_count(path: Path, column: str) -> int | None:
    if column not in pq.ParquetFile(path).schema_arrow.names:
        return None
    return int(pl.read_parquet(path, columns=[column])[column].null_count())


def profile_dataset(name: str, folder: Path, cfg: ProfileReportConfig) -> DatasetProfile:
    """Compute the profile of one ingested data set.

    Parameters
    ----------
    name
        Display name (``lastfm1k``, ``hetrec``, ...).
    folder
        Ingest output: ``events`` (+ ``plays``, ``tracks``) or HetRec's ``plays``
        keyed by ``artist_id``; ``users`` and ``artists`` in both.
    cfg
        Report settings.

    Returns
    -------
    DatasetProfile

    Raises
    ------
    InputDataError
        The folder lacks the tables above.
    """
    folder = Path(folder)
    users_path = folder / "users.parquet"
    artists_path = _need(folder, "artists")
    stats: dict[str, Any] = {}
    monthly = None
    if (folder / "events.parquet").is_file():
        events_path = folder / "events.parquet"
        ev = pl.read_parquet(events_path, columns=["user_id", "ts", "track_id", "artist_id"])
        per_user = ev.group_by("user_id").len()["len"].to_numpy()
        listeners = (
            ev.select("user_id", "track_id").unique().group_by("track_id").len()["len"].to_numpy()
        )
        stats |= {
            "users": int(per_user.size),
            "events": ev.height,
            "distinct_tracks": int(ev["track_id"].n_unique()),
            "distinct_artists": int(ev["artist_id"].n_unique()),
            "first_event": ev["ts"].min().isoformat() if ev.height else None,
            "last_event": ev["ts"].max().isoformat() if ev.height else None,
        }
        meta = pq.ParquetFile(events_path).metadata.metadata or {}
        if MBID_STATS_KEY in meta:
            raw = json.loads(meta[MBID_STATS_KEY])
            stats["events_missing_artist_mbid"] = raw.get("missing_artist_mbid", 0)
            stats["events_missing_track_mbid"] = raw.get("missing_track_mbid", 0)
        if (folder / "tracks.parquet").is_file():
            stats["tracks_without_mbid"] = _null_count(folder / "tracks.parquet", "track_mbid")
        monthly = (
            ev.select(pl.col("ts").dt.truncate("1mo").alias("month"))
            .group_by("month")
            .len("events")
            .sort("month")
        )
        kind, item = "events", "track"
    else:
        plays = pl.read_parquet(_need(folder, "plays"))
        if "artist_id" not in plays.columns or "plays" not in plays.columns:
            raise InputDataError(
                f"{folder / 'plays.parquet'}: expected columns user_id, artist_id, plays "
                f"(HetRec layout), found {plays.columns}"
            )
        per_user = plays.group_by("user_id").agg(pl.col("plays").sum())["plays"].to_numpy()
        listeners = plays.group_by("artist_id").len()["len"].to_numpy()
        stats |= {
            "users": int(per_user.size),
            "events": int(plays["plays"].sum() or 0),
            "user_artist_pairs": plays.height,
            "distinct_tracks": None,
            "distinct_artists": int(plays["artist_id"].n_unique()),
            "listening_times": "none (play counts only)",
        }
        kind, item = "plays", "artist"
    stats["artists_in_table"] = _rows(artists_path)
    stats["artists_without_mbid"] = _null_count(artists_path, "artist_mbid")
    if per_user.size:
        stats["events_per_user_median"] = float(np.median(per_user))
        stats[f"listeners_per_{item}_median"] = float(np.median(listeners))
    profile = DatasetProfile(name, kind, stats, per_user, listeners, item, monthly)
    if users_path.is_file():
        _add_demographics(profile, pl.read_parquet(users_path), cfg)
    return profile


def _add_demographics(
    profile: DatasetProfile, users: pl.DataFrame, cfg: ProfileReportConfig
) -> None:
    demo: dict[str, Any] = {}
    if "gender" in users.columns and users["gender"].drop_nulls().len():
        g = users["gender"].fill_null("unknown").value_counts(sort=True)
        demo["gender"] = dict(zip(g["gender"].to_list(), g["count"].to_list(), strict=True))
    if "country" in users.columns and users["country"].drop_nulls().len():
        c = users["country"].drop_nulls().value_counts(sort=True).head(cfg.top_countries)
        demo["top_countries"] = dict(zip(c["country"].to_list(), c["count"].to_list(), strict=True))
    if "age" in users.columns and users["age"].drop_nulls().len():
        ages = users["age"].drop_nulls().to_numpy()
        profile.ages = ages
        demo["age"] = {
            "known": int(ages.size),
            "median": float(np.median(ages)),
            "min": int(ages.min()),
            "max": int(ages.max()),
        }
    if demo:
        demo["users_in_table"] = users.height
    profile.demographics = demo


# --------------------------------------------------------------------------- figures
def _png(fig: Any, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _figure() -> tuple[Any, Any]:
    # the object API with the Agg canvas: no pyplot global state, safe in worker threads
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def log_histogram(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts and log-spaced edges covering ``values`` (all ≥ 1).

    Returns
    -------
    tuple of (counts, edges)
        ``len(edges) == len(counts) + 1``; every value falls in exactly one bin.
    """
    values = np.asarray(values, dtype=float)
    hi = max(float(values.max()) if values.size else 1.0, 1.0)
    edges = np.logspace(0, np.log10(hi) if hi > 1 else 1, bins + 1)
    edges[-1] = max(edges[-1], hi) * (1 + 1e-9)
    counts, _ = np.histogram(values, bins=edges)
    return counts, edges


def _hist_png(values: np.ndarray, title: str, xlabel: str, cfg: ProfileReportConfig) -> bytes:
    fig, ax = _figure()
    counts, edges = log_histogram(values, cfg.bins)
    ax.stairs(counts, edges, fill=True)
    ax.set_xscale("log")
    if counts.any():
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel="count (log)")
    return _png(fig, cfg.dpi)


def _figures(p: DatasetProfile, cfg: ProfileReportConfig) -> dict[str, tuple[str, bytes]]:
    """Figure key → (caption, PNG bytes)."""
    unit = "events" if p.kind == "events" else "plays"
    figs = {
        f"{unit}_per_user": (
            f"{unit.capitalize()} per user",
            _hist_png(p.per_user, f"{p.name}: {unit} per user", unit, cfg),
        ),
        f"listeners_per_{p.item}": (
            f"Listeners per {p.item}",
            _hist_png(p.listeners, f"{p.name}: listeners per {p.item}", "listeners", cfg),
        ),
    }
    if p.monthly is not None and p.monthly.height:
        fig, ax = _figure()
        ax.plot(p.monthly["month"].to_list(), p.monthly["events"].to_list(), marker=".")
        ax.set(title=f"{p.name}: events per month", xlabel="month (UTC)", ylabel="events")
        fig.autofmt_xdate()
        figs["events_per_month"] = ("Listening over time", _png(fig, cfg.dpi))
    if p.ages is not None and p.ages.size:
        fig, ax = _figure()
        ax.hist(p.ages, bins=min(cfg.bins, 30))
        ax.set(title=f"{p.name}: age of users (profile)", xlabel="age", ylabel="users")
        figs["age"] = ("Age of users", _png(fig, cfg.dpi))
    return figs


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "dataset"


def _flatten(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            out[k] = v
    return out


def _table(mapping: dict[str, Any]) -> list[str]:
    lines = ["| metric | value |", "|---|---|"]
    lines += [f"| {k} | {'n/a' if v is None else v} |" for k, v in mapping.items()]
    return lines


def write_profile_report(
    datasets: dict[str, Path],
    out_dir: Path,
    cfg: ProfileReportConfig | None = None,
    *,
    synthetic: bool = False,
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Profile each data set and write ``profile.md`` plus PNGs into ``out_dir``.

    Parameters
    ----------
    datasets
        Display name → ingest output folder.
    out_dir
        Report folder (created).
    cfg
        Report settings (defaults when omitted).
    synthetic
        The data comes from the sandbox: the report's first line says so.

    Returns
    -------
    tuple of (Path, dict)
        The Markdown file, and per data set its numbers (``stats``, ``demographics``)
        and figure files (``figures``: key → path).

    Raises
    ------
    InputDataError
        A folder is not an ingest output.
    """
    cfg = cfg or ProfileReportConfig()
    out_dir = Path(out_dir)
    if not datasets:
        raise InputDataError("no data sets to profile")
    profiles = [profile_dataset(n, Path(f), cfg) for n, f in datasets.items()]
    lines = [SYNTHETIC_BANNER, ""] if synthetic else []
    lines += ["# Dataset profile", ""]
    summary: dict[str, dict[str, Any]] = {}
    # the figures and the Markdown that links them: all or none
    with stage_outputs(out_dir, label="profile") as staging:
        for p in profiles:
            figs = _figures(p, cfg)
            paths = {}
            for key, (_caption, png) in figs.items():
                paths[key] = staging.write_bytes(out_dir / f"{_slug(p.name)}_{key}.png", png)
            lines += [f"## {p.name}", "", *_table(p.stats), ""]
            if p.demographics:
                lines += [
                    "### Demographics (user profiles)",
                    "",
                    *_table(_flatten(p.demographics)),
                    "",
                ]
            else:
                lines += ["No profile demographics in this data set.", ""]
            for key, (caption, _png_bytes) in figs.items():
                lines += [f"![{caption}]({paths[key].name})", ""]
            summary[p.name] = {
                "stats": p.stats,
                "demographics": p.demographics,
                "figures": {k: str(v) for k, v in paths.items()},
            }
        report = staging.write_text(out_dir / REPORT_NAME, "\n".join(lines).rstrip() + "\n")
    logger.info("profile of %s written to %s", ", ".join(datasets), report)
    return report, summary
