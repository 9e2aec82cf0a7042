"""Fake Spotify / Genius / LRCLIB HTTP servers built from the sandbox world's truth.

One process, one ``ThreadingHTTPServer`` per service on an ephemeral 127.0.0.1 port, started
and stopped by :class:`FakeServers` (a context manager). Responses follow the shapes of the
real recorded bodies (``../shared/data/api_fixtures_*``), built in code. :class:`ServerModes`
switches on the 2026 reality and faults:

* ``spotify_audio_features_closed``: ``/audio-features`` → 403 (closed to new apps, Nov 2024)
* ``spotify_dev_mode``: ``/tracks?ids=``, ``/artists?ids=`` → 403; ``popularity`` and
  ``followers`` dropped, ``genres`` empty (Feb/Mar 2026)
* search ``limit > 10`` → ``400 Invalid limit`` (always)
* ``rate_limit``: ``(max_requests, window_s, retry_after_s)`` rolling window → 429 + Retry-After
* ``error_rate``: fraction of 5xx answers (seeded)
* ``genius_cloudflare``: every genius.com / api.genius.com answer is a Cloudflare 403 HTML page
* ``reset_rate``: fraction of connections reset (TCP RST) without an answer (seeded)
* ``malformed_rate``: fraction of ``200`` JSON answers cut in half (seeded)
* ``slow_rate`` / ``slow_s``: fraction of answers delayed by ``slow_s`` seconds (seeded)
* LRCLIB ``/api/get`` + ``/api/search``; unknown → ``404 TrackNotFound``

Request counts per service are kept in :attr:`FakeServers.counts`, rate-limit 429s in
:attr:`FakeServers.throttled`, arrival times in :attr:`FakeServers.arrivals`.
:class:`FakeServersConfig` is the same switches as a frozen config section
(``enrich.sandbox_servers``) for flows and ``moodrec sandbox serve``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import random
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import polars as pl
from pydantic import SecretStr

from moodrec.config.base import Secrets
from moodrec.domain import AUDIO_FEATURES
from moodrec.enrich.servers_config import FakeServersConfig
from moodrec.providers.base import match_key

logger = logging.getLogger(__name__)

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CLOUDFLARE_403 = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>'
    "<body><h1>Sorry, you have been blocked</h1><p>Cloudflare Ray ID: 8f00000000000000</p>"
    "</body></html>"
)


def spotify_id(kind: str, n: int) -> str:
    """A stable 22-character base62 Spotify-style id for a world entity."""
    digest = int.from_bytes(hashlib.blake2b(f"{kind}:{n}".encode(), digest_size=16).digest())
    chars = []
    for _ in range(22):
        digest, r = divmod(digest, 62)
        chars.append(_B62[r])
    return "".join(chars)


def _in_catalogue(kind: str, n: int, share: float) -> bool:
    h = hashlib.blake2b(f"{kind}-present:{n}".encode(), digest_size=4).digest()
    return int.from_bytes(h) / 2**32 < share


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


#: the credentials the fake servers accept in sandbox runs (not secrets: nothing real is behind
#: them; they stand in for a user's Spotify app and Genius token)
SANDBOX_SPOTIFY_ID = "moodrec-sandbox-client"
SANDBOX_SPOTIFY_SECRET = "moodrec-sandbox-secret"
SANDBOX_GENIUS_TOKEN = "moodrec-sandbox-genius-token"


def sandbox_secrets() -> Secrets:
    """:class:`Secrets` holding the sandbox credentials the fake servers accept."""
    return Secrets(
        spotify_client_id=SANDBOX_SPOTIFY_ID,
        spotify_client_secret=SecretStr(SANDBOX_SPOTIFY_SECRET),
        genius_token=SecretStr(SANDBOX_GENIUS_TOKEN),
    )


def modes_from_config(cfg: FakeServersConfig) -> ServerModes:
    """The live :class:`ServerModes` for a :class:`FakeServersConfig`."""
    rl = cfg.rate_limit
    return ServerModes(
        spotify_audio_features_closed=cfg.spotify_audio_features_closed,
        spotify_dev_mode=cfg.spotify_dev_mode,
        genius_cloudflare=cfg.genius_cloudflare,
        rate_limit=None if rl is None else (rl.max_requests, rl.window_s, rl.retry_after_s),
        error_rate=cfg.error_rate,
        reset_rate=cfg.reset_rate,
        malformed_rate=cfg.malformed_rate,
        slow_rate=cfg.slow_rate,
        slow_s=cfg.slow_s,
        token_ttl_s=cfg.token_ttl_s,
        seed=cfg.seed,
    )


@dataclass
class WorldIndex:
    """The sandbox truth, indexed for the fake APIs."""

    tracks: list[dict[str, Any]]
    artists: dict[int, dict[str, Any]]
    lyrics: dict[int, str]
    by_spotify_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    artist_by_spotify_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    by_genius_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    by_genius_path: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_truth(
        cls, truth_dir: Path, spotify_share: float = 0.9, lrclib_share: float = 0.8
    ) -> WorldIndex:
        """Index ``truth/tracks.parquet``, ``artists.parquet`` and ``lyrics.parquet``.

        A deterministic ``spotify_share`` of tracks exists on Spotify; every lyric in the truth
        exists on Genius and ``lrclib_share`` of them on LRCLIB.
        """
        tracks = pl.read_parquet(truth_dir / "tracks.parquet").to_dicts()
        artists = {
            a["artist_id"]: a for a in pl.read_parquet(truth_dir / "artists.parquet").to_dicts()
        }
        lyr = pl.read_parquet(truth_dir / "lyrics.parquet", columns=["track_id", "raw"])
        lyrics = dict(zip(lyr["track_id"].to_list(), lyr["raw"].to_list(), strict=True))
        index = cls(tracks=[], artists=artists, lyrics=lyrics)
        for a in artists.values():
            a["spotify_id"] = spotify_id("artist", a["artist_id"])
            index.artist_by_spotify_id[a["spotify_id"]] = a
        for t in tracks:
            tid = t["track_id"]
            t["on_spotify"] = _in_catalogue("spotify", tid, spotify_share)
            t["on_lrclib"] = tid in lyrics and _in_catalogue("lrclib", tid, lrclib_share)
            t["spotify_id"] = spotify_id("track", tid)
            t["isrc"] = f"QZ{tid:010d}"
            t["genius_id"] = 1_000_000 + tid
            index.tracks.append(t)
            index.by_spotify_id[t["spotify_id"]] = t
            index.by_genius_id[t["genius_id"]] = t
            index.by_genius_path.setdefault(_genius_path(t, artists[t["artist_id"]]), t)
            artist = artists[t["artist_id"]]["name"]
            for name in {t["name"], t.get("alt_name") or t["name"]}:
                index.by_key.setdefault((match_key(name), match_key(artist)), []).append(t)
        return index

    def find(self, title: str, artist: str | None) -> list[dict[str, Any]]:
        """Tracks whose normalised title (and artist, when given) match."""
        tk = match_key(title)
        if artist is not None:
            return list(self.by_key.get((tk, match_key(artist)), []))
        # free text "title artist": try every split point
        hits: list[dict[str, Any]] = []
        words = match_key(title).split()
        for i in range(1, len(words)):
            hits += self.by_key.get((" ".join(words[:i]), " ".join(words[i:])), [])
        return hits


# --- response bodies in the real shapes -------------------------------------------------


def _artist_simple(a: dict[str, Any], base: str) -> dict[str, Any]:
    sid = a["spotify_id"]
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{sid}"},
        "href": f"{base}/v1/artists/{sid}",
        "id": sid,
        "name": a["name"],
        "type": "artist",
        "uri": f"spotify:artist:{sid}",
    }


def _artist_full(a: dict[str, Any], base: str, dev_mode: bool) -> dict[str, Any]:
    body = _artist_simple(a, base)
    body["images"] = []
    body["genres"] = [] if dev_mode else list(a["genres"] or [])
    if not dev_mode:
        body["popularity"] = round(100 * min(1.0, (a["popularity"] or 0) * 10))
        body["followers"] = {"href": None, "total": int(1e6 * (a["popularity"] or 0))}
    return body


def _track_full(t: dict[str, Any], idx: WorldIndex, base: str, dev_mode: bool) -> dict[str, Any]:
    sid = t["spotify_id"]
    artist = _artist_simple(idx.artists[t["artist_id"]], base)
    album_id = spotify_id("album", t["track_id"] // 10)
    body = {
        "album": {
            "album_type": "album",
            "artists": [artist],
            "external_urls": {"spotify": f"https://open.spotify.com/album/{album_id}"},
            "href": f"{base}/v1/albums/{album_id}",
            "id": album_id,
            "images": [],
            "name": f"{t['name']} (Album)",
            "release_date": f"{1990 + t['track_id'] % 30}-01-01",
            "release_date_precision": "day",
            "total_tracks": 10,
            "type": "album",
            "uri": f"spotify:album:{album_id}",
        },
        "artists": [artist],
        "disc_number": 1,
        "duration_ms": int(t["duration_ms"]),
        "explicit": False,
        "external_ids": {"isrc": t["isrc"]},
        "external_urls": {"spotify": f"https://open.spotify.com/track/{sid}"},
        "href": f"{base}/v1/tracks/{sid}",
        "id": sid,
        "is_local": False,
        "name": t["name"],
        "preview_url": None,
        "track_number": 1 + t["track_id"] % 10,
        "type": "track",
        "uri": f"spotify:track:{sid}",
    }
    if not dev_mode:
        body["popularity"] = round(100 * min(1.0, (t["popularity"] or 0) * 50))
    return body


def _audio_features(t: dict[str, Any], base: str) -> dict[str, Any]:
    sid = t["spotify_id"]
    body: dict[str, Any] = {k: t[k] for k in AUDIO_FEATURES}
    body.update(
        {
            "type": "audio_features",
            "id": sid,
            "uri": f"spotify:track:{sid}",
            "track_href": f"{base}/v1/tracks/{sid}",
            "analysis_url": f"{base}/v1/audio-analysis/{sid}",
            "time_signature": 4,
        }
    )
    return body


def _spotify_error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "message": message}}


def _slug(text: str) -> str:
    return "-".join(match_key(text).split()) or "untitled"


def _genius_path(t: dict[str, Any], artist: dict[str, Any]) -> str:
    return f"/{_slug(artist['name']).capitalize()}-{_slug(t['name'])}-lyrics"


def _genius_song(t: dict[str, Any], idx: WorldIndex) -> dict[str, Any]:
    artist = idx.artists[t["artist_id"]]
    gid = t["genius_id"]
    path = _genius_path(t, artist)
    return {
        "annotation_count": 0,
        "api_path": f"/songs/{gid}",
        "full_title": f"{t['name']} by\u00a0{artist['name']}",
        "header_image_thumbnail_url": "",
        "header_image_url": "",
        "id": gid,
        "lyrics_owner_id": 1,
        "lyrics_state": "complete",
        "path": path,
        "pyongs_count": None,
        "song_art_image_thumbnail_url": "",
        "stats": {"hot": False, "unreviewed_annotations": 0},
        "title": t["name"],
        "title_with_featured": t["name"],
        "url": f"https://genius.com{path}",
        "primary_artist": {
            "api_path": f"/artists/{artist['artist_id']}",
            "id": artist["artist_id"],
            "name": artist["name"],
            "url": f"https://genius.com/artists/{_slug(artist['name'])}",
        },
    }


def _genius_page(t: dict[str, Any], idx: WorldIndex) -> str:
    """A genius.com-like song page: lyrics in ``data-lyrics-container`` divs, ``<br>`` lines."""
    raw = idx.lyrics.get(t["track_id"])
    if raw is None:
        body = '<div class="LyricsPlaceholder">This song is an instrumental</div>'
    else:
        stanzas = [s for s in raw.split("\n\n")]
        divs = []
        for stanza in stanzas:
            lines = "<br/>".join(html.escape(line) for line in stanza.split("\n"))
            divs.append(
                f'<div data-lyrics-container="true" class="Lyrics__Container">{lines}</div>'
            )
        body = "<br/>".join(divs)
    return (
        f"<!DOCTYPE html><html><head><title>{html.escape(t['name'])} Lyrics | Genius</title>"
        f'</head><body><div id="lyrics-root">{body}</div></body></html>'
    )


def _lrclib_record(t: dict[str, Any], idx: WorldIndex) -> dict[str, Any]:
    artist = idx.artists[t["artist_id"]]["name"]
    plain = idx.lyrics[t["track_id"]]
    return {
        "id": 500_000 + t["track_id"],
        "name": t["name"],
        "trackName": t["name"],
        "artistName": artist,
        "albumName": f"{t['name']} (Album)",
        "duration": round(t["duration_ms"] / 1000),
        "instrumental": False,
        "plainLyrics": plain,
        "syncedLyrics": None,
    }


# --- the servers ------------------------------------------------------------------------


class _State:
    def __init__(self, index: WorldIndex, modes: ServerModes) -> None:
        self.index = index
        self.modes = modes
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {"spotify": 0, "genius": 0, "lrclib": 0}
        self.throttled: dict[str, int] = dict.fromkeys(self.counts, 0)
        self.recent: dict[str, deque[float]] = {k: deque() for k in self.counts}
        self.arrivals: dict[str, deque[float]] = {k: deque(maxlen=100_000) for k in self.counts}
        self.faults: dict[str, int] = {"5xx": 0, "reset": 0, "malformed": 0, "slow": 0}
        self.throttle_times: dict[str, deque[float]] = {
            k: deque(maxlen=100_000) for k in self.counts
        }
        self.tokens: dict[str, float] = {}
        self.rng = random.Random(modes.seed)
        self.credentials: tuple[str, str] | None = None
        self.genius_token: str | None = None
        self.bases: dict[str, str] = {}

    def admit(self, service: str) -> tuple[int, float] | None:
        """Count one request; return ``(status, retry_after)`` for an injected fault, or None.

        Status 0 means "reset the connection".
        """
        with self.lock:
            self.counts[service] += 1
            now = time.monotonic()
            self.arrivals[service].append(now)
            if self.modes.reset_rate and self.rng.random() < self.modes.reset_rate:
                self.faults["reset"] += 1
                return 0, 0.0
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

    def roll(self, fault: str, rate: float) -> bool:
        """A seeded draw of an answer-shaping fault (``malformed``, ``slow``), counted."""
        if not rate:
            return False
        with self.lock:
            hit = self.rng.random() < rate
            if hit:
                self.faults[fault] += 1
        return hit


def _make_handler(service: str, state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers + body in two writes: avoid 40 ms stalls

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s %s", service, format % args)

        # -- plumbing
        def _send(
            self, status: int, body: Any, ctype: str = "application/json", headers: Any = None
        ) -> None:
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

        def _fault(self) -> bool:
            fault = state.admit(service)
            if fault is None:
                if service == "genius" and state.modes.genius_cloudflare:
                    self._send(403, CLOUDFLARE_403, "text/html", {"Server": "cloudflare"})
                    return True
                return False
            status, retry_after = fault
            if status == 0:  # TCP RST, no answer at all
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return True
            if status == 429:
                body = _spotify_error(429, "API rate limit exceeded")
                self._send(429, body, headers={"Retry-After": str(int(retry_after))})
            else:
                self._send(status, _spotify_error(status, "Service unavailable"))
            return True

        def do_GET(self) -> None:
            if self._fault():
                return
            url = urlsplit(self.path)
            qs = {k: v[0] for k, v in parse_qs(url.query).items()}
            getattr(self, f"_get_{service}")(unquote(url.path), qs)

        def do_POST(self) -> None:
            if self._fault():
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if service != "spotify" or self.path != "/api/token":
                self._send(404, _spotify_error(404, "Not found."))
                return
            auth = self.headers.get("Authorization", "")
            expected = state.credentials
            ok = (
                form.get("grant_type") == "client_credentials"
                and expected is not None
                and auth == "Basic " + base64.b64encode(":".join(expected).encode()).decode()
            )
            if not ok:
                self._send(400, {"error": "invalid_client", "error_description": "Invalid client"})
                return
            token = hashlib.blake2b(f"{time.time_ns()}".encode(), digest_size=16).hexdigest()
            with state.lock:
                state.tokens[token] = time.monotonic() + state.modes.token_ttl_s
            self._send(
                200,
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": state.modes.token_ttl_s,
                },
            )

        # -- Spotify
        def _get_spotify(self, path: str, qs: dict[str, str]) -> None:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            expiry = state.tokens.get(token)
            if expiry is None or expiry < time.monotonic():
                self._send(401, _spotify_error(401, "The access token expired"))
                return
            base = state.bases["spotify"]
            idx, modes = state.index, state.modes
            parts = [p for p in path.split("/") if p]
            if parts[:1] != ["v1"] or len(parts) < 2:
                self._send(404, _spotify_error(404, "Service not found"))
                return
            what, rest = parts[1], parts[2:]
            if what == "search":
                self._spotify_search(qs, base)
                return
            ids = qs["ids"].split(",") if not rest and "ids" in qs else None
            if what == "audio-features":
                if modes.spotify_audio_features_closed or modes.spotify_dev_mode:
                    self._send(403, _spotify_error(403, "Forbidden"))
                    return
                keys = ids if ids is not None else rest[:1]
                found = [idx.by_spotify_id.get(k) for k in keys]
                feats = [_audio_features(t, base) if t and t["on_spotify"] else None for t in found]
                if ids is None:
                    if feats[0] is None:
                        self._send(404, _spotify_error(404, "analysis not found"))
                    else:
                        self._send(200, feats[0])
                    return
                self._send(200, {"audio_features": feats})
                return
            if what in ("tracks", "artists"):
                if ids is not None and modes.spotify_dev_mode:
                    self._send(403, _spotify_error(403, "Forbidden"))
                    return
                keys = ids if ids is not None else rest[:1]
                dev = modes.spotify_dev_mode
                out: list[Any] = []
                for k in keys:
                    if what == "tracks":
                        t = idx.by_spotify_id.get(k)
                        out.append(
                            _track_full(t, idx, base, dev) if t and t["on_spotify"] else None
                        )
                    else:
                        a = idx.artist_by_spotify_id.get(k)
                        out.append(_artist_full(a, base, dev) if a else None)
                if ids is None:
                    if not out or out[0] is None:
                        self._send(400 if not keys else 404, _spotify_error(404, "Invalid id"))
                    else:
                        self._send(200, out[0])
                    return
                self._send(200, {what: out})
                return
            self._send(404, _spotify_error(404, "Service not found"))

        def _spotify_search(self, qs: dict[str, str], base: str) -> None:
            try:
                limit = int(qs.get("limit", "20"))
                offset = int(qs.get("offset", "0"))
            except ValueError:
                self._send(400, _spotify_error(400, "Invalid limit"))
                return
            if not 0 <= limit <= 10:
                self._send(400, _spotify_error(400, "Invalid limit"))
                return
            q = qs.get("q", "")
            title, artist = _parse_query(q)
            hits = [t for t in state.index.find(title, artist) if t["on_spotify"]]
            dev = state.modes.spotify_dev_mode
            items = [_track_full(t, state.index, base, dev) for t in hits[offset : offset + limit]]
            self._send(
                200,
                {
                    "tracks": {
                        "href": f"{base}/v1/search?{urlsplit(self.path).query}",
                        "items": items,
                        "limit": limit,
                        "next": None,
                        "offset": offset,
                        "previous": None,
                        "total": len(hits),
                    }
                },
            )

        # -- Genius
        def _get_genius(self, path: str, qs: dict[str, str]) -> None:
            idx = state.index
            if (
                path.startswith("/api/")
                or path in ("/search", "/search/multi")
                or (path.startswith("/songs/"))
            ):
                if not path.startswith("/api/"):
                    auth = self.headers.get("Authorization", "")
                    if state.genius_token is None or auth != f"Bearer {state.genius_token}":
                        self._send(
                            401,
                            {"error": "invalid_token", "error_description": "Invalid token"},
                        )
                        return
                route = path.removeprefix("/api")
                if route in ("/search", "/search/song", "/search/multi"):
                    hits = []
                    for t in idx.find(qs.get("q", ""), None)[: int(qs.get("per_page", "5"))]:
                        hits.append(
                            {
                                "highlights": [],
                                "index": "song",
                                "type": "song",
                                "result": _genius_song(t, idx),
                            }
                        )
                    resp: dict[str, Any] = {"hits": hits}
                    if route != "/search":
                        resp = {"sections": [{"type": "song", "hits": hits}]}
                    self._send(200, {"meta": {"status": 200}, "response": resp})
                    return
                if route.startswith("/songs/"):
                    t = idx.by_genius_id.get(int(route.split("/")[2] or 0))
                    if t is None:
                        self._send(404, {"meta": {"status": 404, "message": "Not found"}})
                        return
                    self._send(
                        200, {"meta": {"status": 200}, "response": {"song": _genius_song(t, idx)}}
                    )
                    return
                self._send(404, {"meta": {"status": 404, "message": "Not found"}})
                return
            # web pages
            page_of = idx.by_genius_path.get(path)
            if page_of is not None:
                self._send(200, _genius_page(page_of, idx), "text/html")
                return
            self._send(404, "<html><body>Page not found</body></html>", "text/html")

        # -- LRCLIB
        def _get_lrclib(self, path: str, qs: dict[str, str]) -> None:
            idx = state.index
            if path == "/api/get":
                found = [
                    t
                    for t in idx.find(qs.get("track_name", ""), qs.get("artist_name", ""))
                    if t["on_lrclib"]
                ]
                if not found:
                    self._send(
                        404,
                        {
                            "code": 404,
                            "name": "TrackNotFound",
                            "message": "Failed to find specified track",
                        },
                    )
                    return
                self._send(200, _lrclib_record(found[0], idx))
                return
            if path == "/api/search":
                title = qs.get("track_name") or qs.get("q", "")
                artist = qs.get("artist_name")
                found = [t for t in idx.find(title, artist) if t["on_lrclib"]]
                self._send(200, [_lrclib_record(t, idx) for t in found[:20]])
                return
            self._send(404, {"code": 404, "name": "NotFound", "message": "Not found"})

    return Handler


def _parse_query(q: str) -> tuple[str, str | None]:
    """Split a Spotify field-filter query ``track:"x" artist:"y"`` (or free text)."""
    import re

    fields = dict(re.findall(r'(track|artist):"([^"]*)"', q))
    if not fields:
        fields = dict(re.findall(r"(track|artist):(\S+)", q))
    if "track" in fields:
        return fields["track"], fields.get("artist")
    return q, None


class FakeServers:
    """Start the three fake services on 127.0.0.1 ephemeral ports; stop them on exit.

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
    """

    def __init__(
        self,
        index: WorldIndex,
        modes: ServerModes | None = None,
        *,
        spotify_credentials: tuple[str, str] | None = None,
        genius_token: str | None = None,
    ) -> None:
        self._state = _State(index, modes or ServerModes())
        self._state.credentials = spotify_credentials
        self._state.genius_token = genius_token
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []

    @property
    def modes(self) -> ServerModes:
        """The live behaviour switches."""
        return self._state.modes

    @property
    def counts(self) -> dict[str, int]:
        """Requests received per service (``spotify``, ``genius``, ``lrclib``)."""
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

    def start(self, ports: dict[str, int] | None = None) -> FakeServers:
        """Bind (``ports`` per service, default a free one) and serve each in a daemon thread."""
        for service in ("spotify", "genius", "lrclib"):
            port = (ports or {}).get(service, 0)
            server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(service, self._state))
            server.daemon_threads = True
            self._servers[service] = server
            self._state.bases[service] = f"http://127.0.0.1:{server.server_address[1]}"
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{service}"
            )
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Shut every service down, join its thread, forget the clients' pauses of its port.

        A later server may get the same ephemeral port; a 429 pause of this one must not
        hold its clients back.
        """
        from moodrec.providers.ratelimit import HOST_PAUSES

        for server in self._servers.values():
            server.shutdown()
            server.server_close()
            HOST_PAUSES.clear(f"127.0.0.1:{server.server_address[1]}")
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> FakeServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_world(truth_dir: Path, modes: ServerModes | None = None, **kwargs: Any) -> FakeServers:
    """A :class:`FakeServers` (not yet started) for a generated world's ``truth/`` folder."""
    return FakeServers(WorldIndex.from_truth(Path(truth_dir)), modes, **kwargs)


def sandbox_servers(truth_dir: Path, cfg: FakeServersConfig | None = None) -> FakeServers:
    """Fake servers (not yet started) of a world, accepting the sandbox credentials."""
    cfg = cfg or FakeServersConfig()
    index = WorldIndex.from_truth(Path(truth_dir), cfg.spotify_share, cfg.lrclib_share)
    return FakeServers(
        index,
        modes_from_config(cfg),
        spotify_credentials=(SANDBOX_SPOTIFY_ID, SANDBOX_SPOTIFY_SECRET),
        genius_token=SANDBOX_GENIUS_TOKEN,
    )
