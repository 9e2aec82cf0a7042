"""Per-host request-rate and concurrency limits, shared by every client of one process.

The rate is a rolling window (pyrate-limiter's sliding-log ``InMemoryBucket``), matching
Spotify's "requests per rolling 30 s" rule; concurrency is a bounded semaphore. Each HTTP
library gets the limiter where it sends a request:

* spotipy / lyricsgenius (``requests``): :class:`LimitedSession`, whose ``request`` acquires
* httpx: :class:`LimitedTransport`, wrapping the real transport

A wait longer than ``max_wait_s`` raises :class:`~moodrec.providers.base.RateLimitExceeded`
so the batch fails and Prefect reschedules it, instead of a worker sleeping for hours.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from pydantic import Field
from pyrate_limiter import InMemoryBucket, Limiter, LimiterDelayException, Rate

from moodrec.config.base import StageConfig
from moodrec.providers.base import RateLimitExceeded

logger = logging.getLogger(__name__)


class RateLimitConfig(StageConfig):
    """At most ``requests`` per rolling ``window_s`` and ``max_concurrency`` in flight, per host."""

    requests: int = Field(default=60, ge=1)
    window_s: float = Field(default=30.0, gt=0)
    max_concurrency: int = Field(default=4, ge=1)
    max_wait_s: float = Field(default=120.0, ge=0)


class HostLimiter:
    """The rate and concurrency limit of one host (see :func:`host_limiter`)."""

    def __init__(self, host: str, cfg: RateLimitConfig) -> None:
        self.host = host
        self.cfg = cfg
        rate = Rate(cfg.requests, max(1, int(cfg.window_s * 1000)))
        self._limiter = Limiter(
            InMemoryBucket([rate]),
            raise_when_fail=True,
            max_delay=int(cfg.max_wait_s * 1000),
            retry_until_max_delay=True,
        )
        self._slots = threading.BoundedSemaphore(cfg.max_concurrency)

    def __repr__(self) -> str:
        c = self.cfg
        return f"HostLimiter({self.host!r}, {c.requests}/{c.window_s:g}s, {c.max_concurrency})"

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one concurrency slot and one unit of the rolling-window rate.

        Raises
        ------
        RateLimitExceeded
            The next free unit is more than ``max_wait_s`` away.
        """
        with self._slots:
            try:
                self._limiter.try_acquire(self.host)
            except LimiterDelayException:
                raise RateLimitExceeded(
                    f"{self.host}: local rate limit needs a wait over {self.cfg.max_wait_s:g}s",
                    status="error",
                    http_status=429,
                ) from None
            yield


_REGISTRY: dict[tuple[str, RateLimitConfig], HostLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def host_limiter(url: str, cfg: RateLimitConfig) -> HostLimiter:
    """The process-wide limiter of ``url``'s host under ``cfg`` (shared by all workers)."""
    parts = urlsplit(url)
    host = parts.netloc or parts.path
    with _REGISTRY_LOCK:
        key = (host, cfg)
        if key not in _REGISTRY:
            _REGISTRY[key] = HostLimiter(host, cfg)
        return _REGISTRY[key]


class LimitedSession(requests.Session):
    """A ``requests.Session`` whose every request waits for its host's limiter.

    Requests to hosts without a limiter (none configured) pass straight through.
    """

    def __init__(self, limiters: dict[str, HostLimiter] | None = None) -> None:
        super().__init__()
        self.limiters: dict[str, HostLimiter] = dict(limiters or {})

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        text = url.decode() if isinstance(url, bytes) else url
        limiter = self.limiters.get(urlsplit(text).netloc)
        if limiter is None:
            return super().request(method, url, *args, **kwargs)
        with limiter.slot():
            return super().request(method, url, *args, **kwargs)


def limited_session(cfg: RateLimitConfig | None, *urls: str) -> LimitedSession:
    """A :class:`LimitedSession` limiting every host of ``urls`` (nothing when ``cfg`` is None)."""
    session = LimitedSession()
    if cfg is not None:
        for url in urls:
            lim = host_limiter(url, cfg)
            session.limiters[lim.host] = lim
    return session


class LimitedTransport(httpx.BaseTransport):
    """An httpx transport that waits for the request host's limiter, then sends."""

    def __init__(self, cfg: RateLimitConfig, inner: httpx.BaseTransport | None = None) -> None:
        self.cfg = cfg
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limiter = host_limiter(str(request.url), self.cfg)
        with limiter.slot():
            response = self._inner.handle_request(request)
            response.read()  # the slot covers the whole exchange, body included
            return response

    def close(self) -> None:
        self._inner.close()
