"""Ingest a personal Last.fm scrobble export (CSV) into moodrec's canonical tables.

Supported layouts, detected from the first line (one user per file):

``simple``   ``artist,album,track,date`` with dates like ``04 May 2009 23:08`` (UTC), as
             written by the common "Last.fm to CSV" exporters; the header row is optional
             (without it, a first row whose 4th field is such a date identifies the layout).
``full``     header ``uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid``;
             ``uts`` (Unix seconds) is the time, ``utc_time`` is used only when ``uts`` is
             empty.

The rows become the same in-memory :class:`~moodrec.ingest.reader.ParsedLog` that the
Last.fm 1K reader builds, and :func:`~moodrec.ingest.lastfm1k.write_canonical` writes
the canonical tables (``events, tracks, artists, users, plays, sessions, rejects``), so
identities, sessions and ratings follow exactly the 1K rules. The album is not part of
the canonical tables and is dropped.

Rows without a time (an exporter's "now playing" row) and rows whose time lies outside
the plausible window (``IngestConfig.timestamp_window``) go to ``rejects.tsv``. A file
that is truncated or not in one of the layouts (wrong header, wrong number of fields, an
unparsable date, an unterminated quote, invalid UTF-8) raises
:class:`~moodrec.errors.InputDataError` naming the file, the line and the expected
format, and nothing is written.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from moodrec.errors import InputDataError
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import IngestResult, read_profiles, write_canonical
from moodrec.ingest.reader import (
    NAME_COLUMNS,
    TS_DTYPE,
    ParsedLog,
    Reject,
    Window,
    escape_content,
    reason_window,
    refuse_compressed,
)

logger = logging.getLogger(__name__)

Layout = Literal["simple", "full"]
SIMPLE_HEADER = ("artist", "album", "track", "date")
FULL_HEADER = (
    "uts",
    "utc_time",
    "artist",
    "artist_mbid",
    "album",
    "album_mbid",
    "track",
    "track_mbid",
)
SIMPLE_DATE_FORMAT = "%d %b %Y %H:%M"
_SIMPLE_DATE = re.compile(r"^\s*\d{1,2} [A-Za-z]{3} \d{4},? \d{1,2}:\d{2}\s*$")
EXPECTED_FORMATS = (
    "a Last.fm scrobble export CSV: 'artist,album,track,date' (date like '04 May 2009 23:08', "
    "header optional) or 'uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid'"
)
REASON_NO_TIME = "no timestamp (now-playing row?)"
REASON_OUT_OF_RANGE = "implausible timestamp (beyond the representable range)"


@dataclass(frozen=True)
class ScrobbleExport:
    """A parsed export: its layout, user and the rows as a :class:`ParsedLog`."""

    path: Path
    layout: Layout
    user: str
    parsed: ParsedLog


def user_from_filename(path: Path) -> str:
    """User name from an export's file name: the stem, e.g. ``rj.csv`` → ``rj``."""
    return Path(path).stem.strip()


def detect_layout(first_row: list[str]) -> tuple[Layout, bool]:
    """Layout and whether the first row is a header.

    Raises
    ------
    InputDataError
        Without the file name; :func:`read_scrobble_export` adds it.
    """
    norm = tuple(f.strip().lstrip("\ufeff").lower() for f in first_row)
    if norm == FULL_HEADER:
        return "full", True
    if norm == SIMPLE_HEADER:
        return "simple", True
    if len(first_row) == 4 and _SIMPLE_DATE.match(first_row[3]):
        return "simple", False
    raise InputDataError(f"line 1: unrecognised header {list(first_row)!r}")


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputDataError(
            f"{path}, line {line}: invalid UTF-8 ({exc.reason}); expected {EXPECTED_FORMATS}"
        ) from None


