"""Scrobble-export CSVs of any common layout → rows of (time, artist, track, MBIDs).

Personal Last.fm exports come from many small tools, each with its own columns. The
layouts below are those of popular exporters (read from their source or README); the
column names are matched case-insensitively, so a file in any mix of them is read:

==========================  ==============================================================
exporter                    columns (``[h]`` = header row written)
==========================  ==============================================================
benjaminbenben.com          ``artist,album,track,date`` (no header; ``22 Mar 2021 16:55``)
lastfm-to-csv
ghan / "lastexport" full    ``[h] uts,utc_time,artist,artist_mbid,album,album_mbid,track,
                            track_mbid`` (``uts`` Unix seconds, ``utc_time`` fallback)
mathieuhendey/              ``[h] artist,album,track,timestamp,datetime`` (Unix seconds, and
lastfm_downloader           ``2020-10-01 10:42:53``); older versions wrote pandas' index as
                            a leading unnamed column
emkor/lastfm-backup-cli     ``2021-04-01,10:42:53,PRO8L3M,Backstage`` (no header: date, UTC
                            time, artist, title)
scripts on user.getRecent-  ``[h] track,album,artist,time,track id,album id,artist id``
Tracks                      (``time`` a datetime; ``track id`` etc. are MBIDs)
others                      ``[h] title,artist,album,date`` (``date`` Unix seconds)
==========================  ==============================================================

Times: all digits = Unix seconds (milliseconds above 10**11); otherwise ISO 8601 (with
``T`` or a space, optional seconds, ``Z`` or an offset), ``DD Mon YYYY HH:MM`` (comma
optional), or a date column plus a time column. Naive times are UTC. A row without a
time (an exporter's "now playing" row) is rejected with its line; a file that matches no
layout, or a time in no known format, raises :class:`~moodrec.errors.InputDataError`
naming the file, the line and the layouts understood.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from moodrec.errors import InputDataError
from moodrec.ingest.reader import (
    TS_DTYPE,
    Reject,
    Window,
    escape_content,
    reason_window,
    refuse_compressed,
)

__all__ = ["EXPORT_LAYOUTS", "ExportRows", "read_export_csv", "sniff_export_header"]

EXPORT_LAYOUTS = (
    "a scrobble-export CSV: a header naming an artist column (artist, artist name), a track "
    "column (track, title, name, song) and a time column (uts, timestamp, datetime, date, "
    "utc_time, time; or date + time), MBID columns optional, a leading index column allowed; "
    "or no header as 'artist,album,track,DD Mon YYYY HH:MM' or 'YYYY-MM-DD,HH:MM:SS,artist,"
    "title'"
)
REASON_NO_TIME = "no timestamp (now-playing row?)"
REASON_OUT_OF_RANGE = "implausible timestamp (beyond the representable range)"

#: header synonyms (normalised: lower case, runs of space/_/-/() → one space) → role
_ROLES: dict[str, str] = {
    "artist": "artist",
    "artist name": "artist",
    "artist names": "artist",
    "artist s": "artist",
    "track": "track",
    "title": "track",
    "track name": "track",
    "song": "track",
    "name": "track",
    "artist mbid": "artist_mbid",
    "artist id": "artist_mbid",
    "track mbid": "track_mbid",
    "track id": "track_mbid",
    "mbid": "track_mbid",
    "uts": "uts",
    "timestamp": "timestamp",
    "datetime": "datetime",
    "date": "date",
    "utc time": "utc_time",
    "time": "time",
    "played at": "datetime",
    "scrobble time": "datetime",
}
#: time roles in order of preference (a numeric one first)
_TIME_ROLES = ("uts", "timestamp", "datetime", "date", "utc_time", "time")
_INDEX_NAMES = {"", "index", "unnamed 0", "id"}
_SIMPLE_DATE = re.compile(r"^\s*\d{1,2} [A-Za-z]{3} \d{4},? \d{1,2}:\d{2}\s*$")
_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
_CLOCK = re.compile(r"^\s*\d{1,2}:\d{2}(:\d{2})?\s*$")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-()]+", " ", name.strip().lstrip("\ufeff").lower()).strip()


@dataclass(frozen=True)
class ExportLayout:
    """Column positions of one export file; ``header`` = whether row 1 names the columns."""

    header: bool
    width: int
    artist: int
    track: int
    times: tuple[int, ...]  # one column, or a date column then a time column
    artist_mbid: int | None = None
    track_mbid: int | None = None
    fallback_time: int | None = None  # utc_time when uts is empty
    name: str = ""


def sniff_export_header(first_row: list[str]) -> ExportLayout | None:
    """The layout of an export from its first row, or None when it is none of them."""
    width = len(first_row)
    norm = [_norm(c) for c in first_row]
    roles: dict[str, int] = {}
    for i, n in enumerate(norm):
        role = _ROLES.get(n)
        if role is not None and role not in roles:
            roles[role] = i
    if "artist" in roles and "track" in roles:
        times = [r for r in _TIME_ROLES if r in roles]
        if not times:
            return None
        first = times[0]
        cols: tuple[int, ...] = (roles[first],)
        # a separate date column and clock column (no single datetime)
        if first == "date" and "time" in roles:
            cols = (roles["date"], roles["time"])
        fallback = roles.get("utc_time") if first == "uts" else None
        return ExportLayout(
            header=True,
            width=width,
            artist=roles["artist"],
            track=roles["track"],
            times=cols,
            artist_mbid=roles.get("artist_mbid"),
            track_mbid=roles.get("track_mbid"),
            fallback_time=fallback,
            name="header:" + ",".join(first_row),
        )
    if width == 4 and _SIMPLE_DATE.match(first_row[3]):
        return ExportLayout(False, 4, artist=0, track=2, times=(3,), name="artist,album,track,date")
    if width == 4 and _ISO_DATE.match(first_row[0]) and _CLOCK.match(first_row[1]):
        return ExportLayout(
            False, 4, artist=2, track=3, times=(0, 1), name="date,time,artist,title"
        )
    return None


def _index_column(first_row: list[str]) -> bool:
    """A leading unnamed/index column (pandas ``to_csv`` with its index)."""
    return len(first_row) > 1 and _norm(first_row[0]) in _INDEX_NAMES


@dataclass
class ExportRows:
    """One export file's rows, in file order, and its rejects."""

    path: Path
    layout: str
    frame: pl.DataFrame  # line, ts, artist_mbid, artist_name, track_mbid, track_name
    rejects: list[Reject] = field(default_factory=list)

    @property
    def n_records(self) -> int:
        return self.frame.height + len(self.rejects)


