"""One keyless JSON web API over httpx: limiter, ``User-Agent``, failures as statuses.

MusicBrainz, Last.fm and Deezer share it. Each answers some failures with HTTP 200 and an
error object in the body (Last.fm ``{"error": 29, ...}``, Deezer ``{"error": {"code": 4}}``);
their client passes ``body_error``, which turns such a body into a :class:`ProviderError`
(a quota answer gets ``http_status=429`` and a ``retry_after``, so it is retried like a
429) or into ``None`` ("no data for this key").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from moodrec.providers.base import ProviderError, Status, call_with_retries, parse_retry_after
from moodrec.providers.config import RateLimitConfig, RetryConfig
from moodrec.providers.ratelimit import LimitedTransport

logger = logging.getLogger(__name__)

#: ``body_error(body)``: raise a ProviderError, return True for "not found", False for data
BodyCheck = Callable[[Any], bool]
_NO_DATA = object()


class JsonApi:
    """GET JSON from one host under its rate limit, with :func:`call_with_retries`.

    Parameters
    ----------
    name
        Provider name used in error messages (never a credential).
    base_url, user_agent, retry, rate_limit
        From the provider's settings.
    client
        An httpx client to use instead (tests); it then owns its own transport.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        user_agent: str,
        retry: RetryConfig,
        rate_limit: RateLimitConfig | None,
        client: httpx.Client | None = None,
    ) -> None:
        self.name = name
        self.retry = retry
        self._client = client or httpx.Client(
            base_url=base_url,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            timeout=retry.timeout_s,
            transport=LimitedTransport(
                rate_limit,
                max_pause_s=retry.max_retry_after_s,
                unreachable_after=retry.unreachable_after,
            ),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def get(
        self,
        path: str,
        params: dict[str, str] | None = None,
        *,
        body_error: BodyCheck | None = None,
        not_found: tuple[int, ...] = (404,),
        status_of: Callable[[httpx.Response], ProviderError | None] | None = None,
    ) -> Any | None:
        """The JSON body of ``GET path``; ``None`` when the service has nothing for it.

        Raises
        ------
        ProviderError
            Transport failure, a non-2xx answer other than ``not_found`` (after retries for
            429/5xx), a malformed body, or an error body (``body_error``).
        """

        def call() -> Any:
            try:
                r = self._client.get(path, params=params)
            except httpx.HTTPError as exc:
                raise ProviderError(f"{self.name} {path}: {type(exc).__name__}") from None
            if r.status_code in not_found:
                return _NO_DATA
            if status_of is not None:
                special = status_of(r)
                if special is not None:
                    raise special
            if r.status_code >= 400 and body_error is not None:
                # Last.fm sends its error object with 4xx too (e.g. 429 + error 29)
                try:
                    err_body = r.json()
                except ValueError:
                    err_body = None
                if err_body is not None and body_error(err_body):
                    return _NO_DATA
            if r.status_code >= 400:
                kind: Status = "blocked" if r.status_code in (401, 403) else "error"
                raise ProviderError(
                    f"{self.name} {path}: HTTP {r.status_code}",
                    status=kind,
                    http_status=r.status_code,
                    retry_after=parse_retry_after(r.headers.get("Retry-After"))
                    if r.status_code in (429, 503)
                    else None,
                )
            try:
                body = r.json()
            except ValueError as exc:
                raise ProviderError(f"{self.name} {path}: bad body ({exc})") from None
            if body_error is not None and body_error(body):
                return _NO_DATA
            return body

        out = call_with_retries(self.retry, call)
        return None if out is _NO_DATA else out
