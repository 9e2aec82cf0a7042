"""The fake LRCLIB (keyless): ``/api/get`` (exact artist + title) and ``/api/search``."""

from __future__ import annotations

from typing import Any

from moodrec.sandbox.servers.http import FakeHandler, Service
from moodrec.sandbox.servers.index import WorldIndex


def _record(t: dict[str, Any], idx: WorldIndex) -> dict[str, Any]:
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


def get(h: FakeHandler, path: str, qs: dict[str, str]) -> None:
    """``/api/get`` (unknown → ``404 TrackNotFound``), ``/api/search`` (at most 20 records)."""
    idx = h.state.index
    if path == "/api/get":
        found = [
            t
            for t in idx.find(qs.get("track_name", ""), qs.get("artist_name", ""))
            if t["on_lrclib"]
        ]
        if not found:
            h.send(
                404,
                {"code": 404, "name": "TrackNotFound", "message": "Failed to find specified track"},
            )
            return
        h.send(200, _record(found[0], idx))
        return
    if path == "/api/search":
        title = qs.get("track_name") or qs.get("q", "")
        found = [t for t in idx.find(title, qs.get("artist_name")) if t["on_lrclib"]]
        h.send(200, [_record(t, idx) for t in found[:20]])
        return
    h.send(404, {"code": 404, "name": "NotFound", "message": "Not found"})


SERVICE = Service("lrclib", get=get)
