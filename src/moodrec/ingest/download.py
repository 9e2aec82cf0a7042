"""Download the public listening data sets: resumable, verified, safely unpacked.

Steps for one data set (:func:`download_dataset`):

1. **Skip** when ``<to>/<name>/`` holds a marker (``.moodrec-download.json``) whose
   archive checksum matches the config and whose listed files all exist with their sizes.
2. **Stream** the archive to ``<to>/archives/<file>.part`` with a progress bar (tqdm,
   only on a terminal). A ``.part`` left by an interrupted run is **resumed** with an HTTP
   ``Range`` request (a server answering 200 instead of 206 restarts it); a connection cut
   mid-transfer is retried up to ``max_attempts`` times, each retry resuming.
3. **Verify** SHA-256 and/or MD5 from the config; a mismatch deletes the ``.part`` and
   raises. With no checksum configured the download is refused unless
   ``allow_unverified`` is set (then the computed SHA-256 is logged and recorded).
   Members listed in ``file_md5`` are hashed straight from the archive (nothing written)
   and checked *before* anything is unpacked.
4. **Unpack** (tar, tar.gz/bz2/xz or zip) into a temporary folder beside the target after
   checking every member: absolute paths, ``..`` components, links pointing outside the
   target and device files are refused. Members are streamed to disk one by one against
   caps (``max_unpacked_bytes``, ``max_unpack_ratio`` of unpacked to archive bytes,
   ``max_members``), so an archive bomb is refused after at most the cap, not after
   filling the disk. Only a complete, checked unpack is renamed to ``<to>/<name>/``; on
   any failure nothing is left behind.

The folder ``<to>`` is held with the data-folder write lock (:mod:`moodrec.locking`) while
a data set is downloaded into it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
from pydantic import Field, field_validator

from moodrec.errors import ConfigError, InputDataError, MoodrecError
from moodrec.locking import data_folder_lock
from moodrec.stage_config import StageConfig
from moodrec.storage import write_json_atomic

logger = logging.getLogger(__name__)

MARKER = ".moodrec-download.json"
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class DownloadError(MoodrecError):
    """A download failed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


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
    """Caps on what unpacking one archive may produce (see :class:`DownloadConfig`)."""

    max_bytes: int = 16 * 1024**3
    max_ratio: float = 100.0
    max_members: int = 100_000


class DatasetSource(StageConfig):
    """Where one data set's official archive lives and how to check it."""

    url: str
    #: archive file name (default: the URL's last path component)
    filename: str | None = None
    sha256: str | None = None
    md5: str | None = None
    #: paths (relative to the unpacked folder) that must exist after unpacking
    expected_files: tuple[str, ...] = ()
    #: MD5 of unpacked files (relative path -> hex), e.g. as a data set's README lists them
    file_md5: dict[str, str] = Field(default_factory=dict)
    description: str = ""

    @field_validator("sha256", "md5")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip().lower()
        if any(c not in "0123456789abcdef" for c in v):
            raise ValueError("checksum must be hexadecimal")
        return v

    @property
    def archive_name(self) -> str:
        return self.filename or PurePosixPath(httpx.URL(self.url).path).name or "download"


#: official archive locations. Checksums are left empty on purpose: they could not be
#: verified offline here, and a wrong one would be worse than none. Supply them (e.g. in
#: config/datasets/downloads.yaml) before downloading, or set allow_unverified.
DEFAULT_SOURCES: dict[str, DatasetSource] = {
    "lastfm-1k": DatasetSource(
        url="http://mtg.upf.edu/static/datasets/last.fm/lastfm-dataset-1K.tar.gz",
        expected_files=(
            "lastfm-dataset-1K/userid-timestamp-artid-artname-traid-traname.tsv",
            "lastfm-dataset-1K/userid-profile.tsv",
        ),
        # as listed in the data set's official README; the profile's MD5 was checked
        # against a copy of the official file, the log's could not be checked offline
        file_md5={
            "lastfm-dataset-1K/userid-timestamp-artid-artname-traid-traname.tsv": (
                "64747b21563e3d2aa95751e0ddc46b68"
            ),
            "lastfm-dataset-1K/userid-profile.tsv": "c53608b6b445db201098c1489ea497df",
        },
        description="Last.fm Dataset - 1K users (O. Celma, MTG-UPF), non-commercial use",
    ),
    "hetrec-lastfm": DatasetSource(
        url="https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip",
        expected_files=(
            "user_artists.dat",
            "artists.dat",
            "tags.dat",
            "user_taggedartists.dat",
            "user_friends.dat",
        ),
        description="HetRec 2011 Last.fm 2K (GroupLens), non-commercial use",
    ),
}


