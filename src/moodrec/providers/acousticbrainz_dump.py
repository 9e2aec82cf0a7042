"""Reading the AcousticBrainz dump files: finding them and streaming their members.

AcousticBrainz (CC0) closed in 2022 and published final dumps (layout recorded in
``tests/fixtures/acousticbrainz/SOURCE.txt``, from ``acousticbrainz-server/db/dump.py``):

* ``acousticbrainz-{highlevel,lowlevel}-json-20220623-<part>.tar.zst``: zstandard tar
  archives whose members are ``<dir>/{highlevel,lowlevel}/<mbid[0:2]>/<mbid[2]>/<mbid>-<n>.json``
  (``n``: the submission offset among duplicates of one MBID; offset 0 always exists);
* ``acousticbrainz-lowlevel-features-20220623-{lowlevel,rhythm,tonal}.tar.zst``: one CSV
  each, ``mbid,submission_offset,<features>``.

:func:`dump_files` lists the dump files under files or folders; :func:`iter_tar` streams an
archive's members (``.tar.zst`` through ``zstandard``, or the ``zstd`` command where the
package is missing, and tarfile's stream mode; plain or gzip/bz2/xz ``.tar``), reading a
member only when asked. What the members say is :mod:`moodrec.providers.acousticbrainz_scan`.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from moodrec.errors import InputDataError

#: the provider's name (also the prefix of its messages)
NAME = "acousticbrainz_dump"
TAR_SUFFIXES = (".tar", ".tar.zst", ".tar.zstd", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
LOOSE_SUFFIXES = (".json", ".jsonl", ".csv")


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
                if f.is_file() and f.name.lower().endswith(TAR_SUFFIXES + LOOSE_SUFFIXES)
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


def archive_errors() -> tuple[type[BaseException], ...]:
    """Errors of a truncated or corrupt archive (``zstandard.ZstdError`` is no OSError)."""
    errors: tuple[type[BaseException], ...] = (tarfile.TarError, OSError, EOFError)
    try:
        import zstandard
    except ImportError:
        return errors
    return (*errors, zstandard.ZstdError)


def iter_tar(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
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
