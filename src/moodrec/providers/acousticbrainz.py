"""``acousticbrainz_dump`` provider: per-recording moods and rhythm from the AcousticBrainz dumps.

The dump files and their layout: :mod:`moodrec.providers.acousticbrainz_dump`; what is kept
of them, per recording MBID: :mod:`moodrec.providers.acousticbrainz_scan`.

:class:`AcousticBrainzDump` is the enrich provider: :meth:`~AcousticBrainzDump.prepare`
scans once per catalogue (the extract is cached on disk, keyed by the dump files and the
MBID set) and :meth:`~AcousticBrainzDump.lookup` answers per recording MBID.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from moodrec.errors import InputDataError
from moodrec.providers.acousticbrainz_dump import NAME, dump_files
from moodrec.providers.acousticbrainz_mood import spotify_shaped_features
from moodrec.providers.acousticbrainz_scan import scan_dump
from moodrec.providers.base import LookupResult
from moodrec.providers.config import AcousticBrainzDumpConfig
from moodrec.storage import write_json_atomic, write_parquet_atomic

#: bumped when the extract's columns or selection rule change (old extracts are not reused)
EXTRACT_VERSION = "1"


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
