"""Any listening log as one pipeline source: detect each input, merge, write one catalogue.

``ingest.source`` ``lastfm1k``, ``scrobbles``, ``hetrec`` and ``listens`` all come here
(:func:`ingest_sources`); ``listens`` takes several files or folders and detects each:

* a folder holding ``user_artists.dat`` → **HetRec 2011** (play counts per user and artist);
* a file whose first line has six tab-separated fields and an ISO time → **Last.fm 1K**;
* a CSV in one of the layouts of :mod:`moodrec.ingest.exports` → a **scrobble export** of
  one user (named by ``ingest.user`` or the file's stem);
* any other folder → each ``.tsv``/``.csv``/``.txt`` file in it, detected one by one.

One catalogue across datasets: artists are identified by MBID, then by normalised name;
tracks by MBID, then by (artist, normalised title) — the rules of
:mod:`moodrec.ingest.canonical`, applied to all inputs at once, so an export's artists
meet the population's.

Item level. ``track``: items are tracks, every input must have timestamps, and the usual
tables come out (``events, tracks, artists, users, plays, sessions, rejects``).
``artist`` (the only level HetRec has): items are artists; an export's or a 1K log's
plays are summed per (user, artist). ``tracks.parquet`` then holds **one item per artist**
(``track_id`` is the item id, ``track_name`` empty) so every later stage reads one shape,
and no ``events``/``sessions`` are written (stages that need them are skipped with a
reason); HetRec's ``artist_tags`` and ``friends`` are written in the catalogue's ids
(:mod:`moodrec.ingest.artist_level`).

Exact duplicate events (same user, time and raw artist/track fields, e.g. an export
concatenated twice, or the same history in a 1K log and an export) are dropped and
counted (``duplicates_dropped`` in the summary).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from moodrec.errors import InputDataError
from moodrec.ingest.artist_level import write_artist_level
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.exports import read_export_csv
from moodrec.ingest.hetrec import USER_ARTISTS
from moodrec.ingest.lastfm1k import read_profiles, write_canonical
from moodrec.ingest.reader import NAME_COLUMNS, ParsedLog, Reject, read_log
from moodrec.storage import write_json_atomic

logger = logging.getLogger(__name__)

InputKind = Literal["lastfm1k", "scrobbles", "hetrec"]
ItemLevelResolved = Literal["track", "artist"]
LOG_SUFFIXES = (".tsv", ".csv", ".txt")
_ISO = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ListenInput:
    """One detected input."""

    path: Path
    kind: InputKind


def detect_input(path: Path) -> InputKind:
    """What a file or folder is (see the module docstring).

    Raises
    ------
    InputDataError
        A missing path, a folder that is not HetRec (use :func:`expand_inputs`), or a file
        in no known layout.
    """
    path = Path(path)
    if path.is_dir():
        if (path / USER_ARTISTS).is_file():
            return "hetrec"
        raise InputDataError(f"{path}: a folder without {USER_ARTISTS} is not a HetRec folder")
    if not path.is_file():
        raise InputDataError(f"listening input {path} does not exist")
    with path.open("rb") as fh:
        head = fh.read(4096)
    first = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace").lstrip("\ufeff")
    fields = first.split("\t")
    if len(fields) == 6:
        try:
            from datetime import datetime

            datetime.strptime(fields[1], _ISO)
            return "lastfm1k"
        except ValueError:
            pass
    if "," in first or first.strip():
        return "scrobbles"  # read_export_csv names the layout problem, if any
    raise InputDataError(f"{path}: empty file; expected a listening log")


def expand_inputs(paths: list[Path]) -> list[ListenInput]:
    """Every input of ``paths`` with its kind; a plain folder contributes its log files.

    Raises
    ------
    InputDataError
        A missing path, an empty folder, or an undetectable file.
    """
    out: list[ListenInput] = []
    for p in map(Path, paths):
        if p.is_dir() and not (p / USER_ARTISTS).is_file():
            files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in LOG_SUFFIXES)
            if not files:
                raise InputDataError(
                    f"{p}: no {'/'.join(LOG_SUFFIXES)} files and no {USER_ARTISTS} in the folder"
                )
            out.extend(ListenInput(f, detect_input(f)) for f in files)
        else:
            out.append(ListenInput(p, detect_input(p)))
    return out


def configured_inputs(cfg: IngestConfig) -> list[ListenInput]:
    """The inputs of a non-sandbox ``cfg`` (``log_path`` or ``paths``), detected."""
    if cfg.source == "listens":
        return expand_inputs(list(cfg.paths))
    if cfg.source == "sandbox" or cfg.log_path is None:
        raise InputDataError(f"ingest.source {cfg.source!r} has no input files")
    kind: InputKind = cfg.source  # type: ignore[assignment]  # lastfm1k | scrobbles | hetrec
    path = Path(cfg.log_path)
    if not path.exists():
        what = "folder" if kind == "hetrec" else "file"
        raise InputDataError(f"ingest.log_path: the {kind} {what} {path} does not exist")
    if kind == "hetrec" and not (path / USER_ARTISTS).is_file():
        raise InputDataError(f"ingest.log_path: {path} is not a HetRec folder (no {USER_ARTISTS})")
    return [ListenInput(path, kind)]


def resolve_item_level(cfg: IngestConfig) -> ItemLevelResolved:
    """``track`` or ``artist``: ``auto`` is ``artist`` exactly when an input is HetRec.

    Only looks at paths (cheap), so the pipeline can plan its stages before ingesting.

    Raises
    ------
    InputDataError
        ``item_level: track`` with a HetRec input (HetRec has no tracks).
    """
    if cfg.source == "sandbox":
        return "track"
    if cfg.source == "hetrec":
        return "artist"
    has_hetrec = cfg.source == "listens" and any(
        Path(p).is_dir() and (Path(p) / USER_ARTISTS).is_file() for p in cfg.paths
    )
    if cfg.item_level == "track" and has_hetrec:
        raise InputDataError(
            "ingest.item_level is 'track' but an input is a HetRec folder, which has play "
            "counts per artist only: set item_level to 'artist' (or 'auto')"
        )
    if cfg.item_level == "auto":
        return "artist" if has_hetrec else "track"
    return cfg.item_level


@dataclass
class _Log:
    """Events of the timestamped inputs merged: users as strings, combos offset."""

    events: list[pl.DataFrame] = field(default_factory=list)  # user (String), ts, combo
    combos: list[pl.DataFrame] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    n_lines: int = 0
    inputs: list[dict[str, Any]] = field(default_factory=list)
    n_combos: int = 0

    def add(self, parsed: ParsedLog, name: str, info: dict[str, Any], prefix: bool) -> None:
        ev = parsed.events.select(
            "user", "ts", (pl.col("combo").cast(pl.UInt32) + self.n_combos).alias("combo")
        )
        self.events.append(ev)
        self.combos.append(parsed.combos)
        self.n_combos += parsed.combos.height
        for r in parsed.rejects:
            reason = f"{name}: {r.reason}" if prefix else r.reason
            self.rejects.append(Reject(r.line, reason, r.content))
        self.n_lines += parsed.n_lines
        self.inputs.append(info)

    def parsed(self) -> tuple[ParsedLog, int]:
        """One :class:`ParsedLog` with exact duplicates dropped, and how many were."""
        if len(self.events) == 1:
            events = self.events[0]  # one log: its categorical users as they are (19M rows)
            combos = self.combos[0].drop("key").with_row_index("key")
        elif self.events:
            # users of several inputs meet as strings (each input has its own categories)
            as_text = pl.col("user").cast(pl.String)
            events = pl.concat([e.with_columns(as_text) for e in self.events])
            combos = pl.concat(self.combos).drop("key").with_row_index("key")
        else:
            events = pl.DataFrame(
                schema={"user": pl.String, "ts": pl.Datetime("us", "UTC"), "combo": pl.UInt32}
            )
            combos = pl.DataFrame(
                schema={"key": pl.UInt32, **dict.fromkeys(NAME_COLUMNS, pl.String), "n": pl.Int64}
            )
        events, dups = drop_exact_duplicates(events)
        if dups:
            n = events.group_by("combo").len("n")
            combos = (
                combos.with_row_index("_i")
                .join(n, left_on="_i", right_on="combo", how="left")
                .with_columns(pl.col("n_right").fill_null(0).cast(pl.Int64).alias("n"))
                .drop("_i", "n_right")
            )
        combos = combos.with_columns(pl.col("key").cast(pl.UInt64))
        if events.schema["user"] != pl.Categorical:
            events = events.with_columns(pl.col("user").cast(pl.Categorical))
        return ParsedLog(
            events=events, combos=combos, rejects=self.rejects, n_lines=self.n_lines
        ), dups


def drop_exact_duplicates(events: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Events without exact repeats (same ``user``, ``ts`` and ``combo``), first kept, in
    order; and how many were dropped.

    A 64-bit hash of the three columns, sorted, finds the candidate rows (those whose hash
    occurs twice); only they are compared exactly. 19M events: ~7 s on a loaded 2-core
    machine, against ~55 s for ``DataFrame.unique`` on the three columns.
    """
    if events.height < 2:
        return events, 0
    key = (pl.col("user").hash(1) ^ (pl.col("ts").hash(2) * 0x9E3779B97F4A7C15)) ^ (
        pl.col("combo").hash(3) * 0xC2B2AE3D27D4EB4F
    )
    hashes = events.select(key.alias("h")).to_series()
    ordered = np.sort(hashes.to_numpy())
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if repeated.size == 0:
        return events, 0
    cand = hashes.is_in(pl.Series(repeated).implode()).arg_true()
    first = events[cand].select(pl.struct("user", "ts", "combo").is_first_distinct()).to_series()
    drop = cand.filter(~first).to_numpy()
    if drop.size == 0:  # only hash collisions
        return events, 0
    keep = np.ones(events.height, dtype=bool)
    keep[drop] = False
    return events.filter(pl.Series(keep)), int(drop.size)


