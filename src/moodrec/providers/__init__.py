"""Metadata providers (pure, no Prefect): Spotify, Genius, LRCLIB and a features file."""

from moodrec.providers.base import (
    STATUSES,
    LookupResult,
    ProviderError,
    RateLimitExceeded,
    RetryConfig,
    Status,
)

__all__ = [
    "STATUSES",
    "LookupResult",
    "ProviderError",
    "RateLimitExceeded",
    "RetryConfig",
    "Status",
]
