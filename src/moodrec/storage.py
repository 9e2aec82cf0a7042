"""Atomic file writes, all-or-none stage outputs, content fingerprints and the manifest.

Every file moodrec writes goes to a temporary file in the target folder first and is
then renamed over the target (``os.replace`` is atomic on POSIX), so a crash or a bad
input never leaves a half-written checkpoint where a good one was.

A stage with several outputs writes them through :func:`stage_outputs`: every file goes to
a staging folder beside the outputs first and all of them are renamed into place only at
the end, so a failed stage leaves the previous outputs as they were, never a mix of old and
new files. A stage function decorated with :func:`with_stage_outputs` runs inside one.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import inspect
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from moodrec.errors import CatalogueError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

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


def _json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def _arrow_table(table: Any) -> pa.Table:
    return (
        table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
    )


def _parquet_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"compression": "zstd", **kwargs}


def write_json_atomic(target: Path | str, obj: Any) -> Path:
    """Write ``obj`` as sorted, indented JSON (byte-stable for equal input)."""
    return write_text_atomic(target, _json_text(obj))


def write_parquet_atomic(table: pa.Table, target: Path | str, **kwargs: Any) -> Path:
    """Write a pyarrow table as Parquet (zstd) atomically.

    Accepts a pandas DataFrame too (converted without its index).
    """
    with atomic_path(target) as tmp:
        pq.write_table(_arrow_table(table), tmp, **_parquet_options(kwargs))
    return Path(target)


# --- all-or-none stage outputs ---------------------------------------------------------

#: folder (inside a staging root) that holds the staging folders of running stages
STAGING_DIR = ".moodrec-staging"
_FILES = "files"  # the staged outputs, laid out as under the root
_JOURNAL = "commit.json"  # written once every output is staged: the stage's commit point
_LOCK = ".lock"  # flock'd by the stage for as long as it runs


class StagedOutputs:
    """A stage's outputs while it runs: files are written under a staging folder.

    Every writer takes the output's final path (under :attr:`root`) and returns it; the file
    is there only once :func:`stage_outputs` commits, so a stage must not read back what it
    wrote before the ``with`` block ends (read :meth:`path` instead).
    """

    def __init__(self, root: Path, folder: Path) -> None:
        self.root = root
        self.folder = folder
        self._files = folder / _FILES
        self._removals: list[str] = []

    def path(self, target: Path | str) -> Path:
        """Where to write ``target`` while the stage runs (its folder is created).

        For writers of their own (Polars, gensim, numpy). A folder target (the root itself
        included) works too: every file written under the returned folder is moved into
        ``target`` at the commit.
        """
        target = Path(target)
        try:
            rel = self._relative(target)
        except ValueError:
            raise CatalogueError(
                f"{target}: a stage output must lie under its staging root {self.root}"
            ) from None
        if rel.parts and rel.parts[0] == STAGING_DIR:
            raise CatalogueError(f"{target}: not a stage output path under {self.root}")
        staged = self._files / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    # the staging folder is the stage's own: files go straight to their staged path (no
    # temporary file and rename of their own; a rename costs ~3 ms on a busy overlay disk)
    def write_bytes(self, target: Path | str, data: bytes) -> Path:
        self.path(target).write_bytes(data)
        return Path(target)

    def write_text(self, target: Path | str, text: str) -> Path:
        return self.write_bytes(target, text.encode("utf-8"))

    def write_json(self, target: Path | str, obj: Any) -> Path:
        return self.write_text(target, _json_text(obj))

    def write_parquet(self, table: pa.Table, target: Path | str, **kwargs: Any) -> Path:
        pq.write_table(_arrow_table(table), self.path(target), **_parquet_options(kwargs))
        return Path(target)

    def remove(self, target: Path | str) -> None:
        """Delete ``target`` (if present) at the commit, after the new files are in place.

        For an output of an earlier run that must not outlive this one's.
        """
        self.path(target)  # checks that it lies under the root
        self._removals.append(str(self._relative(Path(target))))

    def _relative(self, target: Path) -> Path:
        return Path(os.path.abspath(target)).relative_to(self.root)

    def staged_files(self) -> list[str]:
        """Relative paths (under the root) of every file staged so far, sorted."""
        if not self._files.is_dir():
            return []
        return sorted(
            str(p.relative_to(self._files)) for p in self._files.rglob("*") if p.is_file()
        )


def _staging_root(dirs: tuple[Path | str, ...]) -> Path:
    if not dirs:
        raise CatalogueError("stage_outputs needs at least one output folder")
    return Path(os.path.commonpath([os.path.abspath(d) for d in dirs]))


def _try_lock(path: Path) -> int | None:
    """Take ``path``'s flock without waiting; ``None`` when missing or held elsewhere."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _move_staged(folder: Path, root: Path, journal: dict[str, list[str]]) -> None:
    """Rename each staged file over its target (each rename atomic), then delete the
    removals; safe to repeat."""
    files = folder / _FILES
    for rel in journal["files"]:
        staged = files / rel
        if staged.is_file():  # already moved by an interrupted commit otherwise
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
    for rel in journal["remove"]:
        (root / rel).unlink(missing_ok=True)


