"""The fake Spotify Web API: client-credentials token, search, tracks, artists, audio features.

Answers follow the recorded bodies (``../shared/data/api_fixtures_*``); the 2026 reality is
switched on by the modes:

* ``spotify_audio_features_closed``: ``/audio-features`` → 403 (closed to new apps, Nov 2024)
* ``spotify_dev_mode``: ``/tracks?ids=``, ``/artists?ids=`` → 403; ``popularity`` and
  ``followers`` dropped, ``genres`` empty (Feb/Mar 2026)
* search ``limit > 10`` → ``400 Invalid limit`` (always)
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any
from urllib.parse import urlsplit

from moodrec.domain import AUDIO_FEATURES
from moodrec.sandbox.servers.faults import error_body
from moodrec.sandbox.servers.http import FakeHandler, Service
from moodrec.sandbox.servers.index import WorldIndex, spotify_id

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


def _parse_query(q: str) -> tuple[str, str | None]:
    """Split a Spotify field-filter query ``track:"x" artist:"y"`` (or free text)."""
    fields = dict(re.findall(r'(track|artist):"([^"]*)"', q))
    if not fields:
        fields = dict(re.findall(r"(track|artist):(\S+)", q))
    if "track" in fields:
        return fields["track"], fields.get("artist")
    return q, None


# --- routes -----------------------------------------------------------------------------


def post(h: FakeHandler, path: str, form: dict[str, str]) -> None:
    """``POST /api/token`` (client credentials): a Bearer token valid ``token_ttl_s``."""
    state = h.state
    if path != "/api/token":
        h.send(404, error_body(404, "Not found."))
        return
    auth = h.headers.get("Authorization", "")
    expected = state.credentials
    ok = (
        form.get("grant_type") == "client_credentials"
        and expected is not None
        and auth == "Basic " + base64.b64encode(":".join(expected).encode()).decode()
    )
    if not ok:
        h.send(400, {"error": "invalid_client", "error_description": "Invalid client"})
        return
    token = hashlib.blake2b(f"{time.time_ns()}".encode(), digest_size=16).hexdigest()
    with state.lock:
        state.tokens[token] = time.monotonic() + state.modes.token_ttl_s
    h.send(
        200,
        {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": state.modes.token_ttl_s,
        },
    )


def get(h: FakeHandler, path: str, qs: dict[str, str]) -> None:
    """``/v1/search``, ``/v1/audio-features``, ``/v1/tracks``, ``/v1/artists`` (one or ``ids``)."""
    state = h.state
    token = h.headers.get("Authorization", "").removeprefix("Bearer ")
    expiry = state.tokens.get(token)
    if expiry is None or expiry < time.monotonic():
        h.send(401, error_body(401, "The access token expired"))
        return
    base = state.bases["spotify"]
    parts = [p for p in path.split("/") if p]
    if parts[:1] != ["v1"] or len(parts) < 2:
        h.send(404, error_body(404, "Service not found"))
        return
    what, rest = parts[1], parts[2:]
    if what == "search":
        _search(h, qs, base)
        return
    ids = qs["ids"].split(",") if not rest and "ids" in qs else None
    if what == "audio-features":
        _get_audio_features(h, base, ids, rest)
    elif what in ("tracks", "artists"):
        _get_entities(h, what, base, ids, rest)
    else:
        h.send(404, error_body(404, "Service not found"))


def _get_audio_features(h: FakeHandler, base: str, ids: list[str] | None, rest: list[str]) -> None:
    idx, modes = h.state.index, h.state.modes
    if modes.spotify_audio_features_closed or modes.spotify_dev_mode:
        h.send(403, error_body(403, "Forbidden"))
        return
    keys = ids if ids is not None else rest[:1]
    found = [idx.by_spotify_id.get(k) for k in keys]
    feats = [_audio_features(t, base) if t and t["on_spotify"] else None for t in found]
    if ids is None:
        if feats[0] is None:
            h.send(404, error_body(404, "analysis not found"))
        else:
            h.send(200, feats[0])
        return
    h.send(200, {"audio_features": feats})


def _get_entities(
    h: FakeHandler, what: str, base: str, ids: list[str] | None, rest: list[str]
) -> None:
    idx, modes = h.state.index, h.state.modes
    if ids is not None and modes.spotify_dev_mode:
        h.send(403, error_body(403, "Forbidden"))
        return
    keys = ids if ids is not None else rest[:1]
    dev = modes.spotify_dev_mode
    out: list[Any] = []
    for k in keys:
        if what == "tracks":
            t = idx.by_spotify_id.get(k)
            out.append(_track_full(t, idx, base, dev) if t and t["on_spotify"] else None)
        else:
            a = idx.artist_by_spotify_id.get(k)
            out.append(_artist_full(a, base, dev) if a else None)
    if ids is None:
        if not out or out[0] is None:
            h.send(400 if not keys else 404, error_body(404, "Invalid id"))
        else:
            h.send(200, out[0])
        return
    h.send(200, {what: out})


def _search(h: FakeHandler, qs: dict[str, str], base: str) -> None:
    try:
        limit = int(qs.get("limit", "20"))
        offset = int(qs.get("offset", "0"))
    except ValueError:
        h.send(400, error_body(400, "Invalid limit"))
        return
    if not 0 <= limit <= 10:
        h.send(400, error_body(400, "Invalid limit"))
        return
    title, artist = _parse_query(qs.get("q", ""))
    idx = h.state.index
    hits = [t for t in idx.find(title, artist) if t["on_spotify"]]
    dev = h.state.modes.spotify_dev_mode
    items = [_track_full(t, idx, base, dev) for t in hits[offset : offset + limit]]
    h.send(
        200,
        {
            "tracks": {
                "href": f"{base}/v1/search?{urlsplit(h.path).query}",
                "items": items,
                "limit": limit,
                "next": None,
                "offset": offset,
                "previous": None,
                "total": len(hits),
            }
        },
    )


SERVICE = Service("spotify", get=get, post=post)
