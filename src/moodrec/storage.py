"""Atomic file writes, content fingerprints and the dataset manifest.

Every file moodrec writes goes to a temporary file in the target folder first and is
then renamed over the target (``os.replace`` is atomic on POSIX), so a crash or a bad
input never leaves a half-written checkpoint where a good one was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from moodrec.errors import CatalogueError

_CHUNK = 1 << 22  # 4 MiB reads keep hashing I/O-bound


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600 files; give checkpoints the usual umask-based permissions
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(target: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text_atomic(target: Path | str, text: str) -> Path:
    """Write UTF-8 ``text`` to ``target`` atomically and return the path."""
    return write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: Path | str, obj: Any) -> Path:
    """Write ``obj`` as sorted, indented JSON (byte-stable for equal input)."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    return write_text_atomic(target, text)


def write_parquet_atomic(table: pa.Table, target: Path | str, **kwargs: Any) -> Path:
    """Write a pyarrow table as Parquet (zstd) atomically.

    Accepts a pandas DataFrame too (converted without its index).
    """
    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    kwargs.setdefault("compression", "zstd")
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, **kwargs)
    return Path(target)


def fingerprint_file(path: Path | str) -> str:
    """Content fingerprint of a file: ``blake2b-128`` hex digest of its bytes."""
    path = Path(path)
    if not path.is_file():
        raise CatalogueError(f"cannot fingerprint {path}: no such file")
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint_files(paths: list[Path]) -> str:
    """One fingerprint over several files (names and contents, order-independent)."""
    digest = hashlib.blake2b(digest_size=16)
    for p in sorted(Path(x) for x in paths):
        digest.update(p.name.encode())
        digest.update(fingerprint_file(p).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class DatasetRef:
    """A dataset on disk: what tasks pass to each other instead of large frames."""

    name: str
    path: str
    fingerprint: str
    rows: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Manifest:
    """``manifest.json`` in a data folder: dataset name → path, fingerprint, rows.

    Paths are stored relative to the manifest's folder so a data folder can move.
    """

    FILENAME = "manifest.json"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.path = self.root / self.FILENAME

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise CatalogueError(f"{self.path}: manifest is not valid JSON ({exc})") from exc

    def load(self) -> dict[str, dict[str, Any]]:
        return dict(self._read().get("datasets", {}))

    def provenance(self) -> dict[str, Any]:
        """What made this folder's outputs (``moodrec.runs.provenance``); empty if unknown."""
        return dict(self._read().get("provenance", {}))

    def set_provenance(self, provenance: dict[str, Any]) -> None:
        """Record the provenance of the run that wrote this folder (datasets kept)."""
        data = self._read()
        data["provenance"] = provenance
        write_json_atomic(self.path, data)

    def record(self, refs: list[DatasetRef]) -> None:
        """Add or replace entries, then rewrite the manifest atomically (provenance kept)."""
        data = self._read()
        datasets = dict(data.get("datasets", {}))
        for ref in refs:
            entry = ref.to_dict()
            p = Path(ref.path)
            with contextlib.suppress(ValueError):
                entry["path"] = str(p.resolve().relative_to(self.root.resolve()))
            datasets[ref.name] = entry
        write_json_atomic(self.path, {**data, "datasets": datasets})

    def get(self, name: str) -> DatasetRef:
        datasets = self.load()
        if name not in datasets:
            known = ", ".join(sorted(datasets)) or "none"
            raise CatalogueError(f"{self.path}: no dataset named {name!r} (known: {known})")
        entry = dict(datasets[name])
        p = Path(entry["path"])
        entry["path"] = str(p if p.is_absolute() else self.root / p)
        return DatasetRef(**entry)


def parquet_rows(path: Path | str) -> int:
    """Row count from a Parquet file's footer (no data read)."""
    return pq.ParquetFile(path).metadata.num_rows


def describe_file(name: str, path: Path | str) -> DatasetRef:
    """Fingerprint a written file and return its ``DatasetRef`` (rows for Parquet)."""
    path = Path(path)
    rows = parquet_rows(path) if path.suffix == ".parquet" else None
    return DatasetRef(name=name, path=str(path), fingerprint=fingerprint_file(path), rows=rows)
