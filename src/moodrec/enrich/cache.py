"""Per-key persistent cache of provider answers (SQLite, WAL), consulted before any request.

One row per ``(provider, capability, key)``: the status, the JSON payload, the HTTP status of
a failure, ``fetched_at`` (Unix seconds) and a schema version. Freshness is decided at read
time from the TTL of the row's status in :class:`~moodrec.enrich.config.CacheConfig`, so
changing a TTL needs no migration. Only settled answers (``found``, ``not_found``) and probes
are stored; anything else is asked again by the next run.

Writes are buffered and committed in one transaction per batch (:meth:`EnrichCache.commit`):
a kill -9 loses at most the current batch's answers, and WAL keeps the file usable. A
corrupt or locked file raises :class:`CacheError`; the file is never deleted or rewritten.
Only provider answers are stored (keys are artist/title or provider ids): no credentials.
A probe row is keyed on :meth:`EnrichCache.fingerprint` of the credentials and settings: a
hash salted with this file's own random salt (``meta`` table), never the secrets themselves.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from moodrec.enrich.config import CacheConfig
from moodrec.errors import MoodrecError
from moodrec.providers.base import LookupResult

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE IF NOT EXISTS entries (
    provider TEXT NOT NULL,
    capability TEXT NOT NULL,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    http_status INTEGER,
    fetched_at REAL NOT NULL,
    schema_version INTEGER NOT NULL,
    PRIMARY KEY (provider, capability, key)
)
"""
_META = "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)"


class CacheError(MoodrecError):
    """The enrichment cache file is corrupt, locked or unwritable (it is left untouched)."""


def cache_path(data_dir: str | Path) -> Path:
    """``<data_dir>/cache/enrich.sqlite`` (``data_dir`` is already per profile)."""
    return Path(data_dir) / "cache" / "enrich.sqlite"


class EnrichCache:
    """The cache store of one process (one connection; thread-safe through a lock).

    Parameters
    ----------
    path
        The SQLite file (created with its folder when absent).
    cfg
        TTLs and busy timeout.
    clock
        Current Unix time (injectable for tests).

    Raises
    ------
    CacheError
        The file is not a readable SQLite database, or is locked past the busy timeout.
    """

    def __init__(
        self,
        path: str | Path,
        cfg: CacheConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.cfg = cfg or CacheConfig()
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._guard("open"):
            self._db = sqlite3.connect(
                self.path, timeout=self.cfg.busy_timeout_s, check_same_thread=False
            )
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                with self._db:
                    self._db.execute(_DDL)
                    self._db.execute(_META)
                    self._db.execute("INSERT OR IGNORE INTO meta VALUES ('salt', randomblob(32))")
                self._salt = bytes(
                    self._db.execute("SELECT value FROM meta WHERE name = 'salt'").fetchone()[0]
                )
            except BaseException:
                self._db.close()
                raise

    def __repr__(self) -> str:
        return f"EnrichCache({str(self.path)!r})"

    def _guard(self, what: str) -> Any:
        return _translate(self.path, what)

    def close(self) -> None:
        """Close the connection (pending rows that were not committed are dropped)."""
        self._db.close()

    def __enter__(self) -> EnrichCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fingerprint(self, digest: bytes) -> str:
        """``digest`` (e.g. of credentials) hashed with this cache's salt: safe to store."""
        return hashlib.blake2b(digest, key=self._salt, digest_size=16).hexdigest()

    def get(self, provider: str, capability: str, key: str) -> LookupResult | None:
        """The fresh cached answer, or ``None`` (missing, expired, other schema version).

        Raises
        ------
        CacheError
            The file cannot be read.
        """
        with self._lock:
            row = self._pending.get((provider, capability, key))
            if row is None:
                with self._guard("read"):
                    row = self._db.execute(
                        "SELECT * FROM entries WHERE provider=? AND capability=? AND key=?",
                        (provider, capability, key),
                    ).fetchone()
        if row is None or row[7] != SCHEMA_VERSION:
            return None
        status, payload, fetched_at = row[3], row[4], row[6]
        if self.clock() - fetched_at >= self.cfg.ttl(capability, status):
            return None
        body = json.loads(payload)
        return LookupResult(status, body.get("data") or {}, body.get("detail", ""))

    def put(
        self,
        provider: str,
        capability: str,
        key: str,
        result: LookupResult,
        *,
        http_status: int | None = None,
    ) -> None:
        """Buffer one answer until :meth:`commit`; an unsettled one (TTL 0) is not kept."""
        if self.cfg.ttl(capability, result.status) <= 0:
            return
        payload = json.dumps({"data": result.data, "detail": result.detail}, sort_keys=True)
        row = (
            provider,
            capability,
            key,
            result.status,
            payload,
            http_status,
            self.clock(),
            SCHEMA_VERSION,
        )
        with self._lock:
            self._pending[(provider, capability, key)] = row

    def commit(self) -> int:
        """Write the buffered answers in one transaction; returns how many.

        Raises
        ------
        CacheError
            Locked past the busy timeout or unwritable; the buffer is kept for a retry.
        """
        with self._lock:
            rows = list(self._pending.values())
            if not rows:
                return 0
            with self._guard("write"), self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
            self._pending.clear()
        logger.debug("enrich cache: %d answers committed", len(rows))
        return len(rows)

    def stale(self) -> Iterator[tuple[str, str, str, str]]:
        """``(provider, capability, key, status)`` of every committed row past its TTL."""
        now = self.clock()
        with self._lock, self._guard("read"):
            rows = self._db.execute(
                "SELECT provider, capability, key, status, fetched_at, schema_version FROM entries"
            ).fetchall()
        for provider, capability, key, status, fetched_at, version in rows:
            if version != SCHEMA_VERSION or now - fetched_at >= self.cfg.ttl(capability, status):
                yield provider, capability, key, status

    def count(self) -> int:
        """Committed rows."""
        with self._lock, self._guard("read"):
            return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])


class _translate:
    """Turn ``sqlite3`` failures into a :class:`CacheError` that names the file and the fix."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None or not isinstance(exc, sqlite3.Error):
            return False
        text = str(exc)
        if "locked" in text or "busy" in text:
            hint = "another process holds it; retry when that run ends"
        elif isinstance(exc, sqlite3.DatabaseError) and not isinstance(
            exc, sqlite3.OperationalError
        ):
            hint = "the file is corrupt; move it aside to rebuild the cache (it was not changed)"
        else:
            hint = "check the file and its folder"
        raise CacheError(f"enrich cache {self.path} ({self.what}): {text}; {hint}") from None
