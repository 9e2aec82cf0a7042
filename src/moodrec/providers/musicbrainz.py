"""MusicBrainz provider (httpx, keyless, 1 request/s): recordings and artists, MBID first.

Recording: ``/ws/2/recording/<mbid>?inc=genres+tags+isrcs+artist-credits&fmt=json``; without
an MBID (or for an MBID MusicBrainz does not know) a search
``/ws/2/recording?query=recording:"…" AND artist:"…"`` whose best verified hit is then looked
up the same way. Artist: ``/ws/2/artist/<mbid>?inc=genres+tags`` or a search by name.

MusicBrainz answers a client over its rate with ``503`` and a JSON ``error`` body
(``tests/fixtures/api/musicbrainz/error_503_rate_limit.json``): retried after the
``Retry-After`` it sends, or 1 s (its window) without one.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from moodrec.providers.base import LookupResult, ProviderError, normalise_title, similarity
from moodrec.providers.config import MusicBrainzConfig
from moodrec.providers.jsonapi import JsonApi

logger = logging.getLogger(__name__)

_RECORDING_INC = "genres+tags+isrcs+artist-credits"
_ARTIST_INC = "genres+tags"


def _counted(items: Any) -> list[dict[str, Any]]:
    """``[{"name", "count"}]`` of a genres/tags list, highest count first (stable)."""
    out = [
        {"name": str(i["name"]), "count": int(i.get("count") or 0)}
        for i in items or []
        if isinstance(i, dict) and i.get("name")
    ]
    return sorted(out, key=lambda d: -d["count"])


def parse_recording(body: dict[str, Any]) -> dict[str, Any]:
    """The fields moodrec keeps from a recording lookup body."""
    credits = body.get("artist-credit") or []
    first = (credits[0].get("artist") or {}) if credits else {}
    return {
        "recording_mbid": body["id"],
        "title": body.get("title"),
        "artist_mbid": first.get("id"),
        "artist_name": first.get("name"),
        "isrcs": [str(i) for i in body.get("isrcs") or []],
        "genres": _counted(body.get("genres")),
        "tags": _counted(body.get("tags")),
    }


def parse_artist(body: dict[str, Any]) -> dict[str, Any]:
    """The fields moodrec keeps from an artist lookup body."""
    return {
        "artist_mbid": body["id"],
        "name": body.get("name"),
        "genres": _counted(body.get("genres")),
        "tags": _counted(body.get("tags")),
    }


def _lucene(text: str) -> str:
    """A phrase safe inside ``"…"`` of a Lucene query."""
    return normalise_title(text).replace("\\", " ").replace('"', " ")


class MusicBrainzProvider:
    """Recording and artist genres/tags/ISRCs from MusicBrainz."""

    name = "musicbrainz"

    def __init__(self, cfg: MusicBrainzConfig, client: httpx.Client | None = None) -> None:
        self.cfg = cfg
        self.api = JsonApi(
            self.name, cfg.base_url, cfg.user_agent, cfg.retry, cfg.rate_limit, client
        )
        self.capabilities: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MusicBrainzProvider(base_url={self.cfg.base_url!r})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.api.close()

    def _get(self, path: str, params: dict[str, str]) -> Any | None:
        return self.api.get(
            f"/ws/2/{path}", {**params, "fmt": "json"}, not_found=(400, 404), status_of=_status_of
        )

    def probe(self) -> dict[str, str]:
        """One search request: ``recording`` and ``artist`` available, or raise.

        Raises
        ------
        ProviderError
            The service refuses us (403: no User-Agent) or fails after retries.
        """
        self._get("recording", {"query": 'recording:"probe"', "limit": "1"})
        self.capabilities = {"recording": "available", "artist": "available"}
        return self.capabilities

    def recording(self, mbid: str | None, artist: str, title: str) -> LookupResult:
        """Genres, tags, ISRCs and artist MBID of a recording: MBID lookup, else search."""
        if mbid:
            body = self._get(f"recording/{mbid}", {"inc": _RECORDING_INC})
            if body is not None:
                return LookupResult("found", {**parse_recording(body), "match": "mbid"})
        hit = self._search(
            "recording",
            f'recording:"{_lucene(title)}" AND artist:"{_lucene(artist)}"',
            lambda rec: min(
                similarity(title, rec.get("title") or ""),
                similarity(artist, _credit_name(rec)),
            ),
        )
        if hit is None:
            return LookupResult("not_found")
        rec_id, score = hit
        body = self._get(f"recording/{rec_id}", {"inc": _RECORDING_INC})
        if body is None:
            return LookupResult("not_found")
        return LookupResult("found", {**parse_recording(body), "match": "search", "score": score})

    def artist(self, mbid: str | None, name: str) -> LookupResult:
        """Genres and tags of an artist: MBID lookup, else search by name."""
        if mbid:
            body = self._get(f"artist/{mbid}", {"inc": _ARTIST_INC})
            if body is not None:
                return LookupResult("found", {**parse_artist(body), "match": "mbid"})
        hit = self._search(
            "artist",
            f'artist:"{_lucene(name)}"',
            lambda a: similarity(name, a.get("name") or ""),
        )
        if hit is None:
            return LookupResult("not_found")
        artist_id, score = hit
        body = self._get(f"artist/{artist_id}", {"inc": _ARTIST_INC})
        if body is None:
            return LookupResult("not_found")
        return LookupResult("found", {**parse_artist(body), "match": "search", "score": score})

    def _search(self, entity: str, query: str, score_of: Any) -> tuple[str, float] | None:
        """The id and score of the best verified hit of a search, or None."""
        body = self._get(entity, {"query": query, "limit": str(self.cfg.search_limit)})
        best: tuple[str, float] | None = None
        for item in (body or {}).get(f"{entity}s", []) or []:
            s = float(score_of(item))
            if s >= self.cfg.min_match and (best is None or s > best[1]):
                best = (item["id"], s)
        return best


def _credit_name(rec: dict[str, Any]) -> str:
    credits = rec.get("artist-credit") or []
    return str(credits[0].get("name") or "") if credits else ""


def _status_of(r: httpx.Response) -> ProviderError | None:
    """MusicBrainz's 503 "exceeding the allowable rate limit": retried after its window."""
    if r.status_code != 503:
        return None
    from moodrec.providers.base import parse_retry_after

    wait = parse_retry_after(r.headers.get("Retry-After"))
    return ProviderError(
        "musicbrainz: HTTP 503 (rate limit)",
        http_status=503,
        retry_after=1.0 if wait is None else wait,
    )