def _export_parsed(rows_frame: pl.DataFrame, user: str) -> ParsedLog:
    combos = (
        rows_frame.group_by(list(NAME_COLUMNS), maintain_order=True)
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .with_row_index("combo")
    )
    events = rows_frame.join(
        combos.select("combo", *NAME_COLUMNS),
        on=list(NAME_COLUMNS),
        maintain_order="left",
        nulls_equal=True,
    ).select(
        pl.lit(user, pl.String).cast(pl.Categorical).alias("user"),
        "ts",
        pl.col("combo").cast(pl.UInt32),
    )
    combos = combos.select(pl.col("combo").cast(pl.UInt64).alias("key"), *NAME_COLUMNS, "n")
    return ParsedLog(events=events, combos=combos, rejects=[], n_lines=rows_frame.height)


def read_timestamped(inputs: list[ListenInput], cfg: IngestConfig) -> tuple[ParsedLog, int, list]:
    """Read every Last.fm 1K log and scrobble export of ``inputs`` into one parsed log.

    Returns ``(parsed, duplicates_dropped, per-input info)``.
    """
    log = _Log()
    many = len(inputs) > 1
    exports = [i for i in inputs if i.kind == "scrobbles"]
    if cfg.user and len(exports) > 1:
        raise InputDataError(
            f"ingest.user {cfg.user!r} names the user of one export, but there are "
            f"{len(exports)} exports ({', '.join(i.path.name for i in exports)}): remove "
            "ingest.user; each export's user is then its file name's stem"
        )
    window = cfg.timestamp_window()
    for item in inputs:
        if item.kind == "lastfm1k":
            parsed = read_log(item.path, window=window)
            info = {"path": str(item.path), "kind": "lastfm1k", "lines": parsed.n_lines}
        elif item.kind == "scrobbles":
            rows = read_export_csv(item.path, window=window)
            user = (cfg.user or item.path.stem).strip()
            if not user:
                raise InputDataError(f"{item.path}: empty user name; set ingest.user")
            parsed = _export_parsed(rows.frame, user)
            parsed.rejects = rows.rejects
            parsed.n_lines = rows.n_records
            info = {
                "path": str(item.path),
                "kind": "scrobbles",
                "layout": rows.layout,
                "user": user,
                "lines": rows.n_records,
            }
        else:
            continue
        info["rejected"] = len(parsed.rejects)
        log.add(parsed, item.path.name, info, prefix=many)
    parsed, dups = log.parsed()
    return parsed, dups, log.inputs


