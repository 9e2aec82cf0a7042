"""Reading a Last.fm-1K-layout log: one fast parse, a structural check, exact rejects.

The log is ``user<TAB>timestamp<TAB>artist-mbid<TAB>artist<TAB>track-mbid<TAB>track``
with no header and **no quoting** (a field may start with ``"``).

How it stays fast and exact
---------------------------
* **One parse**: polars' streaming CSV reader (``quote_char=None``, 7 string columns,
  ragged lines kept) runs over the whole file once, in file-ordered batches. Per row
  only the user (categorical), the parsed timestamp, a 64-bit hash ``key`` of the
  four artist/track fields and two check values are kept; the four name strings are
  copied only for keys not seen before (about one per distinct combination), so no
  19M-row string columns are ever held. Polars yields exactly one row per physical
  line (an empty line is an all-null row), so row ``i`` is line ``i + 1``.
* **Structure check**: if no row has a 7th field or a missing/empty 6th field, and the
  field bytes plus 5 tabs and one newline per row add up to the file size, every line
  has exactly six columns and nothing else is scanned. Otherwise (or when polars
  reports invalid UTF-8, which triggers one re-read with replacement characters) a
  vectorised numpy scan over the bytes counts tabs per line and finds empty and
  non-UTF-8 lines with their physical line numbers.
* Rows without a user id or a parsable timestamp, or whose time lies outside the
  plausible window (``IngestConfig.timestamp_window``), are rejected by row number.
* A compressed file (gzip, bzip2, xz, zstd, zip magic bytes) is refused up front with
  a message naming the file, instead of being parsed as text.

The 64-bit key identifies a raw (artist MBID, artist, track MBID, track) combination;
two different combinations colliding has probability about ``n**2 / 2**65`` (~4e-8
for the 1.2M combinations of the full Last.fm 1K log).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from moodrec.errors import InputDataError, MoodrecError

logger = logging.getLogger(__name__)

COLUMNS = ("user", "ts", "artist_mbid", "artist_name", "track_mbid", "track_name")
NAME_COLUMNS = ("artist_mbid", "artist_name", "track_mbid", "track_name")
TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TS_DTYPE = pl.Datetime("us", "UTC")
_EXTRA = "_extra"
_SCHEMA = {c: pl.String for c in (*COLUMNS, _EXTRA)}
#: reject ``content`` is cut to this many characters (after escaping)
MAX_REJECT_CONTENT = 300
_SCAN_BLOCK = 1 << 26  # 64 MiB per numpy block in the structural scan

REASON_EMPTY = "empty line"
REASON_UTF8 = "invalid UTF-8"
REASON_USER = "empty user id"
REASON_TS = "unparsable timestamp"

#: leading bytes of compressed formats a log is sometimes handed over in
COMPRESSED_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}

#: ``(earliest, latest)`` accepted event times (timezone-aware)
Window = tuple[datetime, datetime]


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


REASON_TOO_LATE = (
    "implausible timestamp (after the accepted window: ingest.latest_timestamp, by default "
    "the time of the ingest plus ingest.future_tolerance_hours)"
)


def reason_window(window: Window, early: bool) -> str:
    """Reject reason for a timestamp before (``early``) or after ``window``.

    Both texts are fixed by the config, never by the clock, so equal input gives equal
    ``rejects.tsv`` whenever it is ingested.
    """
    if early:
        return f"implausible timestamp (before {_iso(window[0])})"
    return REASON_TOO_LATE


def refuse_compressed(path: Path, what: str = "listening log") -> None:
    """Raise if ``path`` starts with the magic bytes of a compressed format.

    Raises
    ------
    InputDataError
        Naming the file and the format, and what to do instead.
    """
    with Path(path).open("rb") as fh:
        head = fh.read(8)
    for magic, fmt in COMPRESSED_MAGIC.items():
        if head.startswith(magic):
            raise InputDataError(
                f"{what} {path} is {fmt}-compressed, not plain text; decompress it first "
                f"(e.g. `{'gunzip' if fmt == 'gzip' else fmt + ' -d'}`) and give the "
                "uncompressed file"
            )


def reason_columns(n: int) -> str:
    """Reject reason for a line with ``n`` tab-separated columns."""
    return f"expected 6 tab-separated columns, found {n}"


@dataclass(frozen=True)
class Reject:
    """One rejected physical line."""

    line: int  # 1-based physical line number
    reason: str
    content: str  # escaped, truncated raw content


@dataclass
class ParsedLog:
    """What :func:`read_log` returns.

    Attributes
    ----------
    events
        One row per kept line, in file order: ``user`` (Categorical), ``ts``
        (Datetime[us, UTC]), ``combo`` (UInt32 row of ``combos``).
    combos
        One row per distinct (artist MBID, artist, track MBID, track) combination of
        the kept lines, in order of first appearance: ``key`` (UInt64 hash), the four
        raw name fields (null = empty) and ``n`` (events).
    rejects
        Rejected lines, sorted by line number.
    n_lines
        Physical lines in the file (``n_events + n_rejected``).
    """

    events: pl.DataFrame
    combos: pl.DataFrame
    rejects: list[Reject]
    n_lines: int


def escape_content(raw: str | bytes) -> str:
    """Escape a raw line for a TSV cell (``\\``, tab, CR, LF) and truncate it."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "backslashreplace")
    text = raw.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")
    if len(text) > MAX_REJECT_CONTENT:
        text = text[:MAX_REJECT_CONTENT] + "…"
    return text


