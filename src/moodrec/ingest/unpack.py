"""Safe unpacking of downloaded archives: member checks, caps against archive bombs, member MD5.

Tar (plain, gz, bz2, xz) and zip. :func:`check_archive` refuses absolute paths, ``..``
components, links pointing outside the target and device files before anything is
written. :func:`safe_unpack` streams members to disk one by one against caps
(:class:`ArchiveLimits`: unpacked bytes, unpacked / archive bytes, members), so an archive
bomb is refused after at most the cap, not after filling the disk; only a complete, checked
unpack is renamed to the target, and on any failure nothing is left behind.
:func:`member_md5` hashes named members straight from the archive (nothing written).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from moodrec.errors import InputDataError


class UnsafeArchiveError(InputDataError):
    """An archive member would land outside the target folder (or is a device file)."""


class ArchiveLimitError(InputDataError):
    """An archive unpacks to more bytes, a higher ratio or more members than the caps allow."""


#: below this many unpacked bytes the ratio cap does not apply (tiny archives of small
#: text files legitimately compress 100:1 or more)
RATIO_FLOOR_BYTES = 1 << 20
#: a zip symlink member holds its target as data: longer than this is not a path
_MAX_LINK_BYTES = 4096
_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps on what unpacking one archive may produce (``DownloadConfig.limits``)."""

    max_bytes: int = 16 * 1024**3
    max_ratio: float = 100.0
    max_members: int = 100_000


