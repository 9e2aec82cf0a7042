"""The fake Deezer public API: ``/search``, ``/track/<id>``, ``/track/isrc:<ISRC>``,
``/album/<id>``.

Bodies follow ``tests/fixtures/api/deezer/`` (deezer-python's recorded cassettes): search
``{"data": [...], "total", "next"}`` with track items lacking ``bpm``/``gain``; a full track
with ``isrc``, ``bpm``, ``gain``, ``album``; an album with ``genres.data``. Every failure is
HTTP 200 with an ``error`` object: unknown id → code 800 "no data"; with
``open_rate_limits`` over 50 requests / 5 s → code 4 "Quota limit exceeded".
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from moodrec.sandbox.servers.http import FakeHandler, Service
from moodrec.sandbox.servers.open_world import DEEZER_GENRE_IDS, OpenWorld, open_world

POLICY = (50, 5.0)
NO_DATA = {"error": {"type": "DataException", "message": "no data", "code": 800}}
QUOTA = {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}
_FIELD = re.compile(r'(\w+):"([^"]*)"')
API = "https://api.deezer.com"


def _artist(dz: dict[str, Any]) -> dict[str, Any]:
    a = dz["recording"]["artist"]
    aid = 70_000 + a["artist_id"]
    return {
        "id": aid,
        "name": a["name"],
        "link": f"https://www.deezer.com/artist/{aid}",
        "picture": f"{API}/artist/{aid}/image",
        "tracklist": f"{API}/artist/{aid}/top?limit=50",
        "type": "artist",
    }


def _album(dz: dict[str, Any]) -> dict[str, Any]:
    alb = dz["album_id"]
    return {
        "id": alb,
        "title": f"{dz['track']['name']} (Album)",
        "cover": f"{API}/album/{alb}/image",
        "tracklist": f"{API}/album/{alb}/tracks",
        "type": "album",
    }


def _search_item(dz: dict[str, Any]) -> dict[str, Any]:
    t = dz["track"]
    return {
        "id": dz["id"],
        "readable": True,
        "title": t["name"],
        "title_short": t["name"],
        "title_version": "",
        "link": f"https://www.deezer.com/track/{dz['id']}",
        "duration": round(t["duration_ms"] / 1000),
        "rank": 100_000 + t["track_id"],
        "explicit_lyrics": False,
        "explicit_content_lyrics": 0,
        "explicit_content_cover": 0,
        "preview": "",
        "artist": _artist(dz),
        "album": _album(dz),
        "type": "track",
    }


def track_body(dz: dict[str, Any]) -> dict[str, Any]:
    """A ``/track/<id>`` body in the recorded shape."""
    t = dz["track"]
    body = _search_item(dz)
    body.update(
        {
            "isrc": dz["isrc"],
            "share": f"https://www.deezer.com/track/{dz['id']}",
            "track_position": t["track_id"] % 10 + 1,
            "disk_number": 1,
            "release_date": f"{1990 + t['track_id'] % 30}-01-01",
            "bpm": dz["bpm"],
            "gain": dz["gain"],
            "available_countries": ["NL"],
            "contributors": [{**_artist(dz), "role": "Main"}],
        }
    )
    return body


def album_body(w: OpenWorld, album_id: int) -> dict[str, Any] | None:
    """An ``/album/<id>`` body, or None for an unknown album."""
    tracks = w.deezer_albums.get(album_id, [])
    if not tracks:
        return None
    first = tracks[0]
    genre = first["genre"]
    gid = DEEZER_GENRE_IDS[genre]
    return {
        **_album(first),
        "upc": f"{album_id:012d}",
        "link": f"https://www.deezer.com/album/{album_id}",
        "genre_id": gid,
        "genres": {
            "data": [
                {"id": gid, "name": genre, "picture": f"{API}/genre/{gid}/image", "type": "genre"}
            ]
        },
        "label": "moodrec sandbox",
        "nb_tracks": len(tracks),
        "duration": sum(round(d["track"]["duration_ms"] / 1000) for d in tracks),
        "fans": 0,
        "release_date": track_body(first)["release_date"],
        "record_type": "album",
        "available": True,
        "explicit_lyrics": False,
        "contributors": [{**_artist(first), "role": "Main"}],
        "artist": _artist(first),
        "tracks": {"data": [_search_item(d) for d in tracks]},
    }


def get(h: FakeHandler, path: str, qs: dict[str, str]) -> None:
    """The four routes; every failure is a 200 with an ``error`` object, as Deezer does."""
    state = h.state
    if state.modes.open_rate_limits and state.over_policy("deezer", *POLICY):
        h.send(200, QUOTA)
        return
    w = open_world(state.index)
    if path.startswith("/track/isrc:"):
        dz = w.deezer_by_isrc.get(path.removeprefix("/track/isrc:"))
        h.send(200, track_body(dz) if dz else NO_DATA)
        return
    m = re.fullmatch(r"/(track|album)/(\d+)", path)
    if m:
        kind, n = m.group(1), int(m.group(2))
        body = (
            (track_body(w.deezer_tracks[n]) if n in w.deezer_tracks else None)
            if kind == "track"
            else album_body(w, n)
        )
        h.send(200, body or NO_DATA)
        return
    if path == "/search":
        q = dict(_FIELD.findall(qs.get("q", "")))
        limit = max(1, min(100, int(qs.get("limit") or 25)))
        hits = state.index.find(q["track"], q.get("artist")) if q.get("track") else []
        items = [
            _search_item(w.deezer_tracks[3_000_000 + t["track_id"]])
            for t in hits
            if 3_000_000 + t["track_id"] in w.deezer_tracks
        ]
        body: dict[str, Any] = {"data": items[:limit], "total": len(items)}
        if len(items) > limit:
            body["next"] = f"{API}/search?q={quote(qs.get('q', ''))}&limit={limit}&index={limit}"
        h.send(200, body)
        return
    h.send(200, NO_DATA)


SERVICE = Service("deezer", get=get)
