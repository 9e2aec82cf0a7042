"""The fake Genius: API search and songs (Bearer token), the public ``/api/``, song pages.

``genius_cloudflare`` makes every genius.com / api.genius.com answer a Cloudflare 403 HTML
page (what cloud addresses get). Song pages hold the lyrics in ``data-lyrics-container``
divs with ``<br/>`` lines, as genius.com does.
"""

from __future__ import annotations

import html
from typing import Any

from moodrec.sandbox.servers.http import FakeHandler, Service
from moodrec.sandbox.servers.index import WorldIndex, genius_artist_url, genius_path

CLOUDFLARE_403 = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>'
    "<body><h1>Sorry, you have been blocked</h1><p>Cloudflare Ray ID: 8f00000000000000</p>"
    "</body></html>"
)
_NOT_FOUND = {"meta": {"status": 404, "message": "Not found"}}


def _song(t: dict[str, Any], idx: WorldIndex) -> dict[str, Any]:
    artist = idx.artists[t["artist_id"]]
    gid = t["genius_id"]
    path = genius_path(t, artist)
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
            "url": genius_artist_url(artist),
        },
    }


def _page(t: dict[str, Any], idx: WorldIndex) -> str:
    """A genius.com-like song page: lyrics in ``data-lyrics-container`` divs, ``<br>`` lines."""
    raw = idx.lyrics.get(t["track_id"])
    if raw is None:
        body = '<div class="LyricsPlaceholder">This song is an instrumental</div>'
    else:
        divs = []
        for stanza in raw.split("\n\n"):
            lines = "<br/>".join(html.escape(line) for line in stanza.split("\n"))
            divs.append(
                f'<div data-lyrics-container="true" class="Lyrics__Container">{lines}</div>'
            )
        body = "<br/>".join(divs)
    return (
        f"<!DOCTYPE html><html><head><title>{html.escape(t['name'])} Lyrics | Genius</title>"
        f'</head><body><div id="lyrics-root">{body}</div></body></html>'
    )


def refuse(h: FakeHandler) -> bool:
    """Behind Cloudflare (``genius_cloudflare``): every request gets the 403 page."""
    if not h.state.modes.genius_cloudflare:
        return False
    h.send(403, CLOUDFLARE_403, "text/html", {"Server": "cloudflare"})
    return True


def get(h: FakeHandler, path: str, qs: dict[str, str]) -> None:
    """``/search``, ``/search/multi``, ``/songs/<id>`` (token), ``/api/...`` (none), pages."""
    if (
        path.startswith("/api/")
        or path in ("/search", "/search/multi")
        or path.startswith("/songs/")
    ):
        _get_api(h, path, qs)
        return
    page_of = h.state.index.by_genius_path.get(path)
    if page_of is not None:
        h.send(200, _page(page_of, h.state.index), "text/html")
        return
    h.send(404, "<html><body>Page not found</body></html>", "text/html")


def _get_api(h: FakeHandler, path: str, qs: dict[str, str]) -> None:
    idx = h.state.index
    if not path.startswith("/api/"):
        auth = h.headers.get("Authorization", "")
        token = h.state.genius_token
        if token is None or auth != f"Bearer {token}":
            h.send(401, {"error": "invalid_token", "error_description": "Invalid token"})
            return
    route = path.removeprefix("/api")
    if route in ("/search", "/search/song", "/search/multi"):
        hits = [
            {"highlights": [], "index": "song", "type": "song", "result": _song(t, idx)}
            for t in idx.find(qs.get("q", ""), None)[: int(qs.get("per_page", "5"))]
        ]
        resp: dict[str, Any] = {"hits": hits}
        if route != "/search":
            resp = {"sections": [{"type": "song", "hits": hits}]}
        h.send(200, {"meta": {"status": 200}, "response": resp})
        return
    if route.startswith("/songs/"):
        t = idx.by_genius_id.get(int(route.split("/")[2] or 0))
        if t is None:
            h.send(404, _NOT_FOUND)
            return
        h.send(200, {"meta": {"status": 200}, "response": {"song": _song(t, idx)}})
        return
    h.send(404, _NOT_FOUND)


SERVICE = Service("genius", get=get, refuse=refuse)
