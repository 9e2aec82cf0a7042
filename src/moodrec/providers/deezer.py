"""Deezer public API (httpx, keyless, 50 requests / 5 s): BPM, gain, ISRC, album genres.

A track is found by ISRC (``/track/isrc:<ISRC>``) or, without one, by a field search
(``/search?q=artist:"…" track:"…"``) whose best verified hit is read with ``/track/<id>``
(search items carry no ``bpm``/``gain``). Album genres come from ``/album/<id>``
(``genres.data[].name``), asked once per album.

Deezer answers every failure with HTTP 200 and an ``error`` object: code 800 ("no data")
is "not found", code 4 ("Quota limit exceeded") is retried after ``quota_wait_s`` (its 5 s
window), anything else is an error. A ``bpm`` of 0 means Deezer has no tempo for the track.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from moodrec.providers.base import LookupResult, ProviderError, normalise_title, similarity
from moodrec.providers.config import DeezerConfig
from moodrec.providers.jsonapi import JsonApi

logger = logging.getLogger(__name__)

NO_DATA_CODE = 800
QUOTA_CODE = 4


def parse_track(body: dict[str, Any]) -> dict[str, Any]:
    """The fields moodrec keeps from a ``/track/<id>`` body (``bpm`` 0 → None)."""
    bpm = body.get("bpm")
    album = body.get("album") or {}
    return {
        "deezer_id": int(body["id"]),
        "title": body.get("title"),
        "artist_name": (body.get("artist") or {}).get("name"),
        "isrc": body.get("isrc"),
        "bpm": float(bpm) if bpm else None,
        "gain": float(body["gain"]) if body.get("gain") is not None else None,
        "album_id": int(album["id"]) if album.get("id") is not None else None,
    }


def parse_album_genres(body: dict[str, Any]) -> list[str]:
    """Genre names of an ``/album/<id>`` body."""
    return [
        str(g["name"])
        for g in (body.get("genres") or {}).get("data") or []
        if isinstance(g, dict) and g.get("name")
    ]


class DeezerProvider:
    """Per-track BPM/gain/ISRC and per-album genres from Deezer."""

    name = "deezer"

    def __init__(self, cfg: DeezerConfig, client: httpx.Client | None = None) -> None:
        self.cfg = cfg
        self.api = JsonApi(
            self.name, cfg.base_url, cfg.user_agent, cfg.retry, cfg.rate_limit, client
        )
        self.capabilities: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"DeezerProvider(base_url={self.cfg.base_url!r})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.api.close()

    def _check(self, body: Any) -> bool:
        err = body.get("error") if isinstance(body, dict) else None
        if not err:
            return False
        code = err.get("code") if isinstance(err, dict) else None
        if code is None:
            # not Deezer's envelope (its errors carry a code; e.g. a gateway's 5xx error
            # object): judged by its HTTP status, as any other failed answer
            return False
        if code == NO_DATA_CODE:
            return True
        if code == QUOTA_CODE:
            raise ProviderError(
                "deezer error 4 (quota limit exceeded)",
                http_status=429,
                retry_after=self.cfg.quota_wait_s,
            )
        raise ProviderError(f"deezer error {code}", http_status=400)

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any | None:
        return self.api.get(path, params, body_error=self._check)

    def probe(self) -> dict[str, str]:
        """One search request: ``track_audio`` and ``album_genres`` available, or raise."""
        self._get("/search", {"q": 'track:"probe"', "limit": "1"})
        self.capabilities = {"track_audio": "available", "album_genres": "available"}
        return self.capabilities

    def track(self, isrc: str | None, artist: str, title: str) -> LookupResult:
        """BPM, gain, ISRC and album id of a track: by ISRC, else search + ``/track/<id>``."""
        if isrc:
            body = self._get(f"/track/isrc:{isrc}")
            if body is not None and body.get("id"):
                return LookupResult("found", {**parse_track(body), "match": "isrc"})
        q = f'artist:"{normalise_title(artist)}" track:"{normalise_title(title)}"'
        found = self._get("/search", {"q": q, "limit": str(self.cfg.search_limit)})
        best: tuple[float, int] | None = None
        for item in (found or {}).get("data") or []:
            s = min(
                similarity(title, item.get("title") or ""),
                similarity(artist, (item.get("artist") or {}).get("name") or ""),
            )
            if s >= self.cfg.min_match and (best is None or s > best[0]):
                best = (s, int(item["id"]))
        if best is None:
            return LookupResult("not_found")
        body = self._get(f"/track/{best[1]}")
        if body is None:
            return LookupResult("not_found")
        return LookupResult("found", {**parse_track(body), "match": "search", "score": best[0]})

    def album_genres(self, album_id: int) -> LookupResult:
        """Genre names of one album (``not_found`` when it lists none)."""
        body = self._get(f"/album/{album_id}")
        genres = parse_album_genres(body or {})
        if not genres:
            return LookupResult("not_found")
        return LookupResult("found", {"genres": genres})
