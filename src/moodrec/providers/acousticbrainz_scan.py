"""What the AcousticBrainz dumps say about wanted recordings: one row per recording MBID.

:func:`scan_dump` reads the files of :mod:`moodrec.providers.acousticbrainz_dump` (archives,
loose ``.json``/``.jsonl``/``.csv`` files and folders of them) and keeps only the wanted
MBIDs: the MBID comes from the member name (or a regex on a JSON line / the CSV's first
field) and is looked up in a set *before* any JSON is parsed, so the 29 million submissions
are never loaded. Several submissions of one MBID → their numbers averaged (or the lowest
offset's, ``combine="lowest_offset"``), text values and provenance of the lowest offset of
each kind (high-level, low-level, CSV), whatever the order in which the archives are read.
A member that cannot be parsed is reported by file and member name and skipped; a truncated
archive is reported and the next file read. :func:`parse_highlevel` and
:func:`parse_lowlevel` read one document; :data:`COLUMNS` is the per-recording table.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from moodrec.errors import InputDataError
from moodrec.providers.acousticbrainz_dump import (
    LOOSE_SUFFIXES,
    NAME,
    TAR_SUFFIXES,
    archive_errors,
    dump_files,
    iter_tar,
)

logger = logging.getLogger(__name__)

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
        if low.endswith(TAR_SUFFIXES):
            last = ""
            try:
                for name, read in iter_tar(path):
                    last = name
                    _scan_member(name, read, wanted, best, path.name, res)
            except archive_errors() as exc:
                # what was read before the damage is kept; the next file is read
                res.bad.append(
                    {"file": path.name, "member": last, "error": f"archive unreadable: {exc}"}
                )
                logger.warning("%s: %s unreadable after %r: %s", NAME, path.name, last, exc)
        elif low.endswith(LOOSE_SUFFIXES):
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