def read_scrobble_export(
    path: Path, user: str | None = None, window: Window | None = None
) -> ScrobbleExport:
    """Parse a scrobble export into the :class:`ParsedLog` the 1K ingest builds.

    Parameters
    ----------
    path
        The CSV export (UTF-8, RFC 4180 quoting, CRLF or LF).
    user
        User name; defaults to :func:`user_from_filename`.
    window
        ``(earliest, latest)`` plausible times; rows outside are rejected with a reason.

    Returns
    -------
    ScrobbleExport
        ``parsed.events`` in file order (``user``, ``ts``, ``combo``), distinct
        (artist MBID, artist, track MBID, track) combinations, rejects (rows without a
        time) and the physical line count.

    Raises
    ------
    InputDataError
        Missing file, empty user name, a compressed file, or a truncated / wrong-format
        file.
    """
    path = Path(path)
    user = (user if user is not None else user_from_filename(path)).strip()
    if not user:
        raise InputDataError(f"{path}: empty user name; pass one explicitly")
    if not path.is_file():
        raise InputDataError(f"scrobble export {path} does not exist")
    refuse_compressed(path, "scrobble export")
    try:
        text = _decode(path, path.read_bytes())
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read ({exc})") from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    lines: list[int] = []
    times: list[str] = []
    raws: list[list[str]] = []
    fields: dict[str, list[str]] = {c: [] for c in NAME_COLUMNS}
    rejects: list[Reject] = []
    layout: Layout | None = None
    try:
        for row in reader:
            no = reader.line_num
            if layout is None:
                try:
                    layout, is_header = detect_layout(row)
                except InputDataError:
                    raise InputDataError(
                        f"{path}, line 1: unrecognised first line {row!r}; "
                        f"expected {EXPECTED_FORMATS}"
                    ) from None
                if is_header:
                    continue
            if not row:
                continue  # blank line
            width = 4 if layout == "simple" else 8
            if len(row) != width:
                raise InputDataError(
                    f"{path}, line {no}: {len(row)} comma-separated fields; expected {width} "
                    f"({layout} layout of {EXPECTED_FORMATS}); the file may be truncated"
                )
            if layout == "simple":
                artist, _album, track, when = row
                ambid = tmbid = ""
            else:
                uts, utc, artist, ambid, _album, _albid, track, tmbid = row
                if uts.strip() and not uts.strip().isdigit():
                    raise InputDataError(
                        f"{path}, line {no}: uts {uts!r} is not Unix seconds; expected "
                        f"{EXPECTED_FORMATS}"
                    )
                # '@' marks Unix seconds for the vectorised parse
                when = f"@{uts.strip()}" if uts.strip() else utc
            if not when.strip():
                rejects.append(Reject(no, REASON_NO_TIME, escape_content(",".join(row))))
                continue
            lines.append(no)
            raws.append(row)
            times.append(when.strip())
            for col, value in zip(NAME_COLUMNS, (ambid, artist, tmbid, track), strict=True):
                fields[col].append(value.strip())
    except csv.Error as exc:
        raise InputDataError(
            f"{path}, line {reader.line_num}: malformed CSV ({exc}); the file may be "
            f"truncated; expected {EXPECTED_FORMATS}"
        ) from None
    if layout is None:
        raise InputDataError(f"{path}, line 1: file is empty; expected {EXPECTED_FORMATS}")
    ts, early = _parse_times(path, layout, times, lines, window)
    implausible = ts.is_null()
    if implausible.any():
        for i in implausible.arg_true().to_list():
            reason = (
                reason_window(window, bool(early[i])) if window is not None else REASON_OUT_OF_RANGE
            )
            rejects.append(Reject(lines[i], reason, escape_content(",".join(raws[i]))))
        rejects.sort(key=lambda r: r.line)
        keep = ~implausible
        lines = [no for no, k in zip(lines, keep, strict=True) if k]
        ts = ts.filter(keep)
        fields = {c: [v for v, k in zip(vs, keep, strict=True) if k] for c, vs in fields.items()}
    frame = pl.DataFrame(
        {
            "line": pl.Series(lines, dtype=pl.Int64),
            "ts": ts,
            **{c: pl.Series(v, dtype=pl.String) for c, v in fields.items()},
        }
    )
    combos = (
        frame.group_by(list(NAME_COLUMNS), maintain_order=True)
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .with_row_index("combo")
    )
    events = frame.join(
        combos.select("combo", *NAME_COLUMNS), on=list(NAME_COLUMNS), maintain_order="left"
    ).select(
        pl.lit(user, pl.String).cast(pl.Categorical).alias("user"),
        "ts",
        pl.col("combo").cast(pl.UInt32),
    )
    combos = combos.select(
        pl.col("combo").cast(pl.UInt64).alias("key"),
        *(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in NAME_COLUMNS),
        "n",
    )
    # data records (header and blank lines excluded), so n_lines == n_events + n_rejected
    n_records = events.height + len(rejects)
    parsed = ParsedLog(events=events, combos=combos, rejects=rejects, n_lines=n_records)
    logger.info(
        "%s: %s layout, user %r, %d scrobbles, %d rejected",
        path,
        layout,
        user,
        events.height,
        len(rejects),
    )
    return ScrobbleExport(path=path, layout=layout, user=user, parsed=parsed)