def _write_journal(folder: Path, journal: dict[str, list[str]]) -> None:
    path = folder / _JOURNAL
    tmp = folder / f".{_JOURNAL}.tmp"
    # no fsync, as in atomic_path: what this guards against is a process dying (kill -9, an
    # exception), whose written pages the kernel keeps; an fsync here cost ~70 ms a stage
    tmp.write_text(json.dumps(journal), encoding="utf-8")
    os.replace(tmp, path)


def _remove_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: another stage is staging there
        folder.rmdir()


def recover_staged(root: Path | str) -> list[str]:
    """Finish or undo what interrupted stages left in ``root``'s staging folder.

    A stage that died after its commit point (its journal written) is completed: the files
    it had not yet moved are moved into place, so the folder holds all of its new outputs.
    A stage that died before it is rolled back: its staging folder is removed and the
    previous outputs stay. Staging folders of stages still running (their lock held, by this
    process or another) are left alone.

    Returns
    -------
    list of str
        ``"completed <name>"`` / ``"rolled back <name>"`` per staging folder handled.
    """
    base = Path(root) / STAGING_DIR
    if not base.is_dir():
        return []
    done = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        fd = _try_lock(folder / _LOCK)
        if fd is None:  # running, or just being created (no lock file yet, nothing staged)
            continue
        try:
            if not folder.is_dir():  # its stage finished while we took the lock
                continue
            journal = folder / _JOURNAL
            if journal.is_file():
                entries = json.loads(journal.read_text(encoding="utf-8"))
                _move_staged(folder, Path(root), entries)
                done.append(f"completed {folder.name}")
                logger.warning(
                    "completed the interrupted commit of %s in %s (%d files)",
                    folder.name,
                    root,
                    len(entries["files"]),
                )
            else:
                done.append(f"rolled back {folder.name}")
                logger.warning(
                    "removed the staging folder of %s, a stage interrupted before it wrote "
                    "all of its outputs; the previous outputs in %s are unchanged",
                    folder.name,
                    root,
                )
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(fd)
    _remove_empty(base)
    return done


_ACTIVE = threading.local()  # this thread's open stage_outputs blocks, innermost last


def _open_stages() -> list[StagedOutputs]:
    if not hasattr(_ACTIVE, "stack"):
        _ACTIVE.stack = []
    return _ACTIVE.stack


def _enclosing(root: Path) -> StagedOutputs | None:
    """The innermost open stage of this thread whose root holds ``root``."""
    for staged in reversed(_open_stages()):
        if root == staged.root or staged.root in root.parents:
            return staged
    return None