@dataclass(frozen=True)
class SourcesResult:
    """What :func:`ingest_sources` wrote: the output paths and the summary."""

    outputs: dict[str, Path]
    summary: dict[str, Any]
    item_level: ItemLevelResolved


def ingest_sources(cfg: IngestConfig, out_dir: Path) -> SourcesResult:
    """Ingest the configured inputs (``lastfm1k``, ``scrobbles``, ``hetrec``, ``listens``).

    Parameters
    ----------
    cfg
        The ingest config (inputs, item level, rating and session parameters).
    out_dir
        The ``interim`` folder.

    Returns
    -------
    SourcesResult
        ``outputs`` (dataset name → path) and the summary (counts, ``item_level``,
        ``duplicates_dropped``, one entry per input with its kind and layout).

    Raises
    ------
    InputDataError
        An input is missing or in no known layout; user names collide across datasets;
        ``item_level: track`` with a HetRec input.
    """
    out_dir = Path(out_dir)
    inputs = configured_inputs(cfg)
    level = resolve_item_level(cfg)
    profiles = read_profiles(cfg.profile_path) if cfg.profile_path else None
    timed = [i for i in inputs if i.kind != "hetrec"]
    parsed, dups, infos = read_timestamped(timed, cfg)
    if level == "track":
        result = write_canonical(parsed, out_dir, cfg, profiles=profiles, source=inputs[0].path)
        summary = {
            **result.summary,
            "item_level": "track",
            "duplicates_dropped": dups,
            "lines": result.n_lines,
            "rejected": result.n_rejected,
            "inputs": infos,
        }
        outputs = dict(result.outputs)
        logger.info("ingested %d inputs, %d duplicate events dropped", len(inputs), dups)
        return SourcesResult(outputs, summary, "track")
    hetrec = [i for i in inputs if i.kind == "hetrec"]
    if len(hetrec) > 1:
        raise InputDataError(
            f"{len(hetrec)} HetRec folders given "
            f"({', '.join(str(h.path) for h in hetrec)}); one population at a time"
        )
    outputs, summary = write_artist_level(
        parsed, dups, infos, hetrec[0].path if hetrec else None, cfg, out_dir
    )
    return SourcesResult(outputs, summary, "artist")


def write_source_record(path: Path, cfg: IngestConfig, result: SourcesResult) -> Path:
    """``interim/ingest_source.json``: which inputs and item level wrote the tables."""
    return write_json_atomic(
        path,
        {
            "source": cfg.source,
            "item_level": result.item_level,
            "inputs": result.summary.get("inputs", []),
        },
    )


def input_files(cfg: IngestConfig) -> dict[str, Path]:
    """Every raw file the configured inputs consist of (a HetRec folder's ``.dat`` files),
    by a stable name, for fingerprinting."""
    files: dict[str, Path] = {}
    for i, item in enumerate(configured_inputs(cfg)):
        if item.kind == "hetrec":
            for f in sorted(item.path.glob("*.dat")):
                files[f"ingest_input_{i}_hetrec_{f.stem}"] = f
        else:
            files[f"ingest_input_{i}_{item.kind}"] = item.path
    if cfg.profile_path:
        files["ingest_input_profiles"] = Path(cfg.profile_path)
    return files
