"""``acousticbrainz_dump`` provider: per-recording moods and rhythm from the AcousticBrainz dumps.

AcousticBrainz (CC0) closed in 2022 and published final dumps (layout recorded in
``tests/fixtures/acousticbrainz/SOURCE.txt``, from ``acousticbrainz-server/db/dump.py``):

* ``acousticbrainz-{highlevel,lowlevel}-json-20220623-<part>.tar.zst``: zstandard tar
  archives whose members are ``<dir>/{highlevel,lowlevel}/<mbid[0:2]>/<mbid[2]>/<mbid>-<n>.json``
  (``n``: the submission offset among duplicates of one MBID; offset 0 always exists);
* ``acousticbrainz-lowlevel-features-20220623-{lowlevel,rhythm,tonal}.tar.zst``: one CSV
  each, ``mbid,submission_offset,<features>``.

:func:`scan_dump` streams any of these (``.tar.zst`` through ``zstandard``, or the ``zstd``
command where the package is missing, and tarfile's stream mode; plain or gzip/bz2/xz
``.tar``; loose ``.json``/``.jsonl``/``.csv`` files and folders of them) and keeps only
the wanted MBIDs: the MBID comes from the member name (or a regex on a JSON line / the
CSV's first field) and is looked up in a set *before* any JSON is parsed, so the 29
million submissions are never loaded. Several submissions of one MBID
→ their numbers averaged (or the lowest offset's, ``combine="lowest_offset"``), text values
and provenance of the lowest offset of each kind (high-level, low-level, CSV), whatever the
order in which the archives are read. A member that cannot be parsed is reported by file
and member name and skipped; a truncated archive is reported and the next file read.

:class:`AcousticBrainzDump` is the enrich provider: :meth:`~AcousticBrainzDump.prepare`
scans once per catalogue (the extract is cached on disk, keyed by the dump files and the
MBID set) and :meth:`~AcousticBrainzDump.lookup` answers per recording MBID.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from moodrec.errors import InputDataError
from moodrec.providers.acousticbrainz_mood import spotify_shaped_features
from moodrec.providers.base import LookupResult
from moodrec.providers.config import AcousticBrainzDumpConfig
from moodrec.storage import write_json_atomic, write_parquet_atomic

logger = logging.getLogger(__name__)

NAME = "acousticbrainz_dump"
#: bumped when the extract's columns or selection rule change (old extracts are not reused)
EXTRACT_VERSION = "1"

#: binary high-level classifiers → the class whose probability is kept (column = model name)
BINARY_MODELS: dict[str, str] = {
    "mood_happy": "happy",
    "mood_sad": "sad",
    "mood_relaxed": "relaxed",
    "mood_aggressive": "aggressive",
    "mood_party": "party",
    "mood_acoustic": "acoustic",
    "mood_electronic": "electronic",
    "danceability": "danceable",
    "voice_instrumental": "instrumental",
    "tonal_atonal": "tonal",
}
#: multi-class classifiers whose winning class is kept (a string column)
VALUE_MODELS: tuple[str, ...] = ("genre_rosamerica", "genre_dortmund", "moods_mirex")
#: low-level descriptors kept: column → path in the low-level document
LOWLEVEL_FIELDS: dict[str, tuple[str, str]] = {
    "bpm": ("rhythm", "bpm"),
    "rhythm_danceability": ("rhythm", "danceability"),
    "key_key": ("tonal", "key_key"),
    "key_scale": ("tonal", "key_scale"),
    "average_loudness": ("lowlevel", "average_loudness"),
    "dynamic_complexity": ("lowlevel", "dynamic_complexity"),
}
#: CSV feature-dump columns → extract column
CSV_FIELDS: dict[str, str] = {
    "bpm": "bpm",
    "danceability": "rhythm_danceability",
    "key_key": "key_key",
    "key_scale": "key_scale",
    "average_loudness": "average_loudness",
    "dynamic_complexity": "dynamic_complexity",
}
_STRING_COLUMNS = ("key_key", "key_scale", *VALUE_MODELS)
#: the integer columns of the per-recording table
INT_COLUMNS: tuple[str, ...] = ("submission_offset", "n_submissions")
#: the text columns of the per-recording table (the others are floats)
STRING_COLUMNS: tuple[str, ...] = (
    "mbid",
    *_STRING_COLUMNS,
    "highlevel_file",
    "highlevel_member",
    "lowlevel_file",
    "lowlevel_member",
)
#: every column of the per-recording table, in order
COLUMNS: tuple[str, ...] = (
    "mbid",
    "submission_offset",
    "n_submissions",
    *BINARY_MODELS,
    *VALUE_MODELS,
    *LOWLEVEL_FIELDS,
    "highlevel_file",
    "highlevel_member",
    "lowlevel_file",
    "lowlevel_member",
)

_MBID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_MEMBER_RE = re.compile(rf"(?:^|/)({_MBID})(?:-(\d+))?\.json$")
_LINE_MBID_RE = re.compile(
    rf'"(?:mbid|recording_mbid|musicbrainz_recordingid)"\s*:\s*\[?\s*"({_MBID})"'
)
_LINE_OFFSET_RE = re.compile(r'"submission_offset"\s*:\s*(\d+)')
_TAR_SUFFIXES = (".tar", ".tar.zst", ".tar.zstd", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
_LOOSE_SUFFIXES = (".json", ".jsonl", ".csv")


@dataclass
class ScanResult:
    """What a scan kept and what it could not read.

    Attributes
    ----------
    table
        One row per kept MBID, columns :data:`COLUMNS` (NaN/None where a kind is absent).
    bad
        ``{"file", "member", "error"}`` per unreadable member or truncated archive.
    n_members
        Recording files/lines/rows seen (kept or not).
    n_matched
        Of those, how many belonged to a wanted MBID.
    """

    table: pd.DataFrame
    bad: list[dict[str, str]] = field(default_factory=list)
    n_members: int = 0
    n_matched: int = 0


@dataclass
class _Best:
    """Per MBID and kind: the lowest-offset submission, and running sums for ``mean``."""

    combine: str = "mean"
    kept: dict[tuple[str, str], tuple[int, str, str, dict[str, Any]]] = field(default_factory=dict)
    sums: dict[tuple[str, str], dict[str, list[float]]] = field(default_factory=dict)
    offsets: dict[str, set[int]] = field(default_factory=dict)

    def offer(self, mbid: str, kind: str, offset: int, src: str, member: str, values: dict) -> None:
        self.offsets.setdefault(mbid, set()).add(offset)
        key = (mbid, kind)
        old = self.kept.get(key)
        # lowest offset wins; ties (the same offset in two files) by file, then member name
        if old is None or (offset, src, member) < old[:3]:
            self.kept[key] = (offset, src, member, values)
        if self.combine == "mean":
            acc = self.sums.setdefault(key, {})
            for col, v in values.items():
                if isinstance(v, float) and not math.isnan(v):
                    a = acc.setdefault(col, [0.0, 0.0])
                    a[0] += v
                    a[1] += 1.0

    def values(self, key: tuple[str, str]) -> dict[str, Any]:
        """The kept values: the lowest offset's, numbers averaged over submissions (``mean``).

        Sums run in file/member order, so the mean can differ in the last bits between
        reading orders; it is rounded to 12 significant digits.
        """
        out = dict(self.kept[key][3])
        for col, (total, count) in self.sums.get(key, {}).items():
            out[col] = float(f"{total / count:.12g}")
        return out


def dump_files(paths: Iterable[Path | str]) -> list[Path]:
    """The dump files under ``paths`` (files or folders, searched recursively), sorted.

    Raises
    ------
    InputDataError
        A path does not exist.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise InputDataError(f"{NAME}: {p} does not exist")
        if p.is_dir():
            out.extend(
                f
                for f in sorted(p.rglob("*"))
                if f.is_file() and f.name.lower().endswith(_TAR_SUFFIXES + _LOOSE_SUFFIXES)
            )
        else:
            out.append(p)
    return sorted(dict.fromkeys(out))


