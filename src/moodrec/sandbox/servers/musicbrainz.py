"""The fake MusicBrainz web service (``/ws/2``, JSON): recording and artist lookups by MBID
with ``inc=genres+tags+isrcs+artist-credits``, recording and artist searches.

Bodies follow ``tests/fixtures/api/musicbrainz/`` (a Picard-recorded recording, the
server's own expected artist answer). ``open_rate_limits`` enforces the published 1 request
per second: over it, ``503`` with the recorded ``{"error": "Your requests are exceeding the
allowable rate limit. ..."}`` body. An unknown MBID is ``404 {"error": "Not Found"}``.
"""

from __future__ import annotations

import re
from typing import Any

from moodrec.sandbox.servers.http import FakeHandler, Service
from moodrec.sandbox.servers.open_world import OpenWorld, open_world

RATE_LIMIT_BODY = {
    "error": "Your requests are exceeding the allowable rate limit. Please see "
    "http://wiki.musicbrainz.org/XMLWebService for more information."
}
POLICY = (1, 1.0)  # requests, window seconds
_FIELD = re.compile(r'(\w+):"((?:[^"\\]|\\.)*)"')
_MBID = re.compile(r"^/ws/2/(recording|artist)/([0-9a-f-]{36})$")


def _artist_credit(a: dict[str, Any], inc: set[str]) -> list[dict[str, Any]]:
    artist: dict[str, Any] = {
        "id": a["mbid"],
        "name": a["name"],
        "sort-name": a["name"],
        "disambiguation": "",
        "country": None,
    }
    if "tags" in inc:  # MusicBrainz tags the credited artists too (as recorded by Picard)
        artist["tags"] = [dict(g) for g in a["mb_tags"]]
    return [{"name": a["name"], "joinphrase": "", "artist": artist}]


def _genre(g: dict[str, Any]) -> dict[str, Any]:
    return {
        "count": g["count"],
        "disambiguation": "",
        "id": _genre_id(g["name"]),
        "name": g["name"],
    }


def _genre_id(name: str) -> str:
    from moodrec.sandbox.servers.open_world import made_up_mbid

    return made_up_mbid("genre", sum(ord(c) * 31**i for i, c in enumerate(name)) % 2**31)


def recording_body(rec: dict[str, Any], inc: set[str]) -> dict[str, Any]:
    """A recording lookup body (fields of the recorded one; ``inc`` adds lists)."""
    t = rec["track"]
    body: dict[str, Any] = {
        "id": rec["mbid"],
        "title": t["name"],
        "length": int(t["duration_ms"]),
        "first-release-date": f"{1990 + t['track_id'] % 30}-01-01",
        "disambiguation": "",
        "video": False,
    }
    if "isrcs" in inc:
        body["isrcs"] = list(rec["isrcs"])
    if "artist-credits" in inc:
        body["artist-credit"] = _artist_credit(rec["artist"], inc)
    if "tags" in inc:
        body["tags"] = [dict(g) for g in rec["tags"]]
    if "genres" in inc:
        body["genres"] = [_genre(g) for g in rec["genres"]]
    return body


def artist_body(a: dict[str, Any], inc: set[str]) -> dict[str, Any]:
    """An artist lookup body (fields of the server's expected answer)."""
    body: dict[str, Any] = {
        "id": a["mbid"],
        "name": a["name"],
        "sort-name": a["name"],
        "disambiguation": "",
        "type": "Person",
        "type-id": "b6e035f4-3ce9-331c-97df-83397230b0df",
        "gender": None,
        "gender-id": None,
        "country": None,
        "area": None,
        "begin-area": None,
        "begin_area": None,
        "end-area": None,
        "end_area": None,
        "ipis": [],
        "isnis": [],
        "life-span": {"begin": None, "end": None, "ended": False},
    }
    if "tags" in inc:
        body["tags"] = [dict(g) for g in a["mb_tags"]]
    if "genres" in inc:
        body["genres"] = [_genre(g) for g in a["mb_genres"]]
    return body


def _search_recordings(w: OpenWorld, h: FakeHandler, q: dict[str, str], limit: int) -> list[Any]:
    hits = h.state.index.find(q.get("recording", ""), q.get("artist")) if q.get("recording") else []
    out = []
    for t in hits[:limit]:
        rec = w.recordings[w.mbid_of_track[t["track_id"]]]
        out.append({**recording_body(rec, {"isrcs", "artist-credits", "tags"}), "score": 100})
    return out


def _search_artists(w: OpenWorld, q: dict[str, str], limit: int) -> list[Any]:
    from moodrec.providers.base import match_key

    hits = w.artists_by_name.get(match_key(q.get("artist", "")), [])
    return [{**artist_body(a, {"tags"}), "score": 100} for a in hits[:limit]]


def get(h: FakeHandler, path: str, qs: dict[str, str]) -> None:
    """``/ws/2/{recording,artist}/<mbid>`` and ``/ws/2/{recording,artist}?query=``."""
    if h.state.modes.open_rate_limits and h.state.over_policy("musicbrainz", *POLICY):
        h.send(503, RATE_LIMIT_BODY)
        return
    if qs.get("fmt") != "json":
        h.send(
            406,
            "<error><text>moodrec's fake answers JSON only (fmt=json)</text></error>",
            "application/xml",
        )
        return
    w = open_world(h.state.index)
    inc = set((qs.get("inc") or "").replace(" ", "+").split("+"))
    m = _MBID.match(path)
    if m:
        kind, mbid = m.groups()
        found = (w.recordings if kind == "recording" else w.artists).get(mbid)
        if found is None:
            h.send(404, {"error": "Not Found"})
            return
        h.send(200, recording_body(found, inc) if kind == "recording" else artist_body(found, inc))
        return
    if path in ("/ws/2/recording", "/ws/2/artist"):
        q = {k.lower(): v for k, v in _FIELD.findall(qs.get("query", ""))}
        limit = max(1, min(100, int(qs.get("limit") or 25)))
        if path.endswith("recording"):
            items, key = _search_recordings(w, h, q, limit), "recordings"
        else:
            items, key = _search_artists(w, q, limit), "artists"
        h.send(
            200,
            {"created": "2026-12-04T00:00:00.000Z", "count": len(items), "offset": 0, key: items},
        )
        return
    h.send(404, {"error": "Not Found"})


SERVICE = Service("musicbrainz", get=get)