class DownloadConfig(StageConfig):
    """The ``download`` stage: sources, target folder and transfer settings."""

    datasets: dict[str, DatasetSource] = Field(default_factory=lambda: dict(DEFAULT_SOURCES))
    #: data sets go to ``<to>/<name>/``, archives to ``<to>/archives/``
    to: Path = Path("data/raw/downloads")
    timeout_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    progress: bool = True
    keep_archive: bool = True
    allow_unverified: bool = False
    #: unpacking caps against archive bombs: total unpacked bytes, unpacked / archive bytes
    #: (ignored below 1 MiB unpacked) and members; the real data sets need < 3 GB, < 10:1
    max_unpacked_bytes: int = Field(default=16 * 1024**3, gt=0)
    max_unpack_ratio: float = Field(default=100.0, gt=1)
    max_members: int = Field(default=100_000, ge=1)

    @property
    def limits(self) -> ArchiveLimits:
        """The unpacking caps as one value."""
        return ArchiveLimits(self.max_unpacked_bytes, self.max_unpack_ratio, self.max_members)


@dataclass(frozen=True)
class DownloadResult:
    """Where a data set ended up and whether any work was done."""

    name: str
    folder: Path
    archive: Path | None
    sha256: str
    skipped: bool
    files: dict[str, int]


# --------------------------------------------------------------------------- checksums
def file_digests(path: Path, chunk: int = 1 << 22) -> dict[str, str]:
    """``{"sha256": ..., "md5": ...}`` of a file in one read."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            sha.update(block)
            md5.update(block)
    return {"sha256": sha.hexdigest(), "md5": md5.hexdigest()}


def _check_digests(path: Path, sha256: str | None, md5: str | None) -> dict[str, str]:
    got = file_digests(path)
    for algo, want in (("sha256", sha256), ("md5", md5)):
        if want and got[algo] != want:
            raise DownloadError(f"{path}: {algo} {got[algo]} does not match the expected {want}")
    return got


# --------------------------------------------------------------------------- transfer
@contextmanager
def _progress(total: int | None, initial: int, name: str, enabled: bool) -> Iterator[Any]:
    from tqdm import tqdm  # imported here: only downloads need it

    bar = tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=name,
        disable=not (enabled and sys.stderr.isatty()),
        leave=False,
    )
    try:
        yield bar
    finally:
        bar.close()


def _content_range_start(header: str | None) -> int | None:
    # "bytes 100-999/1000"
    if not header or not header.startswith("bytes "):
        return None
    try:
        return int(header[6:].split("-", 1)[0])
    except ValueError:
        return None


def fetch(
    url: str,
    dest: Path,
    *,
    timeout_s: float = 60.0,
    max_attempts: int = 5,
    progress: bool = True,
    client: httpx.Client | None = None,
) -> Path:
    """Stream ``url`` to ``dest.part`` (resuming it), then rename it to ``dest``.

    Parameters
    ----------
    url
        HTTP(S) URL.
    dest
        Final file; ``dest`` + ``.part`` holds the partial transfer.
    timeout_s, max_attempts, progress
        Transfer settings; each attempt after a dropped connection resumes.
    client
        Optional ``httpx.Client`` (tests); one is created otherwise.

    Returns
    -------
    Path
        ``dest``, complete but not yet verified.

    Raises
    ------
    DownloadError
        An HTTP error status (``retryable`` for 408/429/5xx) or too many dropped
        connections.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    own = client is None
    client = client or httpx.Client(follow_redirects=True, timeout=timeout_s)
    try:
        for attempt in range(1, max_attempts + 1):
            offset = part.stat().st_size if part.exists() else 0
            # identity encoding: byte ranges must refer to the archive's own bytes
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            try:
                with client.stream("GET", url, headers=headers) as resp:
                    if resp.status_code == 416 and offset:
                        # the partial file is already complete (or longer than the file)
                        logger.info("%s: server has nothing past byte %d", url, offset)
                        break
                    if resp.status_code not in (200, 206):
                        raise DownloadError(
                            f"GET {url}: HTTP {resp.status_code}",
                            retryable=resp.status_code in _RETRYABLE_STATUS,
                        )
                    start = _content_range_start(resp.headers.get("content-range"))
                    if resp.status_code == 206 and start == offset:
                        mode = "ab"
                        if offset:
                            logger.info("%s: resuming at byte %d", url, offset)
                    else:
                        mode, offset = "wb", 0  # no usable range support: start over
                    length = resp.headers.get("content-length")
                    total = offset + int(length) if length and length.isdigit() else None
                    with (
                        part.open(mode) as fh,
                        _progress(total, offset, dest.name, progress) as bar,
                    ):
                        # unbuffered: every byte received before a cut is kept for the resume
                        for block in resp.iter_raw():
                            fh.write(block)
                            bar.update(len(block))
                break
            except httpx.TransportError as exc:
                # a dropped connection or timeout: the next attempt resumes from .part
                if attempt == max_attempts:
                    raise DownloadError(
                        f"GET {url}: gave up after {max_attempts} attempts ({exc!r}); "
                        f"{part} is kept and the next run resumes it",
                        retryable=True,
                    ) from exc
                logger.warning("GET %s: attempt %d failed (%r); resuming", url, attempt, exc)
        os.replace(part, dest)
    finally:
        if own:
            client.close()
    return dest