def read_export_csv(path: Path, window: Window | None = None) -> ExportRows:
    """Read a scrobble export in any layout of the module docstring.

    ``window`` (``IngestConfig.timestamp_window``): rows whose time lies outside it, or
    whose Unix time is beyond any representable date, are rejected with the reason.

    Returns
    -------
    ExportRows
        ``frame`` columns ``line`` (Int64, 1-based physical), ``ts`` (Datetime[us, UTC]),
        ``artist_mbid, artist_name, track_mbid, track_name`` (String, null = empty).

    Raises
    ------
    InputDataError
        Missing or undecodable file, unknown layout, wrong field count, unparsable time.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"scrobble export {path} does not exist")
    refuse_compressed(path, "scrobble export")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputDataError(
            f"{path}: invalid UTF-8 ({exc.reason}); expected {EXPORT_LAYOUTS}"
        ) from None
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read ({exc})") from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    layout: ExportLayout | None = None
    skip_index = False
    lines: list[int] = []
    raw_times: list[str] = []
    cols: dict[str, list[str]] = {
        c: [] for c in ("artist_mbid", "artist_name", "track_mbid", "track_name")
    }
    rejects: list[Reject] = []
    raw_rows: list[str] = []
    try:
        for row in reader:
            no = reader.line_num
            if layout is None:
                if not row:
                    continue
                skip_index = _index_column(row)
                layout = sniff_export_header(row[1:] if skip_index else row)
                if layout is None:
                    raise InputDataError(
                        f"{path}, line 1: unrecognised first line {row!r}; expected "
                        f"{EXPORT_LAYOUTS}"
                    )
                if layout.header:
                    continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            fields = row[1:] if skip_index else row
            if len(fields) != layout.width:
                raise InputDataError(
                    f"{path}, line {no}: {len(fields) + skip_index} comma-separated fields; "
                    f"expected {layout.width + skip_index} (layout {layout.name!r}); the "
                    "file may be truncated"
                )
            when = " ".join(fields[i].strip() for i in layout.times).strip()
            if not when and layout.fallback_time is not None:
                when = fields[layout.fallback_time].strip()
            if not when:
                rejects.append(Reject(no, REASON_NO_TIME, escape_content(",".join(row))))
                continue
            lines.append(no)
            raw_rows.append(",".join(row))
            raw_times.append(when)
            cols["artist_name"].append(fields[layout.artist].strip())
            cols["track_name"].append(fields[layout.track].strip())
            for key, pos in (
                ("artist_mbid", layout.artist_mbid),
                ("track_mbid", layout.track_mbid),
            ):
                cols[key].append(fields[pos].strip() if pos is not None else "")
    except csv.Error as exc:
        raise InputDataError(
            f"{path}, line {reader.line_num}: malformed CSV ({exc}); the file may be truncated"
        ) from None
    if layout is None:
        raise InputDataError(f"{path}: file is empty; expected {EXPORT_LAYOUTS}")
    ts = parse_export_times(raw_times)
    digits = pl.Series(raw_times, dtype=pl.String).str.contains(r"^\d+$")
    # Unix times past any representable date: implausible rows, not a malformed file
    huge = ts.is_null() & digits
    early = pl.Series([False] * len(raw_times), dtype=pl.Boolean)
    if window is not None:
        early = (ts < window[0]).fill_null(False)
        huge = huge | (ts > window[1]).fill_null(False)
    implausible = huge | early
    if implausible.any():
        for i in implausible.arg_true().to_list():
            reason = reason_window(window, bool(early[i])) if window else REASON_OUT_OF_RANGE
            rejects.append(Reject(lines[i], reason, escape_content(raw_rows[i])))
        rejects.sort(key=lambda r: r.line)
        keep = ~implausible
        ts = ts.filter(keep)
        lines = [n for n, k in zip(lines, keep, strict=True) if k]
        raw_times = [t for t, k in zip(raw_times, keep, strict=True) if k]
        cols = {c: [v for v, k in zip(vs, keep, strict=True) if k] for c, vs in cols.items()}
    bad = ts.is_null()
    if bad.any():
        i = int(bad.arg_true()[0])
        raise InputDataError(
            f"{path}, line {lines[i]}: unparsable time {raw_times[i]!r} (layout "
            f"{layout.name!r}); expected Unix seconds, ISO 8601 or 'DD Mon YYYY HH:MM'"
        )
    frame = pl.DataFrame(
        {
            "line": pl.Series(lines, dtype=pl.Int64),
            "ts": ts,
            **{c: pl.Series(v, dtype=pl.String).replace("", None) for c, v in cols.items()},
        }
    )
    return ExportRows(path=path, layout=layout.name, frame=frame, rejects=rejects)


_TEXT_FORMATS = (
    "%d %b %Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S%.f",
)


def parse_export_times(raw: list[str]) -> pl.Series:
    """Vectorised: Unix seconds/milliseconds, ISO 8601 (naive = UTC; offsets converted) or
    ``DD Mon YYYY HH:MM``; null where no format fits. Returns Datetime[us, UTC]."""
    s = pl.Series("raw", raw, dtype=pl.String)
    df = pl.DataFrame({"raw": s})
    digits = pl.col("raw").str.contains(r"^\d+$")
    # beyond 10**14 ms (year ~5100) a time cannot be converted without overflow: null
    num = pl.col("raw").cast(pl.Int64, strict=False)
    num = pl.when(num <= 100_000_000_000_000).then(num)
    epoch = (
        pl.when(num > 100_000_000_000)
        .then(pl.from_epoch(num, time_unit="ms"))
        .otherwise(pl.from_epoch(num, time_unit="s"))
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )
    text = (
        pl.col("raw")
        .str.replace(",", "", literal=True)
        .str.replace("T", " ", literal=True)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    # an offset or Z: parsed as aware and converted to UTC
    aware = text.str.contains(r"(Z|[+-]\d{2}:?\d{2})$")
    tz_text = text.str.replace(r"Z$", "+00:00")
    with_tz = pl.coalesce(
        tz_text.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%d %H:%M:%S%:z", strict=False),
        tz_text.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%d %H:%M:%S%.f%:z", strict=False),
        tz_text.str.strptime(pl.Datetime("us", "UTC"), "%Y-%m-%d %H:%M%:z", strict=False),
    )
    naive = pl.coalesce(
        *(text.str.strptime(pl.Datetime("us"), f, strict=False) for f in _TEXT_FORMATS)
    ).dt.replace_time_zone("UTC")
    out = df.select(
        pl.when(digits).then(epoch).when(aware).then(with_tz).otherwise(naive).alias("ts")
    )
    return out.to_series().cast(TS_DTYPE)
