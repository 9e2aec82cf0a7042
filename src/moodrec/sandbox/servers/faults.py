"""Fault injection and request accounting shared by every fake service.

:class:`ServerModes` are the live switches (the 2026 reality and injected faults);
:class:`ServerState` counts each request and draws, seeded, whether it meets a fault:

* ``rate_limit``: ``(max_requests, window_s, retry_after_s)`` rolling window → 429 + Retry-After
* ``error_rate``: fraction of 5xx answers
* ``reset_rate``: fraction of connections reset (TCP RST) without an answer
* ``malformed_rate``: fraction of ``200`` JSON answers cut in half
* ``slow_rate`` / ``slow_s``: fraction of answers delayed by ``slow_s`` seconds

Service-specific switches (``spotify_*``, ``genius_cloudflare``) are read by the routes
modules of those services.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from moodrec.enrich.config import FakeServersConfig
from moodrec.sandbox.servers.index import WorldIndex

#: status of an injected fault that means "reset the connection, answer nothing"
RESET = 0


@dataclass
class ServerModes:
    """Switchable behaviour of the fake servers (mutable while they run)."""

    spotify_audio_features_closed: bool = False
    spotify_dev_mode: bool = False
    genius_cloudflare: bool = False
    rate_limit: tuple[int, float, float] | None = None  # (max requests, window s, Retry-After s)
    error_rate: float = 0.0
    reset_rate: float = 0.0
    malformed_rate: float = 0.0
    slow_rate: float = 0.0
    slow_s: float = 0.0
    token_ttl_s: int = 3600
    seed: int = 0
    open_rate_limits: bool = False


def modes_from_config(cfg: FakeServersConfig) -> ServerModes:
    """The live :class:`ServerModes` for a :class:`FakeServersConfig`.

    Every mode has a config field of the same name (a new switch is added to both);
    ``rate_limit`` becomes the ``(max requests, window s, Retry-After s)`` tuple.
    """
    values: dict[str, Any] = {f.name: getattr(cfg, f.name) for f in fields(ServerModes)}
    rl = cfg.rate_limit
    values["rate_limit"] = None if rl is None else (rl.max_requests, rl.window_s, rl.retry_after_s)
    return ServerModes(**values)


def error_body(status: int, message: str) -> dict[str, Any]:
    """Spotify's JSON error shape; the injected 429/5xx answers of every service use it."""
    return {"error": {"status": status, "message": message}}


class ServerState:
    """What the services of one :class:`~moodrec.sandbox.servers.app.FakeServers` share.

    The world, the live modes, per-service request/429/arrival counters, fault counts, the
    seeded fault generator, and what the services' auth accepts (Spotify credentials and
    issued tokens, the Genius token). One lock guards all of it.
    """

    def __init__(
        self,
        index: WorldIndex | Callable[[], WorldIndex],
        modes: ServerModes,
        services: Iterable[str],
    ) -> None:
        # a callable: the world is indexed when the first request needs it (a run whose
        # answers are all cached never pays for it)
        self._index = index
        self._index_lock = threading.Lock()
        self.modes = modes
        self.lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(services, 0)
        self.throttled: dict[str, int] = dict.fromkeys(self.counts, 0)
        self.recent: dict[str, deque[float]] = {k: deque() for k in self.counts}
        self.arrivals: dict[str, deque[float]] = {k: deque(maxlen=100_000) for k in self.counts}
        self.faults: dict[str, int] = {"5xx": 0, "reset": 0, "malformed": 0, "slow": 0}
        self.throttle_times: dict[str, deque[float]] = {
            k: deque(maxlen=100_000) for k in self.counts
        }
        self.tokens: dict[str, float] = {}
        self.policy_recent: dict[str, deque[float]] = {}
        self.rng = random.Random(modes.seed)
        self.credentials: tuple[str, str] | None = None
        self.genius_token: str | None = None
        self.lastfm_key: str | None = None
        self.bases: dict[str, str] = {}

    @property
    def index(self) -> WorldIndex:
        """The world the services answer from (indexed on first use when given lazily)."""
        index = self._index
        if isinstance(index, WorldIndex):
            return index
        with self._index_lock:
            if not isinstance(self._index, WorldIndex):
                self._index = self._index()
            return self._index

    def admit(self, service: str) -> tuple[int, float] | None:
        """Count one request; return ``(status, retry_after)`` for an injected fault, or None.

        Status :data:`RESET` (0) means "reset the connection".
        """
        with self.lock:
            self.counts[service] += 1
            now = time.monotonic()
            self.arrivals[service].append(now)
            if self.modes.reset_rate and self.rng.random() < self.modes.reset_rate:
                self.faults["reset"] += 1
                return RESET, 0.0
            rl = self.modes.rate_limit
            if rl is not None:
                limit, window, retry_after = rl
                q = self.recent[service]
                while q and q[0] <= now - window:
                    q.popleft()
                if len(q) >= limit:
                    self.throttled[service] += 1
                    self.throttle_times[service].append(now)
                    return 429, retry_after
                q.append(now)
            if self.modes.error_rate and self.rng.random() < self.modes.error_rate:
                self.faults["5xx"] += 1
                return 503, 0.0
        return None

    def over_policy(self, service: str, limit: int, window_s: float) -> bool:
        """Count one arrival in ``service``'s own published window; True when over it.

        Used by services that enforce their real policy and answer in their own shape
        (MusicBrainz 503, Last.fm error 29, Deezer quota error 4); counted in
        :attr:`throttled` like the ``rate_limit`` mode's 429s.
        """
        with self.lock:
            now = time.monotonic()
            q = self.policy_recent.setdefault(service, deque())
            while q and q[0] <= now - window_s:
                q.popleft()
            if len(q) >= limit:
                self.throttled[service] += 1
                self.throttle_times[service].append(now)
                return True
            q.append(now)
            return False

    def roll(self, fault: str, rate: float) -> bool:
        """A seeded draw of an answer-shaping fault (``malformed``, ``slow``), counted."""
        if not rate:
            return False
        with self.lock:
            hit = self.rng.random() < rate
            if hit:
                self.faults[fault] += 1
        return hit