def _scan(path: Path, lossy: bool) -> pl.LazyFrame:
    return pl.scan_csv(
        path,
        separator="\t",
        has_header=False,
        quote_char=None,
        schema=_SCHEMA,
        truncate_ragged_lines=True,
        missing_columns="insert",
        extra_columns="ignore",
        empty_string_is_null=True,
        raise_if_empty=False,
        encoding="utf8-lossy" if lossy else "utf8",
    )


def _combo_key() -> pl.Expr:
    """64-bit key of the four name fields: per-column seeded hashes, mixed.

    Cheaper than hashing a struct; the odd multipliers make the mix order-sensitive
    (``(a, b)`` and ``(b, a)`` differ) and wrap modulo 2**64.
    """
    h = [pl.col(c).hash(seed=i + 1) for i, c in enumerate(NAME_COLUMNS)]
    return (h[0] ^ (h[1] * 0x9E3779B97F4A7C15)) ^ (
        (h[2] * 0xC2B2AE3D27D4EB4F) ^ (h[3] * 0x165667B19E3779F9)
    )


def _copy_strings(cols: tuple[str, ...]) -> list[pl.Expr]:
    # a fresh copy: filtered string views would otherwise pin every parsed block
    return [pl.concat_str(pl.col(c), pl.lit("")).alias(c) for c in cols]


@dataclass
class _Pass:
    events: pl.DataFrame  # user, ts, combo: one row per physical line, in file order
    strings: pl.DataFrame  # key + the four name fields; row i = combo i (first appearance)
    row_bad: pl.DataFrame  # row + raw fields of rows with no user or no timestamp
    ambiguous: bool  # some row has a 7th field or a missing/empty 6th field
    nbytes: int  # bytes of all parsed fields together


