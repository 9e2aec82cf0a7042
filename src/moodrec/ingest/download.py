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
4. **Unpack** (tar, tar.gz/bz2/xz or zip; :mod:`moodrec.ingest.unpack`) into a temporary
   folder beside the target after checking every member: absolute paths, ``..``
   components, links pointing outside the target and device files are refused. Members
   are streamed to disk one by one against caps (``max_unpacked_bytes``,
   ``max_unpack_ratio`` of unpacked to archive bytes, ``max_members``), so an archive bomb
   is refused after at most the cap, not after filling the disk. Only a complete, checked
   unpack is renamed to ``<to>/<name>/``; on any failure nothing is left behind.

The folder ``<to>`` is held with the data-folder write lock (:mod:`moodrec.locking`) while
a data set is downloaded into it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
from pydantic import Field, field_validator

from moodrec.errors import ConfigError, InputDataError, MoodrecError
from moodrec.ingest.unpack import ArchiveLimits, member_md5, normal_member_name, safe_unpack
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


# ---------------------------------------------------------------------- member checksums
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
        have = got.get(normal_member_name(rel), "missing")
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