def _new_staging_folder(root: Path, label: str) -> tuple[Path, int]:
    base = root / STAGING_DIR
    while True:
        base.mkdir(parents=True, exist_ok=True)
        try:
            safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)
            folder = Path(tempfile.mkdtemp(prefix=f"{safe}-", dir=base))
            fd = os.open(folder / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:  # another stage removed the empty base meanwhile
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        return folder, fd


@contextlib.contextmanager
def stage_outputs(*dirs: Path | str, label: str = "stage") -> Iterator[StagedOutputs]:
    """Write a stage's outputs all or none.

    Yields a :class:`StagedOutputs` whose writers put files in a staging folder under the
    common parent of ``dirs`` (``<root>/.moodrec-staging/<label>-*``: the same file system,
    so every move is a rename). When the block ends without an exception, the list of
    staged files is journalled (the commit point) and each file is renamed over its target;
    then the staging folder is removed. On an exception the staging folder is removed and
    the previous outputs stay exactly as they were. A commit cut short (``kill -9``) is
    completed by :func:`recover_staged`, which runs first on the next start of any
    stage under the same root (or a folder below it); a stage cut short before its commit
    is rolled back there.

    A block opened inside another one of the same thread whose root holds this one's joins
    it: its files are committed with the enclosing stage's (a task that writes a summary
    beside a stage's tables wraps both). Fingerprints and manifest entries are taken by the
    callers after the outermost block, so they always describe files in place.

    Parameters
    ----------
    dirs
        The folders the stage writes into (one or more; their common parent is the root).
    label
        The stage's name, for the staging folder's name and log messages.

    Raises
    ------
    CatalogueError
        An output outside the root.
    """
    root = _staging_root(dirs)
    enclosing = _enclosing(root)
    if enclosing is not None:
        yield enclosing
        return
    for folder in (root, *root.parents):  # a stage under a crashed one's root finishes it
        recover_staged(folder)
    folder, fd = _new_staging_folder(root, label)
    staged = StagedOutputs(root, folder)
    committed = False
    _open_stages().append(staged)
    try:
        yield staged
        journal = {"files": staged.staged_files(), "remove": staged._removals}
        _write_journal(folder, journal)
        committed = True
        _move_staged(folder, root, journal)
        shutil.rmtree(folder)
    except BaseException:
        if not committed:
            shutil.rmtree(folder, ignore_errors=True)
        # a commit that failed while moving keeps its journal: the next start completes it
        raise
    finally:
        _open_stages().remove(staged)
        os.close(fd)
        _remove_empty(root / STAGING_DIR)


def with_stage_outputs(
    label: str, dirs: Callable[..., Iterable[Path | str]]
) -> Callable[[Callable[Concatenate[StagedOutputs, P], R]], Callable[P, R]]:
    """Make a stage body ``f(staging, *args)`` the function ``f(*args)``, written all or none.

    Each call opens :func:`stage_outputs` over ``dirs(**arguments)`` (the call's arguments
    by name, defaults included) and runs the body with the yielded :class:`StagedOutputs`
    first, so a stage states its parameters once instead of in a public wrapper and again
    in a private body::

        @with_stage_outputs("ingest", dirs=lambda out_dir, **_: [out_dir])
        def write_tables(staging: StagedOutputs, frame: pd.DataFrame, out_dir: Path) -> Path:
            return staging.write_parquet(frame, out_dir / "table.parquet")

        write_tables(frame, out_dir)  # the signature callers see has no ``staging``

    Parameters
    ----------
    label
        The stage's name (:func:`stage_outputs`).
    dirs
        The folders the stage writes into, from the call's arguments.
    """

    def decorate(body: Callable[Concatenate[StagedOutputs, P], R]) -> Callable[P, R]:
        signature = inspect.signature(body)
        public = signature.replace(parameters=list(signature.parameters.values())[1:])

        @functools.wraps(body)
        def stage(*args: P.args, **kwargs: P.kwargs) -> R:
            call = public.bind(*args, **kwargs)
            call.apply_defaults()
            with stage_outputs(*dirs(**call.arguments), label=label) as staging:
                return body(staging, *args, **kwargs)

        stage.__signature__ = public  # type: ignore[attr-defined]
        return stage

    return decorate


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


#: read-modify-write of a manifest by the threads of this process, one at a time
_MANIFEST_WRITE = threading.RLock()


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
        with _MANIFEST_WRITE:
            data = self._read()
            data["provenance"] = provenance
            write_json_atomic(self.path, data)

    def record(self, refs: list[DatasetRef]) -> None:
        """Add or replace entries, then rewrite the manifest atomically (provenance kept).

        Tasks running in threads of one process (concurrent task runs) record in turn, so
        none loses another's entries between its read and its write.
        """
        with _MANIFEST_WRITE:
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