def _read_pass(path: Path, lossy: bool, batch_rows: int, window: Window | None = None) -> _Pass:
    """The single parse: per-row events with combination numbers, plus the strings of each.

    Batches come in file order; each batch contributes the name fields of keys not
    seen before, so only about one string tuple per distinct key is ever copied, and
    its rows get their combination number (order of first appearance) from a join on
    the distinct keys seen so far: no 64-bit key per row outlives its batch.

    The batches are handed to a callback (``sink_batches``), not pulled from an
    iterator (``collect_batches``): the iterator's engine parses ahead of the consumer
    and queued up to ~1.8 GB of parsed batches on the full 19M-line file (peak 2.9 GB
    instead of 1.6 GB, issue 22), while the callback holds the engine back.
    """
    query = _scan(path, lossy).select(
        pl.col("user").cast(pl.Categorical),
        # no cache: nearly every timestamp is distinct, so a cache only costs lookups
        pl.col("ts").str.strptime(TS_DTYPE, TS_FORMAT, strict=False, cache=False),
        _combo_key().alias("key"),
        pl.col("user").alias("_user_raw"),
        pl.col("ts").alias("_ts_raw"),
        *NAME_COLUMNS,
        _EXTRA,
    )
    # a row that needs the byte-level check: 7+ fields, or a missing/empty 6th field
    ambiguous = (pl.col(_EXTRA).is_not_null() | pl.col("track_name").is_null()).any()
    nbytes = pl.sum_horizontal(
        pl.col(c).str.len_bytes().cast(pl.UInt64).sum()
        for c in ("_user_raw", "_ts_raw", *NAME_COLUMNS)
    )
    bad = pl.col("user").is_null() | pl.col("ts").is_null()
    if window is not None:
        bad = bad | ~pl.col("ts").is_between(pl.lit(window[0]), pl.lit(window[1]))
    events: list[pl.DataFrame] = []
    strings: list[pl.DataFrame] = []
    bads: list[pl.DataFrame] = []
    seen = pl.DataFrame(schema={"key": pl.UInt64, "combo": pl.UInt32})
    n_seen = 0
    any_ambiguous, total_bytes = False, 0
    offset = 0

    def take(batch: pl.DataFrame) -> None:
        nonlocal seen, n_seen, any_ambiguous, total_bytes, offset

        amb, nb, any_bad = batch.select(ambiguous, nbytes, bad.any()).row(0)
        any_ambiguous = any_ambiguous or bool(amb)
        total_bytes += int(nb or 0)
        # the first row of each key in the batch (cheap: no inverse), minus keys seen in
        # earlier batches, brings new strings; one join then numbers every row
        keys = batch["key"]
        first = keys.arg_unique().sort()  # first rows, in file order
        if n_seen:
            first = first.filter(~keys.gather(first).is_in(seen["key"].implode()))
        if first.len():
            new = batch.select("key", *NAME_COLUMNS)[first].select(
                "key", *_copy_strings(NAME_COLUMNS)
            )
            seen = pl.concat(
                [
                    seen,
                    new.select(
                        "key",
                        pl.int_range(n_seen, n_seen + new.height, dtype=pl.UInt32).alias("combo"),
                    ),
                ]
            )
            n_seen += new.height
            strings.append(new)
        events.append(
            batch.select("user", "ts", "key")
            .join(seen, on="key", how="left", maintain_order="left")
            .drop("key")
        )
        if any_bad:
            bads.append(
                batch.with_row_index("row", offset=offset)
                .filter(bad)
                .select(
                    "row",
                    pl.col("ts").is_not_null().alias("_parsed"),
                    (
                        pl.col("ts") < pl.lit(window[0]) if window is not None else pl.lit(False)
                    ).alias("_early"),
                    pl.col("_user_raw").alias("user"),
                    pl.col("_ts_raw").alias("ts"),
                    *NAME_COLUMNS,
                    _EXTRA,
                )
                .with_columns(_copy_strings((*COLUMNS, _EXTRA)))
            )
        offset += batch.height

    query.sink_batches(take, chunk_size=batch_rows, maintain_order=True)
    events_schema = {"user": pl.Categorical, "ts": TS_DTYPE, "combo": pl.UInt32}
    bad_schema = {"row": pl.UInt32, "_parsed": pl.Boolean, "_early": pl.Boolean} | {
        c: pl.String for c in (*COLUMNS, _EXTRA)
    }
    return _Pass(
        events=pl.concat(events) if events else pl.DataFrame(schema=events_schema),
        strings=pl.concat(strings)
        if strings
        else pl.DataFrame(schema={"key": pl.UInt64} | {c: pl.String for c in NAME_COLUMNS}),
        row_bad=pl.concat(bads) if bads else pl.DataFrame(schema=bad_schema),
        ambiguous=any_ambiguous,
        nbytes=total_bytes,
    )


def _is_utf8_error(exc: Exception) -> bool:
    return "utf-8" in str(exc).lower() or "utf8" in str(exc).lower()


def _file_shape(path: Path) -> tuple[int, bool]:
    """File size and whether it ends with a newline."""
    size = path.stat().st_size
    if size == 0:
        return 0, True
    with path.open("rb") as fh:
        fh.seek(size - 1)
        return size, fh.read(1) == b"\n"


def _scan_block(buf: bytes, first_line: int, out: list[Reject], final: bool) -> int:
    """Append the bad lines of ``buf`` (whole lines) to ``out``; return its line count."""
    a = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(a == 10)
    if final and buf and not buf.endswith(b"\n"):  # last line without a newline
        ends = np.append(ends, len(buf))
    n = len(ends)
    if n == 0:
        return 0
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    tabs = np.flatnonzero(a == 9)
    ntabs = np.searchsorted(tabs, ends) - np.searchsorted(tabs, starts)
    length = ends - starts
    # a trailing CR belongs to the line ending, not to the content
    has_cr = np.zeros(n, dtype=bool)
    nz = length > 0
    has_cr[nz] = a[ends[nz] - 1] == 13
    empty = (length - has_cr) == 0
    try:
        buf.decode("utf-8")
        bad_utf8: set[int] = set()
    except UnicodeDecodeError:
        bad_utf8 = set()
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            try:
                buf[s:e].decode("utf-8")
            except UnicodeDecodeError:
                bad_utf8.add(i)
    suspicious = np.flatnonzero(empty | (ntabs != 5))
    for i in sorted(set(suspicious.tolist()) | bad_utf8):
        raw = buf[starts[i] : ends[i]]
        if empty[i]:
            reason = REASON_EMPTY
        elif i in bad_utf8:
            reason = REASON_UTF8
        else:
            reason = reason_columns(int(ntabs[i]) + 1)
        out.append(Reject(first_line + i, reason, escape_content(raw)))
    return n


