"""Per-host request-rate and concurrency limits, shared by every client of one process.

The rate is a rolling window (pyrate-limiter's sliding-log ``InMemoryBucket``), matching
Spotify's "requests per rolling 30 s" rule; concurrency is a bounded semaphore. Each HTTP
library gets the limiter where it sends a request:

* spotipy / lyricsgenius (``requests``): :class:`LimitedSession`, whose ``request`` acquires
* httpx: :class:`LimitedTransport`, wrapping the real transport

A 429 answer pauses its host for every worker of the process for ``Retry-After`` seconds
(:data:`HOST_PAUSES`), not just the call that got it. A host that refuses connections or
times out ``unreachable_after`` times in a row is marked unreachable for the run
(:data:`HOST_BREAKERS`): every later request to it fails at once with
:class:`~moodrec.providers.base.HostUnreachable` instead of waiting for its timeout.
A wait longer than the cap (the limiter's ``max_wait_s``, the provider's
``retry.max_retry_after_s`` for pauses) raises :class:`~moodrec.providers.base.RateLimitExceeded`
so the batch fails and Prefect reschedules it, instead of a worker sleeping for hours.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from pyrate_limiter import InMemoryBucket, Limiter, LimiterDelayException, Rate

from moodrec.providers.base import HostUnreachable, RateLimitExceeded
from moodrec.providers.config import RateLimitConfig

logger = logging.getLogger(__name__)


class HostLimiter:
    """The rate and concurrency limit of one host (see :func:`host_limiter`)."""

    def __init__(self, host: str, cfg: RateLimitConfig) -> None:
        self.host = host
        self.cfg = cfg
        rate = Rate(cfg.requests, max(1, int((cfg.window_s + cfg.margin_s) * 1000)))
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
                    status="rate_limited",
                    http_status=429,
                ) from None
            yield


_REGISTRY: dict[tuple[str, RateLimitConfig], HostLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def host_limiter(url: str, cfg: RateLimitConfig) -> HostLimiter:
    """The process-wide limiter of ``url``'s host under ``cfg`` (shared by all workers)."""
    host = _host(url)
    with _REGISTRY_LOCK:
        key = (host, cfg)
        if key not in _REGISTRY:
            _REGISTRY[key] = HostLimiter(host, cfg)
        return _REGISTRY[key]


class HostPauses:
    """Process-wide "do not call this host before" times, set by a 429's ``Retry-After``.

    Every client of a run consults it before each request, so one worker's 429 pauses all
    workers' requests to that host, not just the call that received it.
    """

    def __init__(self, clock: Any = time.monotonic, sleep: Any = time.sleep) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def pause(self, host: str, seconds: float) -> None:
        """No request to ``host`` for ``seconds`` from now (an earlier pause is only extended)."""
        until = self._clock() + max(0.0, seconds)
        with self._lock:
            extended = until > self._until.get(host, 0.0) + 0.05
            if extended:
                self._until[host] = until
        if extended:
            logger.info("%s answered 429: host paused for %.1fs", host, seconds)

    def clear(self, host: str) -> None:
        """Forget ``host``'s pause (e.g. a local server that was stopped)."""
        with self._lock:
            self._until.pop(host, None)

    def remaining(self, host: str) -> float:
        """Seconds left of ``host``'s pause (0 when none)."""
        with self._lock:
            return max(0.0, self._until.get(host, 0.0) - self._clock())

    def wait(self, host: str, max_wait_s: float) -> None:
        """Sleep until ``host``'s pause is over.

        Raises
        ------
        RateLimitExceeded
            The pause lasts longer than ``max_wait_s``: the caller must give up (the batch
            fails and is rescheduled) instead of sleeping for hours.
        """
        while (left := self.remaining(host)) > 0:
            if left > max_wait_s:
                raise RateLimitExceeded(
                    f"{host}: paused by Retry-After for {left:.0f}s more, over the {max_wait_s:g}s"
                    " cap",
                    status="rate_limited",
                    http_status=429,
                    retry_after=left,
                )
            self._sleep(left)


#: the pauses of this process (all workers, all providers)
HOST_PAUSES = HostPauses()


