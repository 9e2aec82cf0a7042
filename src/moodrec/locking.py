"""One writer per data folder: an advisory lock file naming its holder.

``<folder>/.moodrec.lock`` is held with ``flock`` for as long as a command writes into the
folder, and holds the holder's pid, host, start time and command line so that a refused
command can say who is in the way. The kernel drops an ``flock`` when its process dies
(``kill -9`` included), so a lock left by a dead process is taken over (with a warning
naming the dead holder) and never needs cleaning up by hand.

The lock is re-entrant within a process: a command that holds it can run flows that take it
again. Works on POSIX file systems with ``flock`` (local disks; NFS through its ``fcntl``
emulation).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moodrec.errors import MoodrecError

logger = logging.getLogger(__name__)

LOCK_NAME = ".moodrec.lock"


class FolderLockedError(MoodrecError):
    """Another process holds the folder's lock (the message names it)."""


@dataclass
class _Held:
    fd: int
    count: int
    #: folders the lock created (deepest first): removed on release when still empty
    created: tuple[Path, ...] = ()


_HELD: dict[Path, _Held] = {}
_HELD_GUARD = threading.Lock()


def lock_path(folder: Path | str) -> Path:
    """The lock file of a data folder."""
    return Path(folder) / LOCK_NAME


def read_holder(path: Path | str) -> dict[str, Any]:
    """The holder record in a lock file (``{}`` when unreadable or empty)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe_holder(holder: dict[str, Any]) -> str:
    """``pid 123 on host h since <time> ('moodrec run ...')`` (what is known of it)."""
    if not holder:
        return "an unknown process (its lock record is empty)"
    text = f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}"
    if holder.get("started"):
        text += f" since {holder['started']}"
    if holder.get("command"):
        text += f" ({holder['command']!r})"
    return text


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _open_locked(path: Path) -> int:
    """Open ``path`` and take its ``flock`` without waiting; return the fd.

    Retries when the file was unlinked by its releasing holder between our open and our
    lock (the lock would then be on an orphaned inode nobody else can see).
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _write_holder(fd: int, command: str) -> None:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
    }
    data = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


def acquire(folder: Path | str, command: str | None = None) -> None:
    """Take the write lock of ``folder`` (created if missing), or raise.

    Raises
    ------
    FolderLockedError
        Another live process holds it; the message names its pid, host, start time and
        command.
    """
    folder = Path(folder).resolve()
    with _HELD_GUARD:
        held = _HELD.get(folder)
        if held is not None:
            held.count += 1
            return
        created = tuple(p for p in (folder, *folder.parents) if not p.exists())
        folder.mkdir(parents=True, exist_ok=True)
        path = lock_path(folder)
        try:
            fd = _open_locked(path)
        except BlockingIOError:
            holder = read_holder(path)
            raise FolderLockedError(
                f"{folder} is in use by {describe_holder(holder)}: one command at a time may "
                f"write into a data folder. Wait for it to finish, or use another data folder "
                f"(paths.data_dir). If that process is gone, {path} is freed automatically."
            ) from None
        previous = read_holder(path)
        if previous:
            # flock is free, so its last holder is gone without releasing (killed or crashed)
            state = (
                "no longer running"
                if previous.get("host") != socket.gethostname()
                or not pid_alive(int(previous.get("pid", 0) or 0))
                else "not holding it"
            )
            logger.warning(
                "taking over the stale lock %s of %s (%s)", path, describe_holder(previous), state
            )
        _write_holder(fd, command or " ".join(sys.argv))
        _HELD[folder] = _Held(fd, 1, created)


def release(folder: Path | str) -> None:
    """Give back one hold of ``folder``'s lock; the last one removes the lock file."""
    folder = Path(folder).resolve()
    with _HELD_GUARD:
        held = _HELD.get(folder)
        if held is None:
            return
        held.count -= 1
        if held.count > 0:
            return
        del _HELD[folder]
        # unlink while still holding the flock: a waiting process then re-opens a new file
        with contextlib.suppress(FileNotFoundError):
            lock_path(folder).unlink()
        os.close(held.fd)
        for made in held.created:  # a command that wrote nothing leaves no empty folders
            try:
                made.rmdir()
            except OSError:
                break


@contextlib.contextmanager
def data_folder_lock(folder: Path | str, command: str | None = None) -> Iterator[Path]:
    """Hold ``folder``'s write lock for the body (see :func:`acquire`); yields the folder."""
    acquire(folder, command)
    try:
        yield Path(folder)
    finally:
        release(folder)


@contextlib.contextmanager
def waiting_file_lock(path: Path | str, timeout_s: float = 300.0) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing), waiting up to
    ``timeout_s``; yields whether it was taken (``False``: went on without it, warned).

    For short critical sections between processes (e.g. a database's first set-up).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout_s
    taken = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                taken = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    logger.warning("%s still locked after %.0f s; going on", path, timeout_s)
                    break
                time.sleep(0.1)
        yield taken
    finally:
        os.close(fd)  # closing drops the flock