def scan_structure(path: Path) -> tuple[int, list[Reject]]:
    """Find structurally bad lines (column count, empty, invalid UTF-8) byte by byte.

    Parameters
    ----------
    path
        The log file.

    Returns
    -------
    tuple of (int, list of Reject)
        The number of physical lines and the rejected lines (1-based numbers).
    """
    rejects: list[Reject] = []
    n_lines = 0
    carry = b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(_SCAN_BLOCK)
            if not block:
                if carry:
                    n_lines += _scan_block(carry, n_lines + 1, rejects, final=True)
                break
            buf = carry + block if carry else block
            cut = buf.rfind(b"\n")
            if cut < 0:  # a line longer than the block: keep reading
                carry = buf
                continue
            n_lines += _scan_block(buf[: cut + 1], n_lines + 1, rejects, final=False)
            carry = buf[cut + 1 :]
    return n_lines, rejects


def read_log(path: Path, batch_rows: int = 2_000_000, window: Window | None = None) -> ParsedLog:
    """Parse a Last.fm-1K-layout log into hashed events, distinct name combos and rejects.

    Parameters
    ----------
    path
        The log (UTF-8, tab-separated, six columns, no header, no quoting).
    batch_rows
        Rows per streamed batch (memory vs. per-batch overhead).
    window
        ``(earliest, latest)`` plausible event times (timezone-aware); lines outside are
        rejected with :func:`reason_window`. None keeps every parsable time.

    Returns
    -------
    ParsedLog
        Kept events in file order, distinct name combinations and rejected lines.

    Raises
    ------
    InputDataError
        If the file does not exist, cannot be read or is compressed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"listening log {path} does not exist (or is not a file)")
    refuse_compressed(path)
    size, ends_nl = _file_shape(path)
    lossy = False
    try:
        try:
            parsed = _read_pass(path, lossy=False, batch_rows=batch_rows, window=window)
        except pl.exceptions.ComputeError as exc:
            if not _is_utf8_error(exc):
                raise InputDataError(f"{path}: cannot parse the log ({exc})") from exc
            logger.info("%s: invalid UTF-8 found; re-reading with replacement", path)
            lossy = True
            parsed = _read_pass(path, lossy=True, batch_rows=batch_rows, window=window)
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read the log ({exc})") from exc

    events = parsed.events
    n_rows = events.height
    accounted = parsed.nbytes + 6 * n_rows - (0 if ends_nl else 1)
    clean = (not lossy) and (not parsed.ambiguous) and (size == 0 or accounted == size)
    structural: list[Reject] = []
    n_lines = n_rows
    if not clean:
        logger.info("%s: structural problems suspected; scanning bytes", path)
        n_lines, structural = scan_structure(path)
        if n_lines != n_rows:
            raise MoodrecError(f"{path}: parser saw {n_rows} rows but the file has {n_lines} lines")
    bad_rows = pl.Series("row", [r.line - 1 for r in structural], dtype=pl.UInt32)
    row_bad = parsed.row_bad.filter(~pl.col("row").is_in(bad_rows.implode()))
    drop = pl.concat([bad_rows, row_bad["row"]])
    if drop.len():
        keep_rows = np.ones(n_rows, dtype=bool)
        keep_rows[drop.to_numpy()] = False
        events = events.filter(pl.Series(keep_rows))
    combo = events["combo"].to_numpy()
    n = np.bincount(combo, minlength=parsed.strings.height)
    combos = parsed.strings.with_columns(pl.Series("n", n, dtype=pl.Int64))
    if (n == 0).any():  # combinations seen only on rejected lines
        keep = n > 0
        renumber = (np.cumsum(keep) - 1).astype(np.uint32)
        combos = combos.filter(pl.Series(keep))
        events = events.with_columns(pl.Series("combo", renumber[combo], dtype=pl.UInt32))
    rejects = structural + _row_rejects(row_bad, window)
    rejects.sort(key=lambda r: r.line)
    return ParsedLog(events=events, combos=combos, rejects=rejects, n_lines=n_lines)


def _row_rejects(row_bad: pl.DataFrame, window: Window | None = None) -> list[Reject]:
    out = []
    for rec in row_bad.sort("row").iter_rows(named=True):
        fields = [rec[c] or "" for c in COLUMNS]
        if rec["user"] is None:
            reason = REASON_USER
        elif rec["_parsed"] and window is not None:
            reason = reason_window(window, bool(rec["_early"]))
        else:
            reason = REASON_TS
        out.append(Reject(rec["row"] + 1, reason, escape_content("\t".join(fields))))
    return out