class HostBreakers:
    """Process-wide circuit breakers: consecutive transport failures per host.

    A refused connection or a timeout counts one failure; any HTTP answer (even a 5xx)
    resets the count, since the host is reachable. At ``threshold`` failures in a row the
    host is open (unreachable) until :meth:`reset` (the start of the next enrichment run).
    """

    def __init__(self) -> None:
        self._failures: dict[str, int] = {}
        self._open: dict[str, str] = {}
        self._lock = threading.Lock()

    def check(self, host: str) -> None:
        """Raise :class:`HostUnreachable` when ``host`` is open."""
        with self._lock:
            reason = self._open.get(host)
        if reason is not None:
            raise HostUnreachable(f"{host}: unreachable in this run ({reason})")

    def failure(self, host: str, threshold: int, reason: str) -> None:
        """Count one refused connection or timeout of ``host``."""
        with self._lock:
            n = self._failures.get(host, 0) + 1
            self._failures[host] = n
            opened = n >= threshold and host not in self._open
            if opened:
                self._open[host] = f"{n} connection failures in a row, last {reason}"
        if opened:
            logger.warning(
                "%s: %d connection failures in a row (%s); marked unreachable for this run, "
                "its remaining keys are left for the next run",
                host,
                n,
                reason,
            )

    def success(self, host: str) -> None:
        """``host`` answered: its failure count starts again."""
        with self._lock:
            self._failures.pop(host, None)

    def unreachable(self) -> dict[str, str]:
        """Open hosts and why."""
        with self._lock:
            return dict(self._open)

    def reset(self) -> None:
        """Close every breaker (a new run tries every host again)."""
        with self._lock:
            self._failures.clear()
            self._open.clear()


#: the circuit breakers of this process (all workers, all providers)
HOST_BREAKERS = HostBreakers()


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or parts.path


def _note_429(host: str, status: int, retry_after: str | None) -> None:
    if status != 429:
        return
    from moodrec.providers.base import parse_retry_after

    seconds = parse_retry_after(retry_after)
    # no header: a short default pause; an over-cap one is recorded in full, so every worker
    # gives up at once (RateLimitExceeded) instead of each one hitting the 429 again
    HOST_PAUSES.pause(host, 1.0 if seconds is None else seconds)


class LimitedSession(requests.Session):
    """A ``requests.Session`` whose every request waits for its host's pause and limiter.

    A 429 answer pauses its host for everyone (:data:`HOST_PAUSES`). Requests to hosts
    without a limiter (none configured) still honour pauses.
    """

    def __init__(
        self,
        limiters: dict[str, HostLimiter] | None = None,
        max_pause_s: float = 60.0,
        unreachable_after: int = 3,
    ) -> None:
        super().__init__()
        self.limiters: dict[str, HostLimiter] = dict(limiters or {})
        self.max_pause_s = max_pause_s
        self.unreachable_after = unreachable_after

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        text = url.decode() if isinstance(url, bytes) else url
        host = urlsplit(text).netloc
        HOST_BREAKERS.check(host)
        HOST_PAUSES.wait(host, self.max_pause_s)
        limiter = self.limiters.get(host)
        try:
            if limiter is None:
                response = super().request(method, url, *args, **kwargs)
            else:
                with limiter.slot():
                    response = super().request(method, url, *args, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            HOST_BREAKERS.failure(host, self.unreachable_after, type(exc).__name__)
            raise
        HOST_BREAKERS.success(host)
        _note_429(host, response.status_code, response.headers.get("Retry-After"))
        return response


def limited_session(
    cfg: RateLimitConfig | None,
    *urls: str,
    max_pause_s: float = 60.0,
    unreachable_after: int = 3,
) -> LimitedSession:
    """A :class:`LimitedSession` limiting every host of ``urls`` (no rate limit when ``cfg`` is
    None; 429 pauses longer than ``max_pause_s`` raise :class:`RateLimitExceeded`; a host
    failing ``unreachable_after`` connections in a row raises :class:`HostUnreachable`)."""
    session = LimitedSession(max_pause_s=max_pause_s, unreachable_after=unreachable_after)
    if cfg is not None:
        for url in urls:
            lim = host_limiter(url, cfg)
            session.limiters[lim.host] = lim
    return session


class LimitedTransport(httpx.BaseTransport):
    """An httpx transport that waits for the host's pause and limiter, then sends.

    A 429 answer pauses its host for every worker (:data:`HOST_PAUSES`).
    """

    def __init__(
        self,
        cfg: RateLimitConfig | None,
        inner: httpx.BaseTransport | None = None,
        max_pause_s: float = 60.0,
        unreachable_after: int = 3,
    ) -> None:
        self.cfg = cfg
        self.max_pause_s = max_pause_s
        self.unreachable_after = unreachable_after
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.netloc.decode()
        HOST_BREAKERS.check(host)
        HOST_PAUSES.wait(host, self.max_pause_s)
        try:
            if self.cfg is None:
                response = self._inner.handle_request(request)
                response.read()
            else:
                with host_limiter(str(request.url), self.cfg).slot():
                    response = self._inner.handle_request(request)
                    response.read()  # the slot covers the whole exchange, body included
        except (httpx.ConnectError, httpx.TimeoutException) as exc:
            HOST_BREAKERS.failure(host, self.unreachable_after, type(exc).__name__)
            raise
        HOST_BREAKERS.success(host)
        _note_429(host, response.status_code, response.headers.get("Retry-After"))
        return response

    def close(self) -> None:
        self._inner.close()