def _parse_times(
    path: Path, layout: Layout, times: list[str], lines: list[int], window: Window | None = None
) -> tuple[pl.Series, pl.Series]:
    """Vectorised time parsing; the first unparsable value raises with its line.

    Returns the times, null where a time parsed but lies outside ``window`` or is a
    ``uts`` too large to represent (checked before conversion, so it cannot wrap around),
    and whether each such time lies before the window.
    """
    raw = pl.Series("raw", times, dtype=pl.String)
    is_uts = raw.str.starts_with("@")
    uts = raw.str.strip_prefix("@").cast(pl.Int64, strict=False)
    # microseconds of any uts beyond ~292,000 years overflow Int64; such values are
    # implausible anyway, so keep them out of the conversion
    big = uts.abs() > 9_000_000_000_000
    out_of_range = (is_uts & uts.is_not_null() & big).fill_null(False)
    uts_raw = uts
    uts = uts.zip_with(~out_of_range, pl.zeros(len(uts), pl.Int64, eager=True))
    # 'utc_time' of the full layout ('04 May 2009, 23:08') and the simple layout's date
    text = raw.str.replace(",", "", literal=True).str.replace_all(r"\s+", " ")
    parsed = text.str.strptime(pl.Datetime("us"), SIMPLE_DATE_FORMAT, strict=False)
    ts = (
        pl.DataFrame({"is_uts": is_uts, "uts": uts, "parsed": parsed})
        .select(
            pl.when(pl.col("is_uts"))
            .then(pl.from_epoch(pl.col("uts"), time_unit="s").cast(pl.Datetime("us")))
            .otherwise(pl.col("parsed"))
            .dt.replace_time_zone("UTC")
            .alias("ts")
        )
        .to_series()
    )
    bad = ts.is_null() & ~out_of_range
    if bad.any():
        i = int(bad.arg_true()[0])
        raise InputDataError(
            f"{path}, line {lines[i]}: unparsable date {times[i]!r}; expected "
            f"'DD Mon YYYY HH:MM' or Unix seconds ({layout} layout of {EXPECTED_FORMATS})"
        )
    plausible = ~out_of_range
    early = out_of_range & (uts_raw < 0).fill_null(False)
    if window is not None:
        plausible = plausible & ts.is_between(window[0], window[1])
        early = early | (~out_of_range & (ts < window[0])).fill_null(False)
    kept = (
        pl.DataFrame({"ts": ts.cast(TS_DTYPE), "ok": plausible})
        .select(pl.when(pl.col("ok")).then(pl.col("ts")).alias("ts"))
        .to_series()
    )
    return kept, early


def ingest_scrobbles(
    path: Path,
    out_dir: Path,
    cfg: IngestConfig | None = None,
    user: str | None = None,
    profile_path: Path | None = None,
) -> IngestResult:
    """Ingest one scrobble export into the canonical tables in ``out_dir``.

    Parameters
    ----------
    path
        The CSV export (see the module docstring for the layouts).
    out_dir
        Output folder (created); same tables as :func:`~moodrec.ingest.lastfm1k.ingest_lastfm1k`.
    cfg
        Session gap, rating and confidence parameters (defaults when omitted).
    user
        User name (default: the file name's stem).
    profile_path
        Optional ``userid-profile.tsv``-layout file joined onto ``users``.

    Returns
    -------
    IngestResult

    Raises
    ------
    InputDataError
        The export is missing, truncated or not in a supported layout.
    """
    profiles = read_profiles(profile_path) if profile_path is not None else None
    cfg = cfg or IngestConfig()
    export = read_scrobble_export(path, user=user, window=cfg.timestamp_window())
    return write_canonical(export.parsed, Path(out_dir), cfg, profiles=profiles, source=path)