def _member_problem(name: str, link: str | None, is_hardlink: bool) -> str | None:
    """Why an archive member is unsafe, or None."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in p.parts:
        return "'..' in path"
    if link is not None:
        lp = PurePosixPath(link.replace("\\", "/"))
        if lp.is_absolute():
            return f"link to absolute path {link!r}"
        # hard links are relative to the archive root, symlinks to the member's folder
        base = PurePosixPath() if is_hardlink else p.parent
        depth = 0
        for part in (*base.parts, *lp.parts):
            depth += -1 if part == ".." else (0 if part in ("", ".") else 1)
            if depth < 0:
                return f"link {link!r} points outside the target"
    return None


def check_archive(archive: Path) -> list[str]:
    """Member names of a tar or zip archive after checking every member is safe.

    Reads headers (and zip symlink targets) only; member data is checked (CRC, caps) while
    it is streamed by :func:`safe_unpack` or :func:`member_md5`.

    Raises
    ------
    UnsafeArchiveError
        A member has an absolute path, a ``..`` component, a link leaving the target,
        or is a device/FIFO.
    InputDataError
        The file is not a readable tar or zip archive (corrupt or truncated).
    """
    archive = Path(archive)
    names: list[str] = []
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    link = _zip_link(zf, info, archive)
                    if why := _member_problem(info.filename, link, False):
                        raise UnsafeArchiveError(f"{archive}: member {info.filename!r}: {why}")
                    names.append(info.filename)
            return names
        with tarfile.open(archive) as tf:
            for m in tf:
                link = m.linkname if (m.issym() or m.islnk()) else None
                if m.isdev() or m.isfifo():
                    raise UnsafeArchiveError(f"{archive}: member {m.name!r} is a device or FIFO")
                if why := _member_problem(m.name, link, m.islnk()):
                    raise UnsafeArchiveError(f"{archive}: member {m.name!r}: {why}")
                names.append(m.name)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InputDataError(
            f"{archive}: not a readable tar or zip archive ({exc}); it may be corrupt or truncated"
        ) from exc
    return names


def _zip_link(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Path) -> str | None:
    """The target of a zip symlink member (``None`` for other members)."""
    if not stat.S_ISLNK(info.external_attr >> 16):
        return None
    if info.file_size > _MAX_LINK_BYTES:
        raise UnsafeArchiveError(f"{archive}: symlink member {info.filename!r} is too long")
    return zf.read(info).decode("utf-8", "replace")


class _Budget:
    """Counts members and unpacked bytes of one archive against :class:`ArchiveLimits`."""

    def __init__(self, archive: Path, limits: ArchiveLimits) -> None:
        self.archive, self.limits = archive, limits
        self.archive_bytes = archive.stat().st_size
        self.bytes = self.members = 0

    def member(self, name: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise ArchiveLimitError(
                f"{self.archive}: more than {self.limits.max_members:,} members (at {name!r}); "
                "raise max_members if this archive is trusted"
            )

    def add(self, n: int, name: str) -> None:
        self.bytes += n
        if self.bytes > self.limits.max_bytes:
            raise ArchiveLimitError(
                f"{self.archive}: unpacks to more than {self.limits.max_bytes:,} bytes "
                f"(at member {name!r}); refused as a possible archive bomb - raise "
                "max_unpacked_bytes if this archive is trusted"
            )
        ratio_cap = max(self.limits.max_ratio * self.archive_bytes, RATIO_FLOOR_BYTES)
        if self.bytes > ratio_cap:
            raise ArchiveLimitError(
                f"{self.archive}: {self.archive_bytes:,} archive bytes unpack to more than "
                f"{self.bytes:,} (over {self.limits.max_ratio:g}:1, at member {name!r}); "
                "refused as a possible archive bomb - raise max_unpack_ratio if this archive "
                "is trusted"
            )


def _copy_counted(src: Any, dst: Any, budget: _Budget, name: str, digest: Any = None) -> int:
    """Copy a member's stream in chunks, counting each against ``budget`` before it is
    written (``dst`` may be ``None``: hash only)."""
    n = 0
    while block := src.read(_COPY_CHUNK):
        budget.add(len(block), name)
        n += len(block)
        if digest is not None:
            digest.update(block)
        if dst is not None:
            dst.write(block)
    return n


def _inside(root: Path, rel: str) -> Path:
    """``root / rel`` after checking that it resolves inside ``root`` (links included)."""
    dest = root.joinpath(*PurePosixPath(rel).parts)
    if not dest.resolve().is_relative_to(root.resolve()):
        raise UnsafeArchiveError(f"member {rel!r} would be written outside the target")
    return dest


def _write_member(src: Any, root: Path, rel: str, budget: _Budget) -> None:
    dest = _inside(root, rel)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink():  # a later member of the same name replaces the link itself
        dest.unlink()
    with dest.open("wb") as fh:
        _copy_counted(src, fh, budget, rel)


def normal_member_name(name: str) -> str:
    """A member name as compared: ``./a/b`` is ``a/b``."""
    return PurePosixPath(name).as_posix()


def _unpack_zip(archive: Path, tmp: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            budget.member(info.filename)
            if info.is_dir():
                _inside(tmp, info.filename).mkdir(parents=True, exist_ok=True)
                continue
            # a zip symlink is unpacked as a small file holding its target (as zipfile does)
            with zf.open(info) as src:  # the CRC is checked when the stream ends
                _write_member(src, tmp, info.filename, budget)


def _unpack_tar(archive: Path, tmp: Path, budget: _Budget) -> None:
    with tarfile.open(archive) as tf:
        for m in tf:
            budget.member(m.name)
            if m.isfile():
                src = tf.extractfile(m)
                assert src is not None  # a regular file always has a stream
                with src:
                    _write_member(src, tmp, m.name, budget)
            else:
                # folders and links: the 'data' filter re-checks paths and links
                tf.extract(m, tmp, filter="data")


def safe_unpack(archive: Path, target: Path, limits: ArchiveLimits | None = None) -> dict[str, int]:
    """Unpack a checked archive into ``target`` (replaced only when complete).

    Members are streamed one by one; every chunk is counted against ``limits`` before it
    is written, so a bomb stops at the cap.

    Returns
    -------
    dict
        Relative path → size of every regular file unpacked.

    Raises
    ------
    UnsafeArchiveError, InputDataError
        See :func:`check_archive`; nothing is left behind.
    ArchiveLimitError
        Past a cap of ``limits``; nothing is left behind.
    """
    archive, target = Path(archive), Path(target)
    check_archive(archive)
    budget = _Budget(archive, limits or ArchiveLimits())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        try:
            if zipfile.is_zipfile(archive):
                _unpack_zip(archive, tmp, budget)
            else:
                _unpack_tar(archive, tmp, budget)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
            raise InputDataError(f"{archive}: unpacking failed ({exc})") from exc
        files = {
            p.relative_to(tmp).as_posix(): p.stat().st_size
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and not p.is_symlink()
        }
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return files


def member_md5(
    archive: Path, names: list[str] | set[str], limits: ArchiveLimits | None = None
) -> dict[str, str]:
    """MD5 of the named members, hashed straight from the archive (nothing is written).

    Names are compared after normalising (``./a/b`` is ``a/b``); members not in the archive
    are absent from the result. Bytes hashed count against ``limits``.

    Raises
    ------
    ArchiveLimitError, InputDataError
        Past a cap; or the archive is unreadable.
    """
    archive = Path(archive)
    wanted = {normal_member_name(n) for n in names}
    budget = _Budget(archive, limits or ArchiveLimits())
    got: dict[str, str] = {}

    def hash_stream(src: Any, name: str) -> None:
        digest = hashlib.md5(usedforsecurity=False)
        _copy_counted(src, None, budget, name, digest)
        got[name] = digest.hexdigest()

    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    budget.member(info.filename)
                    if not info.is_dir() and normal_member_name(info.filename) in wanted:
                        with zf.open(info) as src:
                            hash_stream(src, normal_member_name(info.filename))
        else:
            with tarfile.open(archive) as tf:
                for m in tf:
                    budget.member(m.name)
                    if m.isfile() and normal_member_name(m.name) in wanted:
                        src = tf.extractfile(m)
                        assert src is not None  # a regular file always has a stream
                        with src:
                            hash_stream(src, normal_member_name(m.name))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InputDataError(
            f"{archive}: not a readable tar or zip archive ({exc}); it may be corrupt or truncated"
        ) from exc
    return got
