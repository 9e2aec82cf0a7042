"""LRCLIB provider (httpx, keyless): ``/api/get`` then ``/api/search``; the lyrics fallback."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from moodrec.providers.base import (
    LookupResult,
    ProviderError,
    call_with_retries,
    normalise_title,
    parse_retry_after,
    similarity,
)
from moodrec.providers.config import LrclibConfig
from moodrec.providers.ratelimit import LimitedTransport

logger = logging.getLogger(__name__)


class LrclibProvider:
    """Plain lyrics from LRCLIB."""

    name = "lrclib"

    def __init__(self, cfg: LrclibConfig, client: httpx.Client | None = None) -> None:
        self.cfg = cfg
        self._client = client or httpx.Client(
            base_url=cfg.base_url,
            headers={"User-Agent": cfg.user_agent},
            timeout=cfg.retry.timeout_s,
            transport=LimitedTransport(
                cfg.rate_limit,
                max_pause_s=cfg.retry.max_retry_after_s,
                unreachable_after=cfg.retry.unreachable_after,
            ),
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _get(self, path: str, params: dict[str, str], shape: type) -> Any | None:
        """JSON body of type ``shape``, ``None`` for ``404 TrackNotFound``; other failures
        raise (a body that is not JSON, or not a ``shape``, is a retryable ``error``)."""

        def call() -> Any | None:
            try:
                r = self._client.get(path, params=params)
            except httpx.HTTPError as exc:
                raise ProviderError(f"lrclib {path}: {type(exc).__name__}") from None
            if r.status_code == 404:
                return None
            if r.status_code >= 400:
                raise ProviderError(
                    f"lrclib {path}: HTTP {r.status_code}",
                    status="blocked" if r.status_code == 403 else "error",
                    http_status=r.status_code,
                    retry_after=parse_retry_after(r.headers.get("Retry-After"))
                    if r.status_code == 429
                    else None,
                )
            try:
                body = r.json()
            except ValueError as exc:
                raise ProviderError(f"lrclib {path}: bad body ({exc})") from None
            if not isinstance(body, shape):
                raise ProviderError(f"lrclib {path}: unexpected answer shape")
            return body

        return call_with_retries(self.cfg.retry, call)

    def lyrics(self, artist: str, title: str) -> LookupResult:
        """Exact ``/api/get`` first, then the best verified ``/api/search`` hit."""
        record = self._get(
            "/api/get",
            {"artist_name": normalise_title(artist), "track_name": normalise_title(title)},
            dict,
        )
        candidates = [record] if record else []
        if not candidates:
            found = self._get(
                "/api/search",
                {"artist_name": normalise_title(artist), "track_name": normalise_title(title)},
                list,
            )
            candidates = list(found or [])
        for rec in candidates:
            s = min(
                similarity(title, rec.get("trackName") or ""),
                similarity(artist, rec.get("artistName") or ""),
            )
            if s < self.cfg.min_match:
                continue
            if rec.get("instrumental"):
                return LookupResult("not_found", detail="instrumental")
            text = rec.get("plainLyrics")
            if text:
                return LookupResult(
                    "found", {"text": text, "match_score": s, "lrclib_id": rec["id"]}
                )
        return LookupResult("not_found")
