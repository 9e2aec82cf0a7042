"""The HTTP plumbing every fake service shares: one handler class per service, faults first.

A service is a :class:`Service`: its name and route functions. Each request is counted and
may meet an injected fault (:meth:`~moodrec.sandbox.servers.faults.ServerState.admit`), then
the service may refuse it as a whole (``refuse``, e.g. Genius behind Cloudflare), then its
``get`` / ``post`` route answers through :meth:`FakeHandler.send`, which applies the
answer-shaping faults (slow, malformed).
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from moodrec.sandbox.servers.faults import RESET, ServerState, error_body

logger = logging.getLogger(__name__)

#: ``route(handler, path, query)``: the path is unquoted, the query one value per name
Route = Callable[["FakeHandler", str, dict[str, str]], None]


@dataclass(frozen=True)
class Service:
    """One fake service: its name (a key of the counters) and its routes."""

    name: str
    get: Route
    #: POST routes (the query is the url-encoded form body); ``None``: every POST is a 404
    post: Route | None = None
    #: answers a request for the whole service before routing (True: answered)
    refuse: Callable[[FakeHandler], bool] | None = None


class FakeHandler(BaseHTTPRequestHandler):
    """Base handler; :func:`make_handler` binds a :class:`Service` and the shared state."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers + body in two writes: avoid 40 ms stalls
    service: Service
    state: ServerState

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.service.name, format % args)

    def send(
        self, status: int, body: Any, ctype: str = "application/json", headers: Any = None
    ) -> None:
        """Answer ``body`` (bytes, text or JSON-able), after the slow and malformed faults."""
        state = self.state
        data = (
            body
            if isinstance(body, bytes)
            else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        )
        if state.roll("slow", state.modes.slow_rate):
            time.sleep(state.modes.slow_s)
        if (
            status == 200
            and ctype == "application/json"
            and state.roll("malformed", state.modes.malformed_rate)
        ):
            data = data[: len(data) // 2]
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _answered_before_routing(self) -> bool:
        """Count the request; answer an injected fault or the service's refusal."""
        fault = self.state.admit(self.service.name)
        if fault is None:
            return self.service.refuse is not None and self.service.refuse(self)
        status, retry_after = fault
        if status == RESET:  # TCP RST, no answer at all
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return True
        if status == 429:
            body = error_body(429, "API rate limit exceeded")
            self.send(429, body, headers={"Retry-After": str(int(retry_after))})
        else:
            self.send(status, error_body(status, "Service unavailable"))
        return True

    def do_GET(self) -> None:
        if self._answered_before_routing():
            return
        url = urlsplit(self.path)
        qs = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.service.get(self, unquote(url.path), qs)

    def do_POST(self) -> None:
        if self._answered_before_routing():
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.service.post is None:
            self.send(404, error_body(404, "Not found."))
            return
        self.service.post(self, self.path, form)


def make_handler(service: Service, state: ServerState) -> type[FakeHandler]:
    """The handler class of one service's server."""
    return type(
        f"{service.name.capitalize()}Handler",
        (FakeHandler,),
        {"service": service, "state": state},
    )
