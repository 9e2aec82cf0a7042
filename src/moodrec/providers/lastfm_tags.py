"""Last.fm top tags (httpx; API key from the environment): ``track.getTopTags``,
``artist.getTopTags``, by MusicBrainz id first, then by names (``autocorrect=1``).

Last.fm puts failures in the body (``{"error": 6, "message": "Track not found"}``), with HTTP
200 or 4xx. Error 6 is "no data"; 29 (rate limit) is retried after ``rate_limited_wait_s``;
10/26 (invalid or suspended key) make the provider ``blocked``; 11/16 (temporarily
unavailable) are retried like a 5xx. Without a key the provider is not built and the
capability is reported ``unavailable``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from pydantic import SecretStr

from moodrec.providers.base import LookupResult, ProviderError
from moodrec.providers.config import LastfmTagsConfig
from moodrec.providers.jsonapi import JsonApi

logger = logging.getLogger(__name__)

NOT_FOUND_CODES = frozenset({6})
KEY_CODES = frozenset({10, 26})
TEMPORARY_CODES = frozenset({8, 11, 16})
RATE_LIMIT_CODE = 29


def parse_top_tags(body: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"name", "count"}]`` of a ``toptags`` body, in Last.fm's order (count descending)."""
    tags = (body.get("toptags") or {}).get("tag") or []
    if isinstance(tags, dict):  # a single tag comes as an object, not a list
        tags = [tags]
    return [
        {"name": str(t["name"]), "count": int(t.get("count") or 0)}
        for t in tags
        if isinstance(t, dict) and t.get("name")
    ]


class LastfmTagsProvider:
    """Track and artist top tags from Last.fm."""

    name = "lastfm_tags"

    def __init__(
        self, cfg: LastfmTagsConfig, api_key: SecretStr, client: httpx.Client | None = None
    ) -> None:
        self.cfg = cfg
        self._key = api_key
        self.api = JsonApi(
            self.name, cfg.base_url, cfg.user_agent, cfg.retry, cfg.rate_limit, client
        )
        self.capabilities: dict[str, str] = {}

    def __repr__(self) -> str:  # never the key
        return f"LastfmTagsProvider(base_url={self.cfg.base_url!r})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.api.close()

    def _check(self, body: Any) -> bool:
        """Raise for an error body; True for "not found"."""
        if not isinstance(body, dict) or "error" not in body:
            return False
        code = body.get("error")
        if not isinstance(code, int) or isinstance(code, bool):
            # not Last.fm's envelope (e.g. a gateway's 5xx error object, whose "error" is an
            # object): judged by its HTTP status, as any other failed answer
            return False
        msg = f"lastfm error {code}"
        if code in NOT_FOUND_CODES:
            return True
        if code == RATE_LIMIT_CODE:
            raise ProviderError(
                f"{msg} (rate limit)", http_status=429, retry_after=self.cfg.rate_limited_wait_s
            )
        if code in KEY_CODES:
            raise ProviderError(f"{msg} (API key refused)", status="blocked", http_status=403)
        if code in TEMPORARY_CODES:
            raise ProviderError(f"{msg} (temporarily unavailable)", http_status=503)
        raise ProviderError(msg, http_status=400)

    def _call(self, method: str, params: dict[str, str]) -> Any | None:
        query = {
            **params,
            "method": method,
            "api_key": self._key.get_secret_value(),
            "format": "json",
        }
        return self.api.get("/2.0/", query, body_error=self._check, not_found=())

    def probe(self) -> dict[str, str]:
        """One ``artist.getTopTags`` call: ``available``, or ``unavailable`` for a refused key.

        Raises
        ------
        ProviderError
            The service fails for another reason (after retries).
        """
        try:
            self._call("artist.gettoptags", {"artist": "Radiohead", "autocorrect": "1"})
            state = "available"
        except ProviderError as exc:
            if exc.status != "blocked":
                raise
            state = "unavailable"
        self.capabilities = {"track_tags": state, "artist_tags": state}
        return self.capabilities

    def _tags(
        self, method: str, by_mbid: dict[str, str] | None, by_name: dict[str, str]
    ) -> LookupResult:
        for params in ([by_mbid] if by_mbid else []) + [{**by_name, "autocorrect": "1"}]:
            body = self._call(method, params)
            if body is None:
                continue
            tags = [t for t in parse_top_tags(body) if t["count"] >= self.cfg.min_count]
            tags = tags[: self.cfg.max_tags]
            if tags:
                return LookupResult(
                    "found", {"tags": tags, "match": "mbid" if params is by_mbid else "name"}
                )
        return LookupResult("not_found")

    def track_tags(self, mbid: str | None, artist: str, title: str) -> LookupResult:
        """Top tags of a track (``count >= min_count``, at most ``max_tags``)."""
        return self._tags(
            "track.gettoptags", {"mbid": mbid} if mbid else None, {"artist": artist, "track": title}
        )

    def artist_tags(self, mbid: str | None, name: str) -> LookupResult:
        """Top tags of an artist (``count >= min_count``, at most ``max_tags``)."""
        return self._tags("artist.gettoptags", {"mbid": mbid} if mbid else None, {"artist": name})