# --------------------------------------------------------------------------- unpacking
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


def _normal(name: str) -> str:
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
    wanted = {_normal(n) for n in names}
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
                    if not info.is_dir() and _normal(info.filename) in wanted:
                        with zf.open(info) as src:
                            hash_stream(src, _normal(info.filename))
        else:
            with tarfile.open(archive) as tf:
                for m in tf:
                    budget.member(m.name)
                    if m.isfile() and _normal(m.name) in wanted:
                        src = tf.extractfile(m)
                        assert src is not None  # a regular file always has a stream
                        with src:
                            hash_stream(src, _normal(m.name))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InputDataError(
            f"{archive}: not a readable tar or zip archive ({exc}); it may be corrupt or truncated"
        ) from exc
    return got


def verify_member_md5(
    archive: Path, file_md5: dict[str, str], limits: ArchiveLimits | None = None
) -> None:
    """Check ``file_md5`` (relative path → MD5) against the archive's members, before
    anything is unpacked.

    Raises
    ------
    DownloadError
        A member is missing or its MD5 differs.
    """
    got = member_md5(archive, set(file_md5), limits)
    for rel, want in file_md5.items():
        have = got.get(_normal(rel), "missing")
        if have != want.lower():
            raise DownloadError(
                f"{archive}: member {rel} has md5 {have}, expected {want} (checked before "
                "unpacking; nothing was unpacked)"
            )


# --------------------------------------------------------------------------- data sets
def _marker_valid(folder: Path, source: DatasetSource) -> dict[str, Any] | None:
    import json

    marker = folder / MARKER
    if not marker.is_file():
        return None
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if source.sha256 and meta.get("sha256") != source.sha256:
        return None
    if source.md5 and meta.get("md5") != source.md5:
        return None
    files = meta.get("files", {})
    for rel in source.expected_files:
        if rel not in files:
            return None
    for rel, size in files.items():
        p = folder / rel
        if not p.is_file() or p.stat().st_size != size:
            return None
    return meta


