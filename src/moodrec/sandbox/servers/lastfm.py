"""The fake Last.fm API 2.0 (``/2.0/?method=…&format=json``): ``track.getTopTags`` and
``artist.getTopTags`` by ``mbid`` or by ``artist``/``track`` names.

Bodies follow ``tests/fixtures/api/lastfm/`` (recorded by pydrag's cassettes): ``{"toptags":
{"tag": [{"count", "name", "url"}], "@attr": {...}}}``; an unknown item is error 6 (HTTP 200,
as recorded), a wrong key error 10 (HTTP 403). ``open_rate_limits`` enforces ~5 requests per
second: over it, HTTP 429 with ``{"error": 29, "message": "Rate Limit Exceeded"}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from moodrec.providers.base import match_key
from moodrec.sandbox.servers.http import FakeHandler, Service
from moodrec.sandbox.servers.open_world import open_world

POLICY = (5, 1.0)
ERROR_6_TRACK = {"error": 6, "message": "Track not found", "links": []}
ERROR_6_ARTIST = {"error": 6, "message": "The artist you supplied could not be found", "links": []}
ERROR_10 = {"error": 10, "message": "Invalid API key - You must be granted a valid key by last.fm"}
ERROR_29 = {"error": 29, "message": "Rate Limit Exceeded"}


def _tags(tags: list[dict[str, Any]], attr: dict[str, str]) -> dict[str, Any]:
    return {
        "toptags": {
            "tag": [
                {
                    "count": g["count"],
                    "name": g["name"],
                    "url": f"https://www.last.fm/tag/{quote_plus(g['name'])}",
                }
                for g in tags
            ],
            "@attr": attr,
        }
    }


def get(h: FakeHandler, path: str, qs: dict[str, str]) -> None:
    """``/2.0/`` with ``method``, ``api_key``, ``format=json``."""
    state = h.state
    if state.modes.open_rate_limits and state.over_policy("lastfm", *POLICY):
        h.send(429, ERROR_29)
        return
    if path.rstrip("/") != "/2.0":
        h.send(
            404,
            {"error": 3, "message": "Invalid Method - No method with that name in this package"},
        )
        return
    key = qs.get("api_key", "")
    expected = state.lastfm_key
    if not key or (expected is not None and key != expected):
        h.send(403, ERROR_10)
        return
    w = open_world(state.index)
    method = (qs.get("method") or "").lower()
    if method == "track.gettoptags":
        rec = w.lastfm_by_mbid.get(qs.get("mbid", "")) if qs.get("mbid") else None
        if rec is None and qs.get("track"):
            hits = state.index.find(qs["track"], qs.get("artist", ""))
            rec = w.recordings[w.mbid_of_track[hits[0]["track_id"]]] if hits else None
        if rec is None or not rec["lastfm_known"]:
            h.send(200, ERROR_6_TRACK)
            return
        attr = {"artist": rec["artist"]["name"], "track": rec["track"]["name"]}
        h.send(200, _tags(rec["lastfm_tags"], attr))
        return
    if method == "artist.gettoptags":
        a = w.artists.get(qs.get("mbid", "")) if qs.get("mbid") else None
        if a is None and qs.get("artist"):
            named = w.artists_by_name.get(match_key(qs["artist"]), [])
            a = named[0] if named else None
        if a is None and qs.get("artist", "").casefold() == "radiohead":  # the probe's artist
            h.send(200, _tags([{"name": "alternative", "count": 100}], {"artist": "Radiohead"}))
            return
        if a is None or not a["lastfm_known"]:
            h.send(200, ERROR_6_ARTIST)
            return
        h.send(200, _tags(a["lastfm_tags"], {"artist": a["name"]}))
        return
    h.send(
        400, {"error": 3, "message": "Invalid Method - No method with that name in this package"}
    )


SERVICE = Service("lastfm", get=get)
