"""Config of the fake servers that stand in for Spotify, Genius and LRCLIB in sandbox runs.

It lives beside the enrichment config (``enrich.sandbox_servers``), not in
:mod:`moodrec.sandbox`, so that loading the config never imports the sandbox package.
"""

from __future__ import annotations

from pydantic import Field

from moodrec.stage_config import StageConfig


class RateLimitFault(StageConfig):
    """The server's rolling-window limit: over ``max_requests`` per ``window_s`` → 429."""

    max_requests: int = Field(default=60, ge=0)
    window_s: float = Field(default=30.0, gt=0)
    retry_after_s: float = Field(default=1.0, ge=0)


class FakeServersConfig(StageConfig):
    """How the fake servers behave in a sandbox run (the 2026 reality and injected faults).

    Defaults imitate what the recorded fixtures show for a new app in 2026: audio features
    closed, development mode (no batch endpoints, no popularity/followers, empty genres).
    """

    spotify_audio_features_closed: bool = True
    spotify_dev_mode: bool = True
    genius_cloudflare: bool = False
    rate_limit: RateLimitFault | None = None
    error_rate: float = Field(default=0.0, ge=0, le=1)
    reset_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    slow_rate: float = Field(default=0.0, ge=0, le=1)
    slow_s: float = Field(default=0.0, ge=0)
    token_ttl_s: int = Field(default=3600, ge=1)
    spotify_share: float = Field(default=0.9, ge=0, le=1)
    lrclib_share: float = Field(default=0.8, ge=0, le=1)
    seed: int = Field(default=0, ge=0)