def download_dataset(
    name: str,
    cfg: DownloadConfig,
    to: Path | None = None,
    client: httpx.Client | None = None,
) -> DownloadResult:
    """Download, verify and unpack one configured data set (skipped when already valid).

    Parameters
    ----------
    name
        Key of ``cfg.datasets`` (``lastfm-1k``, ``hetrec-lastfm``).
    cfg
        Sources and transfer settings.
    to
        Target folder (default ``cfg.to``); the data set goes to ``<to>/<name>/``.
    client
        Optional ``httpx.Client`` (tests).

    Returns
    -------
    DownloadResult

    Raises
    ------
    ConfigError
        Unknown name, or no checksum configured and ``allow_unverified`` unset.
    DownloadError
        Transfer failed or the checksum does not match (the partial file is deleted).
    UnsafeArchiveError, InputDataError
        The archive is unsafe, corrupt, or lacks an expected file (nothing is kept).
    """
    if name not in cfg.datasets:
        raise ConfigError(f"unknown data set {name!r} (configured: {', '.join(cfg.datasets)})")
    source = cfg.datasets[name]
    root = Path(to if to is not None else cfg.to)
    folder = root / name
    if meta := _marker_valid(folder, source):
        logger.info("%s: already present and valid in %s; not downloading", name, folder)
        return DownloadResult(name, folder, None, meta.get("sha256", ""), True, meta["files"])
    if not (source.sha256 or source.md5 or source.file_md5) and not cfg.allow_unverified:
        raise ConfigError(
            f"data set {name!r}: no sha256 or md5 is configured for {source.url}, so the "
            "download cannot be verified. Put the publisher's checksum in "
            f"downloads.datasets.{name}.sha256 (or md5, or file_md5 of the unpacked files), "
            "or set allow_unverified to accept "
            "an unverified file (its SHA-256 is then logged and recorded)."
        )
    with data_folder_lock(root, command=f"download {name}"):
        return _download_locked(name, cfg, source, root, folder, client)


def _download_locked(
    name: str,
    cfg: DownloadConfig,
    source: DatasetSource,
    root: Path,
    folder: Path,
    client: httpx.Client | None,
) -> DownloadResult:
    archive = root / "archives" / source.archive_name
    if archive.exists():
        logger.info("%s: re-using downloaded archive %s", name, archive)
    else:
        fetch(
            source.url,
            archive,
            timeout_s=cfg.timeout_s,
            max_attempts=cfg.max_attempts,
            progress=cfg.progress,
            client=client,
        )
    try:
        digests = _check_digests(archive, source.sha256, source.md5)
        if not (source.sha256 or source.md5 or source.file_md5):
            logger.warning(
                "%s: unverified download; its sha256 is %s (md5 %s) - check it against the "
                "publisher before trusting the data",
                name,
                digests["sha256"],
                digests["md5"],
            )
        if source.file_md5:
            # hashed from the archive itself: a mismatch is refused before unpacking
            verify_member_md5(archive, source.file_md5, cfg.limits)
        files = safe_unpack(archive, folder, cfg.limits)
        missing = [f for f in source.expected_files if f not in files]
        if missing:
            shutil.rmtree(folder, ignore_errors=True)
            raise InputDataError(f"{archive}: unpacked without the expected files {missing}")
    except MoodrecError:
        archive.unlink(missing_ok=True)  # a bad archive must not be re-used next time
        raise
    write_json_atomic(
        folder / MARKER,
        {"url": source.url, "archive": archive.name, **digests, "files": files},
    )
    if not cfg.keep_archive:
        archive.unlink(missing_ok=True)
    logger.info("%s: %d files unpacked into %s", name, len(files), folder)
    return DownloadResult(
        name, folder, archive if cfg.keep_archive else None, digests["sha256"], False, files
    )


def load_download_config(path: Path | str, **overrides: Any) -> DownloadConfig:
    """Read a ``downloads.yaml`` (the :class:`DownloadConfig` fields) and apply overrides.

    Data sets named in the file replace the defaults of the same name; others keep them.

    Raises
    ------
    ConfigError
        The file is not valid YAML or does not fit :class:`DownloadConfig`.
    """
    import yaml
    from pydantic import ValidationError

    path = Path(path)
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    data["datasets"] = {
        **{k: v.model_dump() for k, v in DEFAULT_SOURCES.items()},
        **(data.get("datasets") or {}),
    }
    try:
        return DownloadConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
