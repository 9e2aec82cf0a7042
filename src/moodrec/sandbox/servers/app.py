"""Fake Spotify / Genius / LRCLIB / MusicBrainz / Last.fm / Deezer HTTP servers built from the
sandbox world's truth.

One process, one ``ThreadingHTTPServer`` per service on an ephemeral 127.0.0.1 port, started
and stopped by :class:`FakeServers` (a context manager). Responses follow the shapes of the
real recorded bodies (``../shared/data/api_fixtures_*``), built in code. The package, one
job per module:

- :mod:`~moodrec.sandbox.servers.index`   the world's truth indexed for the services;
- :mod:`~moodrec.sandbox.servers.faults`  the live modes, request accounting, fault injection;
- :mod:`~moodrec.sandbox.servers.http`    the handler every service shares (faults first);
- :mod:`~moodrec.sandbox.servers.spotify`, :mod:`~moodrec.sandbox.servers.genius`,
  :mod:`~moodrec.sandbox.servers.lrclib`, :mod:`~moodrec.sandbox.servers.musicbrainz`,
  :mod:`~moodrec.sandbox.servers.lastfm`, :mod:`~moodrec.sandbox.servers.deezer`  one routes
  module per service (the open ones read :mod:`~moodrec.sandbox.servers.open_world`, and
  answer in the shapes of ``tests/fixtures/api/<service>/``);
- this module: the services started together, the sandbox credentials.

Adding a service: a routes module exporting ``SERVICE``
(:class:`~moodrec.sandbox.servers.http.Service`) and a line in :data:`SERVICES`.

Request counts per service are kept in :attr:`FakeServers.counts`, rate-limit 429s in
:attr:`FakeServers.throttled`, arrival times in :meth:`FakeServers.arrivals`.
:class:`~moodrec.enrich.config.FakeServersConfig` is the same switches as a frozen config
section (``enrich.sandbox_servers``) for flows and ``moodrec sandbox serve``.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable, Mapping
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from moodrec.config.base import Secrets
from moodrec.enrich.config import FakeServersConfig
from moodrec.sandbox.servers import deezer, genius, lastfm, lrclib, musicbrainz, spotify
from moodrec.sandbox.servers.faults import ServerModes, ServerState, modes_from_config
from moodrec.sandbox.servers.http import Service, make_handler
from moodrec.sandbox.servers.index import WorldIndex

#: the services :class:`FakeServers` starts, by name (the keys of its counters)
SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        spotify.SERVICE,
        genius.SERVICE,
        lrclib.SERVICE,
        musicbrainz.SERVICE,
        lastfm.SERVICE,
        deezer.SERVICE,
    )
}

#: the credentials the fake servers accept in sandbox runs (not secrets: nothing real is behind
#: them; they stand in for a user's Spotify app and Genius token)
SANDBOX_SPOTIFY_ID = "moodrec-sandbox-client"
SANDBOX_SPOTIFY_SECRET = "moodrec-sandbox-secret"
SANDBOX_GENIUS_TOKEN = "moodrec-sandbox-genius-token"
SANDBOX_LASTFM_KEY = "moodrec-sandbox-lastfm-key"


def sandbox_secrets() -> Secrets:
    """:class:`Secrets` holding the sandbox credentials the fake servers accept."""
    return Secrets(
        spotify_client_id=SANDBOX_SPOTIFY_ID,
        spotify_client_secret=SecretStr(SANDBOX_SPOTIFY_SECRET),
        genius_token=SecretStr(SANDBOX_GENIUS_TOKEN),
        lastfm_api_key=SecretStr(SANDBOX_LASTFM_KEY),
    )


class FakeServers:
    """Start the fake services (:data:`SERVICES`) on 127.0.0.1 ephemeral ports; stop them on exit.

    Parameters
    ----------
    index
        The world to serve (:meth:`WorldIndex.from_truth`).
    modes
        Behaviour switches; mutable while running via :attr:`modes`.
    spotify_credentials
        ``(client_id, client_secret)`` the token endpoint accepts.
    genius_token
        The Bearer token the Genius API accepts.
    lastfm_key
        The API key the Last.fm API accepts (``None``: any non-empty key).
    services
        The services to start (default :data:`SERVICES`), e.g. a new one under test.
    lazy
        Bind the ports at :meth:`start` (the URLs are known, connections wait in the listen
        backlog) but index the world (when ``index`` is a callable) and serve only once the
        first client connects: a run whose answers are all cached costs neither.
    """

    def __init__(
        self,
        index: WorldIndex | Callable[[], WorldIndex],
        modes: ServerModes | None = None,
        *,
        spotify_credentials: tuple[str, str] | None = None,
        genius_token: str | None = None,
        services: Mapping[str, Service] | None = None,
        lastfm_key: str | None = None,
        lazy: bool = False,
    ) -> None:
        self._services = dict(SERVICES if services is None else services)
        self._state = ServerState(index, modes or ServerModes(), self._services)
        self._state.credentials = spotify_credentials
        self._state.genius_token = genius_token
        self._state.lastfm_key = lastfm_key
        self._lazy = lazy
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self._serving = threading.Lock()  # held while the services start or stop
        self._started = False
        self._watcher: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None

    @property
    def modes(self) -> ServerModes:
        """The live behaviour switches."""
        return self._state.modes

    @property
    def counts(self) -> dict[str, int]:
        """Requests received per service (by service name)."""
        with self._state.lock:
            return dict(self._state.counts)

    @property
    def throttled(self) -> dict[str, int]:
        """429 answers of the ``rate_limit`` mode per service."""
        with self._state.lock:
            return dict(self._state.throttled)

    @property
    def faults(self) -> dict[str, int]:
        """Injected faults so far: ``5xx``, ``reset``, ``malformed``, ``slow``."""
        with self._state.lock:
            return dict(self._state.faults)

    def arrivals(self, service: str) -> list[float]:
        """``time.monotonic()`` of each request to ``service`` (the latest 100 000)."""
        with self._state.lock:
            return list(self._state.arrivals[service])

    def throttle_times(self, service: str) -> list[float]:
        """``time.monotonic()`` of each 429 of the ``rate_limit`` mode to ``service``."""
        with self._state.lock:
            return list(self._state.throttle_times[service])

    def reset_counts(self) -> None:
        """Zero the request, 429 and fault counters (e.g. between two runs)."""
        with self._state.lock:
            for d in (self._state.counts, self._state.throttled):
                for k in d:
                    d[k] = 0
            for k in self._state.faults:
                self._state.faults[k] = 0
            for q in (*self._state.arrivals.values(), *self._state.throttle_times.values()):
                q.clear()

    def url(self, service: str) -> str:
        """Base URL of one service, e.g. ``http://127.0.0.1:43123``."""
        return self._state.bases[service]

    @property
    def serving(self) -> bool:
        """Whether the services answer (a lazy start serves from the first connection on)."""
        return self._started

    def start(self, ports: dict[str, int] | None = None) -> FakeServers:
        """Bind (``ports`` per service, default a free one) and serve each in a daemon thread;
        a lazy instance serves from the first connection on (:attr:`serving`)."""
        for service in self._services.values():
            port = (ports or {}).get(service.name, 0)
            handler = make_handler(service, self._state)
            server = ThreadingHTTPServer(("127.0.0.1", port), handler)
            server.daemon_threads = True
            self._servers[service.name] = server
            self._state.bases[service.name] = f"http://127.0.0.1:{server.server_address[1]}"
        if not self._lazy:
            self._serve()
            return self
        self._wake = socket.socketpair()
        self._watcher = threading.Thread(target=self._serve_on_connect, name="fake-servers-lazy")
        self._watcher.daemon = True
        self._watcher.start()
        return self

    def _serve_on_connect(self) -> None:
        """Wait (no polling) for a connection on any port, or for :meth:`stop`; then serve."""
        assert self._wake is not None
        listening = [server.socket for server in self._servers.values()]
        readable, _, _ = select.select([*listening, self._wake[0]], [], [])
        if self._wake[0] not in readable:
            self._serve()

    def _serve(self) -> None:
        with self._serving:
            if self._started or not self._servers:
                return
            self._state.index  # noqa: B018 - index the world before the first answer
            self._started = True  # before the first answer, which may come at once
            for name, server in self._servers.items():
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"fake-{name}",
                )
                thread.daemon = True
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        """Shut every service down, join its thread, forget the clients' pauses of its port.

        A later server may get the same ephemeral port; a 429 pause of this one must not
        hold its clients back.
        """
        from moodrec.providers.ratelimit import HOST_PAUSES

        if self._watcher is not None and self._wake is not None:
            self._wake[1].send(b"x")
            self._watcher.join(timeout=5)
            for end in self._wake:
                end.close()
            self._watcher = self._wake = None
        with self._serving:
            for server in self._servers.values():
                if self._started:  # shutdown() waits for serve_forever: only when it runs
                    server.shutdown()
                server.server_close()
                HOST_PAUSES.clear(f"127.0.0.1:{server.server_address[1]}")
            for thread in self._threads:
                thread.join(timeout=5)
            self._servers.clear()
            self._threads.clear()
            self._started = False

    def __enter__(self) -> FakeServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_world(truth_dir: Path, modes: ServerModes | None = None, **kwargs: Any) -> FakeServers:
    """A :class:`FakeServers` (not yet started) for a generated world's ``truth/`` folder."""
    return FakeServers(WorldIndex.from_truth(Path(truth_dir)), modes, **kwargs)


def sandbox_servers(
    truth_dir: Path, cfg: FakeServersConfig | None = None, *, lazy: bool = False
) -> FakeServers:
    """Fake servers (not yet started) of a world, accepting the sandbox credentials; ``lazy``:
    the world is indexed and served only once a client connects (see :class:`FakeServers`)."""
    cfg = cfg or FakeServersConfig()

    def index() -> WorldIndex:
        return WorldIndex.from_truth(Path(truth_dir), cfg.spotify_share, cfg.lrclib_share)

    return FakeServers(
        index if lazy else index(),
        modes_from_config(cfg),
        spotify_credentials=(SANDBOX_SPOTIFY_ID, SANDBOX_SPOTIFY_SECRET),
        genius_token=SANDBOX_GENIUS_TOKEN,
        lastfm_key=SANDBOX_LASTFM_KEY,
        lazy=lazy,
    )
