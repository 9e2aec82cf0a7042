"""What every metadata provider shares: statuses, errors, query normalisation, retries.

Statuses (one per key and capability):

``found``        the provider answered with data for the key
``not_found``    the provider answered and has nothing for the key (a real negative)
``unavailable``  the capability is closed to these credentials (e.g. a 403 probe);
                 never stored as empty data
``blocked``      the provider refused us (Cloudflare 403 page, 401); not "no data"
``rate_limited`` the server asked to wait longer than the configured cap; retried later
``error``        anything else (5xx after retries, malformed body); retried next run
"""

from __future__ import annotations

import logging
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception

from moodrec.errors import MoodrecError
from moodrec.providers.config import RetryConfig

logger = logging.getLogger(__name__)

Status = Literal["found", "not_found", "unavailable", "blocked", "rate_limited", "error"]
STATUSES: tuple[Status, ...] = (
    "found",
    "not_found",
    "unavailable",
    "blocked",
    "rate_limited",
    "error",
)

T = TypeVar("T")


class ProviderError(MoodrecError):
    """A provider call failed; ``status`` says how (``blocked``, ``unavailable``, ``error``).

    Messages never contain credentials: they name the provider, endpoint and HTTP status only.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Status = "error",
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status: Status = status
        self.http_status = http_status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """True for 429, 5xx and transport failures (no HTTP status)."""
        return self.http_status is None or self.http_status == 429 or self.http_status >= 500


class RateLimitExceeded(ProviderError):
    """The server asked us to wait longer than the configured cap; the batch must fail.

    Prefect (``retry_condition_fn``) reschedules the batch task later instead of a worker
    sleeping for hours.
    """


#: a probed capability whose host refused connections or timed out in a row (not a status:
#: its keys are ``error``, unsettled, and asked again by the next run)
UNREACHABLE = "unreachable"


class HostUnreachable(ProviderError):
    """The host refused connections or timed out too many times in a row in this run.

    Raised before a request is sent, never retried; the key stays ``error`` (unsettled: not
    cached, asked again by the next run) and the stage moves on.
    """


@dataclass
class LookupResult:
    """One key's answer from one provider capability."""

    status: Status
    data: dict[str, Any] = field(default_factory=dict)
    detail: str = ""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form), or None."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _wait_for(cfg: RetryConfig) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            return exc.retry_after
        # exponential backoff with full jitter for 5xx / transport errors
        ceiling = min(cfg.backoff_max_s, cfg.backoff_base_s * 2 ** (state.attempt_number - 1))
        return random.uniform(0, ceiling)

    return wait


def _retryable(cfg: RetryConfig) -> Callable[[BaseException], bool]:
    def check(exc: BaseException) -> bool:
        if not isinstance(exc, ProviderError) or isinstance(
            exc, (RateLimitExceeded, HostUnreachable)
        ):
            return False
        if exc.retry_after is not None and exc.retry_after > cfg.max_retry_after_s:
            return False
        return exc.retryable

    return check


def _stop(cfg: RetryConfig) -> Callable[[RetryCallState], bool]:
    """Stop after ``max_attempts`` failures, or ``max_rate_limited_attempts`` when the last
    one was a 429 (counted apart: pacing by the server is not a fault of the key)."""

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        n = state.attempt_number
        if isinstance(exc, ProviderError) and exc.http_status == 429:
            return n >= cfg.max_rate_limited_attempts
        return n >= cfg.max_attempts

    return stop


def call_with_retries(cfg: RetryConfig, fn: Callable[[], T], *, sleep: Any = None) -> T:
    """Call ``fn`` and retry retryable :class:`ProviderError` s (tenacity).

    A 429 waits exactly its ``Retry-After`` (up to ``cfg.max_rate_limited_attempts`` times);
    one above ``cfg.max_retry_after_s`` raises :class:`RateLimitExceeded` at once. 5xx and
    transport errors back off exponentially with jitter. Other 4xx are raised at once.

    Raises
    ------
    RateLimitExceeded
        ``Retry-After`` above the cap.
    ProviderError
        Non-retryable failure, or retries exhausted (the last error).
    """
    kwargs: dict[str, Any] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    retrying = Retrying(
        retry=retry_if_exception(_retryable(cfg)),
        wait=_wait_for(cfg),
        stop=_stop(cfg),
        reraise=True,
        **kwargs,
    )
    try:
        return retrying(fn)
    except ProviderError as exc:
        if exc.retry_after is not None and exc.retry_after > cfg.max_retry_after_s:
            raise RateLimitExceeded(
                f"{exc} (Retry-After {exc.retry_after:.0f}s > cap {cfg.max_retry_after_s:.0f}s)",
                status="rate_limited",
                http_status=exc.http_status,
                retry_after=exc.retry_after,
            ) from exc
        raise


_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_FEAT = re.compile(r"\s+(?:feat\.?|ft\.?|featuring|&|with)\s.*$", re.IGNORECASE)
_DASH_TAIL = re.compile(r"\s+-\s+.*$")
_QUOTES = re.compile(r"[\"'`´‘’“”]")


def normalise_title(text: str) -> str:
    """The seed's query normalisation of a track title or artist name.

    Strips ``(…)``/``[…]`` parts, ``feat.``/``&…`` tails, quotes and a leading ``The``;
    keeps case (Spotify search is case-insensitive).
    """
    s = unicodedata.normalize("NFKC", text)
    s = _BRACKETS.sub(" ", s)
    s = _FEAT.sub("", s)
    s = _QUOTES.sub("", s)
    s = re.sub(r"^\s*the\s+", "", s, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", s).strip()


def fallback_title(text: str) -> str:
    """A looser title for the fallback query: also drops a `` - Remix``-style tail."""
    return _DASH_TAIL.sub("", normalise_title(text)).strip()


def match_key(text: str) -> str:
    """Lower-case, accent-free, punctuation-free form for fuzzy comparison and join keys."""
    s = normalise_title(text).casefold()
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = re.sub(r"[^\w\s]", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def similarity(a: str, b: str) -> float:
    """Normalised similarity in [0, 1] of two names after :func:`match_key` (rapidfuzz)."""
    from rapidfuzz import fuzz

    return float(fuzz.ratio(match_key(a), match_key(b))) / 100.0