def _open_tar(path: Path) -> tuple[tarfile.TarFile, list[Any]]:
    """A stream-mode tar reader of ``path`` (zstandard-decompressed for ``.zst``).

    ``.zst`` goes through the ``zstandard`` package, or the ``zstd`` command when the
    package is not installed (same bytes out; a failed command is reported at close).
    """
    if not path.name.lower().endswith((".zst", ".zstd")):
        fh = path.open("rb")
        return tarfile.open(fileobj=fh, mode="r|*"), [fh]
    try:
        import zstandard
    except ImportError:
        if shutil.which("zstd") is None:
            raise InputDataError(
                f"{NAME}: {path.name} is zstandard-compressed; install the zstandard package"
            ) from None
        proc = subprocess.Popen(["zstd", "-dcq", str(path)], stdout=subprocess.PIPE)
        return tarfile.open(fileobj=proc.stdout, mode="r|"), [_ZstdProcess(proc, path)]
    fh = path.open("rb")
    reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
    return tarfile.open(fileobj=reader, mode="r|"), [reader, fh]


class _ZstdProcess:
    """Closes a ``zstd -dc`` pipe; a non-zero exit (a damaged file) is an archive error."""

    def __init__(self, proc: subprocess.Popen[bytes], path: Path) -> None:
        self.proc, self.path = proc, path

    def close(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        code = self.proc.wait()
        if code not in (0, -13):  # -13: SIGPIPE, we stopped reading early
            raise tarfile.ReadError(f"zstd exited with {code} on {self.path.name}")


def _archive_errors() -> tuple[type[BaseException], ...]:
    """Errors of a truncated or corrupt archive (``zstandard.ZstdError`` is no OSError)."""
    errors: tuple[type[BaseException], ...] = (tarfile.TarError, OSError, EOFError)
    try:
        import zstandard
    except ImportError:
        return errors
    return (*errors, zstandard.ZstdError)


def _iter_tar(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """``(member name, read)`` of every regular member, in archive order (streamed)."""
    tar, handles = _open_tar(path)
    try:
        for member in tar:
            if not member.isfile():
                continue

            def read(m: tarfile.TarInfo = member) -> bytes:
                f = tar.extractfile(m)
                return f.read() if f is not None else b""

            yield member.name, read
    finally:
        tar.close()
        for h in handles:
            h.close()


def _num(value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def parse_highlevel(doc: dict[str, Any]) -> dict[str, Any]:
    """The kept values of one high-level document (``{"highlevel": {model: {...}}, ...}``).

    A binary model gives the probability of its kept class (``all[class]``; or
    ``probability`` / ``1 - probability`` by ``value`` when ``all`` is absent).

    Raises
    ------
    KeyError
        The document has no ``highlevel`` dict.
    """
    hl = doc["highlevel"]
    if not isinstance(hl, dict):
        raise KeyError("highlevel is not an object")
    out: dict[str, Any] = {}
    for model, cls in BINARY_MODELS.items():
        m = hl.get(model)
        p = math.nan
        if isinstance(m, dict):
            probs = m.get("all")
            if isinstance(probs, dict) and cls in probs:
                p = _num(probs[cls])
            elif "probability" in m:
                q = _num(m["probability"])
                p = q if m.get("value") == cls else 1.0 - q
        out[model] = p
    for model in VALUE_MODELS:
        m = hl.get(model)
        out[model] = str(m["value"]) if isinstance(m, dict) and "value" in m else None
    return out


def parse_lowlevel(doc: dict[str, Any]) -> dict[str, Any]:
    """The kept descriptors of one low-level document (:data:`LOWLEVEL_FIELDS`).

    Raises
    ------
    KeyError
        The document has none of ``rhythm``, ``tonal``, ``lowlevel``.
    """
    if not any(isinstance(doc.get(s), dict) for s in ("rhythm", "tonal", "lowlevel")):
        raise KeyError("no rhythm/tonal/lowlevel section")
    out: dict[str, Any] = {}
    for col, (section, key) in LOWLEVEL_FIELDS.items():
        value = (doc.get(section) or {}).get(key)
        if col in _STRING_COLUMNS:
            out[col] = str(value) if value not in (None, "") else None
        else:
            out[col] = _num(value)
    return out


def _offer_doc(
    best: _Best, doc: Any, mbid: str, offset: int, kind_hint: str | None, src: str, member: str
) -> None:
    if not isinstance(doc, dict):
        raise KeyError("not a JSON object")
    kind = kind_hint or ("highlevel" if "highlevel" in doc else "lowlevel")
    if kind == "highlevel":
        best.offer(mbid, "highlevel", offset, src, member, parse_highlevel(doc))
    else:
        best.offer(mbid, "lowlevel", offset, src, member, parse_lowlevel(doc))


def _kind_of(name: str) -> str | None:
    parts = name.replace("\\", "/").split("/")
    for kind in ("highlevel", "lowlevel"):
        if kind in parts[:-1]:
            return kind
    return None


def _scan_csv(
    text: IO[str], wanted: set[str] | None, best: _Best, src: str, member: str, res: ScanResult
) -> None:
    """A feature-dump CSV (``mbid,submission_offset,...``): wanted rows only, by first field."""
    reader = csv.reader(text)
    header = next(reader, None)
    if not header or header[0] != "mbid":
        res.bad.append({"file": src, "member": member, "error": "CSV without an mbid column"})
        return
    cols = [(i, CSV_FIELDS[h]) for i, h in enumerate(header) if h in CSV_FIELDS]
    off_col = header.index("submission_offset") if "submission_offset" in header else None
    kind = "csv:" + ",".join(sorted(c for _, c in cols))
    for row in reader:
        res.n_members += 1
        if not row:
            continue
        mbid = row[0].strip().lower()
        if wanted is not None and mbid not in wanted:
            continue
        res.n_matched += 1
        try:
            offset = int(row[off_col]) if off_col is not None else 0
            values = {
                c: (row[i] or None) if c in _STRING_COLUMNS else _num(row[i]) for i, c in cols
            }
        except (ValueError, IndexError) as exc:
            res.bad.append({"file": src, "member": f"{member}:{mbid}", "error": str(exc)})
            continue
        best.offer(mbid, kind, offset, src, member, values)


def _scan_jsonl(
    text: IO[str], wanted: set[str] | None, best: _Best, src: str, member: str, res: ScanResult
) -> None:
    """One document per line, each naming its MBID (``mbid`` or the recording-id tag)."""
    for lineno, line in enumerate(text, 1):
        if not line.strip():
            continue
        res.n_members += 1
        m = _LINE_MBID_RE.search(line)
        if m is None:
            res.bad.append({"file": src, "member": f"{member}:{lineno}", "error": "no MBID"})
            continue
        mbid = m.group(1).lower()
        if wanted is not None and mbid not in wanted:
            continue
        res.n_matched += 1
        off = _LINE_OFFSET_RE.search(line)
        try:
            _offer_doc(
                best, json.loads(line), mbid, int(off.group(1)) if off else 0, None, src, member
            )
        except (ValueError, KeyError, TypeError) as exc:
            res.bad.append({"file": src, "member": f"{member}:{lineno}", "error": str(exc)})


def _scan_member(
    name: str,
    read: Callable[[], bytes],
    wanted: set[str] | None,
    best: _Best,
    src: str,
    res: ScanResult,
) -> None:
    low = name.lower()
    if low.endswith(".csv"):
        with io.TextIOWrapper(io.BytesIO(read()), encoding="utf-8", newline="") as t:
            _scan_csv(t, wanted, best, src, name, res)
        return
    if low.endswith(".jsonl"):
        with io.TextIOWrapper(io.BytesIO(read()), encoding="utf-8") as t:
            _scan_jsonl(t, wanted, best, src, name, res)
        return
    m = _MEMBER_RE.search(name)
    if m is None:
        return  # COPYING, README, ...: not a recording
    res.n_members += 1
    mbid = m.group(1).lower()
    if wanted is not None and mbid not in wanted:
        return  # the set lookup, before anything is read or parsed
    res.n_matched += 1
    try:
        doc = json.loads(read())
        _offer_doc(best, doc, mbid, int(m.group(2) or 0), _kind_of(name), src, name)
    except (ValueError, KeyError, TypeError) as exc:
        res.bad.append({"file": src, "member": name, "error": f"{type(exc).__name__}: {exc}"})
        logger.warning("%s: %s in %s skipped: %s", NAME, name, src, exc)


def scan_dump(
    paths: Iterable[Path | str], mbids: Iterable[str] | None = None, combine: str = "mean"
) -> ScanResult:
    """Stream the dump files under ``paths``; one row per wanted MBID found.

    Parameters
    ----------
    paths
        Dump files or folders (see the module docstring for the formats).
    mbids
        Recording MBIDs to keep (case-insensitive); ``None`` keeps every recording.
    combine
        Several submissions of one MBID: ``mean`` averages every number (probabilities,
        bpm, loudness) over them, ``lowest_offset`` keeps the lowest offset's; text values
        (key, scale, winning genre) and the file/member provenance are always the lowest
        offset's.

    Returns
    -------
    ScanResult
        ``table`` columns :data:`COLUMNS`: the kept classifier probabilities and
        descriptors, ``submission_offset`` (of the high-level document, else the low-level
        one), ``n_submissions`` (distinct offsets seen), and the file and member each came
        from. Bad members are listed in ``bad``, never raised.

    Raises
    ------
    InputDataError
        A path does not exist.
    """
    wanted = None if mbids is None else {m.strip().lower() for m in mbids if m}
    if combine not in ("mean", "lowest_offset"):
        raise InputDataError(f"{NAME}: unknown combine rule {combine!r} (mean, lowest_offset)")
    best = _Best(combine=combine)
    res = ScanResult(table=pd.DataFrame(columns=list(COLUMNS)))
    for path in dump_files(paths):
        low = path.name.lower()
        if low.endswith(_TAR_SUFFIXES):
            last = ""
            try:
                for name, read in _iter_tar(path):
                    last = name
                    _scan_member(name, read, wanted, best, path.name, res)
            except _archive_errors() as exc:
                # what was read before the damage is kept; the next file is read
                res.bad.append(
                    {"file": path.name, "member": last, "error": f"archive unreadable: {exc}"}
                )
                logger.warning("%s: %s unreadable after %r: %s", NAME, path.name, last, exc)
        elif low.endswith(_LOOSE_SUFFIXES):
            _scan_member(str(path), path.read_bytes, wanted, best, path.name, res)
    res.table = _assemble(best)
    logger.info(
        "%s: %d recordings kept of %d seen (%d bad members)",
        NAME,
        len(res.table),
        res.n_members,
        len(res.bad),
    )
    return res


def _assemble(best: _Best) -> pd.DataFrame:
    rows: dict[str, dict[str, Any]] = {}
    csv_rows: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for (mbid, kind), (offset, src, member, _) in sorted(best.kept.items()):
        values = best.values((mbid, kind))
        row = rows.setdefault(mbid, {"mbid": mbid})
        if kind == "highlevel":
            row.update(
                values, submission_offset=offset, highlevel_file=src, highlevel_member=member
            )
        elif kind == "lowlevel":
            row.update(values, lowlevel_file=src, lowlevel_member=member)
            row.setdefault("_ll_offset", offset)
        else:
            csv_rows.setdefault(mbid, []).append((offset, values))
    for mbid, parts in csv_rows.items():
        # the feature CSVs fill descriptors that no low-level document gave
        row = rows[mbid]
        for _, values in sorted(parts, key=lambda t: t[0]):
            for col, v in values.items():
                cur = row.get(col)
                if cur is None or (isinstance(cur, float) and math.isnan(cur)):
                    row[col] = v
            row.setdefault("_ll_offset", parts[0][0])
            row.setdefault("lowlevel_file", "feature csv")
    out = []
    for mbid in sorted(rows):
        row = rows[mbid]
        offset = row.pop("submission_offset", None)
        ll_offset = row.pop("_ll_offset", None)
        row["submission_offset"] = offset if offset is not None else ll_offset
        row["n_submissions"] = len(best.offsets.get(mbid, ()))
        out.append(row)
    table = pd.DataFrame(out, columns=list(COLUMNS))
    for c in COLUMNS:
        if c in ("mbid", "highlevel_file", "highlevel_member", "lowlevel_file", "lowlevel_member"):
            table[c] = table[c].astype(object)
        elif c in _STRING_COLUMNS:
            table[c] = table[c].astype(object).where(table[c].notna(), None)
        elif c in ("submission_offset", "n_submissions"):
            table[c] = table[c].fillna(0).astype(np.int64)
        else:
            table[c] = table[c].astype(np.float64)
    return table


def dump_fingerprint(files: list[Path]) -> str:
    """A hash of the dump files' names, sizes and modification times (cheap, no reading)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(EXTRACT_VERSION.encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class AcousticBrainzDump:
    """The enrich provider over a set of AcousticBrainz dump files (no network)."""

    name = NAME

    def __init__(self, cfg: AcousticBrainzDumpConfig) -> None:
        self.cfg = cfg
        self.files = dump_files(cfg.paths)
        if not self.files:
            raise InputDataError(f"{NAME}: no dump file under {[str(p) for p in cfg.paths]}")
        self._index: dict[str, dict[str, Any]] | None = None
        self.extract_path: Path | None = None
        self.report: dict[str, Any] = {}

    def prepare(self, mbids: Iterable[str], work_dir: Path | str) -> Path:
        """Scan the dump once for ``mbids`` (or reuse the extract a previous run wrote).

        The extract ``<work_dir>/acousticbrainz_<hash>.parquet`` (+ ``.json`` report) is
        keyed by the dump files (names, sizes, times) and the sorted MBID set.
        """
        wanted = sorted({m.strip().lower() for m in mbids if m and str(m).strip()})
        h = hashlib.blake2b(digest_size=8)
        h.update(dump_fingerprint(self.files).encode())
        h.update(self.cfg.submissions.encode())
        h.update("\n".join(wanted).encode())
        path = Path(work_dir) / f"acousticbrainz_{h.hexdigest()}.parquet"
        report_path = path.with_suffix(".json")
        if path.is_file() and report_path.is_file():
            table = pd.read_parquet(path)
            self.report = json.loads(report_path.read_text())
        else:
            res = scan_dump(self.files, wanted, self.cfg.submissions)
            table = res.table
            self.report = {
                "files": [f.name for f in self.files],
                "n_wanted": len(wanted),
                "n_members": res.n_members,
                "n_matched": res.n_matched,
                "n_kept": len(table),
                "n_bad": len(res.bad),
                "bad": res.bad[:100],
            }
            write_parquet_atomic(pa.Table.from_pandas(table, preserve_index=False), path)
            write_json_atomic(report_path, self.report)
        # NaN (a kind or descriptor absent) becomes None: null in the enrich tables
        self._index = {
            r["mbid"]: {
                k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()
            }
            for r in table.to_dict(orient="records")
        }
        self.extract_path = path
        return path

    def lookup(self, mbid: str | None) -> LookupResult:
        """The recording's kept values and Spotify-shaped features (see
        :func:`~moodrec.providers.acousticbrainz_mood.spotify_shaped_features`).

        Raises
        ------
        InputDataError
            :meth:`prepare` was not called first.
        """
        if self._index is None:
            raise InputDataError(f"{NAME}: lookup before prepare() (the dump was not scanned)")
        if not mbid:
            return LookupResult("not_found")
        rec = self._index.get(mbid.strip().lower())
        if rec is None:
            return LookupResult("not_found")
        return LookupResult(
            "found",
            {"features": spotify_shaped_features(rec, self.cfg.mood_mapping), "record": rec},
        )
