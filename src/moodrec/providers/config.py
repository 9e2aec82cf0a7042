"""Settings of every metadata provider: retries, per-host rate limits, one model per provider.

A leaf: it imports no HTTP client, so loading the enrich config never loads spotipy,
lyricsgenius or httpx. A new provider adds its settings model here and its client module
beside it (``providers/<name>.py``), which imports the model from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from moodrec.stage_config import StageConfig


class RetryConfig(StageConfig):
    """Retries of one provider's HTTP calls (429 honours ``Retry-After`` up to a cap)."""

    max_attempts: int = Field(default=5, ge=1)
    # a 429 within the cap is the server pacing us, not a failure: it has its own budget
    max_rate_limited_attempts: int = Field(default=30, ge=1)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    max_retry_after_s: float = Field(default=60.0, ge=0)
    timeout_s: float = Field(default=10.0, gt=0)
    # connection refusals / timeouts in a row (any key, any worker) after which the host is
    # marked unreachable for the rest of the run: its keys stay unsettled, the stage moves on
    unreachable_after: int = Field(default=3, ge=1)


class RateLimitConfig(StageConfig):
    """At most ``requests`` per rolling ``window_s`` and ``max_concurrency`` in flight, per host."""

    requests: int = Field(default=60, ge=1)
    window_s: float = Field(default=30.0, gt=0)
    max_concurrency: int = Field(default=4, ge=1)
    max_wait_s: float = Field(default=120.0, ge=0)
    # the server counts arrivals, we count departures: a request that left just after the
    # window slid may arrive just before, so the window is held this much longer
    margin_s: float = Field(default=0.05, ge=0)


class SpotifyConfig(StageConfig):
    """Spotify Web API settings (credentials come from ``Settings.secrets``)."""

    api_url: str = "https://api.spotify.com"
    token_url: str = "https://accounts.spotify.com/api/token"
    search_limit: int = Field(default=5, ge=1, le=10)  # 2026: limit > 10 → 400 Invalid limit
    min_match: float = Field(default=0.6, ge=0, le=1)
    features_batch: int = Field(default=100, ge=1, le=100)
    artists_batch: int = Field(default=50, ge=1, le=50)
    retry: RetryConfig = RetryConfig()
    # Spotify allows "a few" requests per second over a rolling 30 s window
    rate_limit: RateLimitConfig | None = RateLimitConfig(
        requests=90, window_s=30.0, max_concurrency=2
    )


class GeniusConfig(StageConfig):
    """Genius settings (the token comes from ``Settings.secrets.genius_token``)."""

    api_root: str = "https://api.genius.com/"
    public_api_root: str = "https://genius.com/api/"
    web_root: str = "https://genius.com/"
    min_title_match: float = Field(default=0.6, ge=0, le=1)
    min_artist_match: float = Field(default=0.6, ge=0, le=1)
    per_page: int = Field(default=5, ge=1, le=20)
    retry: RetryConfig = RetryConfig()
    rate_limit: RateLimitConfig | None = RateLimitConfig(
        requests=5, window_s=1.0, max_concurrency=2, margin_s=0.0
    )


class LrclibConfig(StageConfig):
    """LRCLIB settings; LRCLIB asks every client to identify itself in ``User-Agent``."""

    base_url: str = "https://lrclib.net"
    user_agent: str = "moodrec/0.1 (https://github.com/moodrec/moodrec)"
    min_match: float = Field(default=0.6, ge=0, le=1)
    retry: RetryConfig = RetryConfig()
    rate_limit: RateLimitConfig | None = RateLimitConfig(
        requests=10, window_s=1.0, max_concurrency=4
    )


class FeaturesFileConfig(StageConfig):
    """Where the file is and what its key / genre columns are called."""

    path: Path
    spotify_id_column: str | None = None
    isrc_column: str | None = None
    mbid_column: str | None = None
    artist_column: str | None = "Artist"
    title_column: str | None = "Title"
    genres_column: str | None = "Artist_Genres"
    genres_separator: str = ","


#: moodrec's descriptive User-Agent (MusicBrainz rejects anonymous clients; LRCLIB asks for one)
USER_AGENT = "moodrec/0.1 ( https://github.com/moodrec/moodrec )"


class MusicBrainzConfig(StageConfig):
    """MusicBrainz web service (``/ws/2``, ``fmt=json``; no key).

    The published policy is 1 request per second per client with a descriptive
    ``User-Agent``; over it the service answers ``503`` with a JSON ``error`` body.
    """

    base_url: str = "https://musicbrainz.org"
    user_agent: str = USER_AGENT
    min_match: float = Field(default=0.6, ge=0, le=1)
    search_limit: int = Field(default=5, ge=1, le=100)
    retry: RetryConfig = RetryConfig()
    # margin 0: pyrate-limiter already waits 50 ms past each window (its buffer), which
    # keeps arrivals apart; with the default margin on top the client reaches only 91 %
    rate_limit: RateLimitConfig | None = RateLimitConfig(
        requests=1, window_s=1.0, max_concurrency=1, margin_s=0.0
    )


class LastfmTagsConfig(StageConfig):
    """Last.fm API 2.0 top tags (the API key comes from ``MOODREC_LASTFM_API_KEY``).

    Last.fm asks for at most ~5 requests per second per key (error 29 above it).
    ``min_count`` drops tags Last.fm weights below it (counts are 0–100 per item).
    """

    base_url: str = "https://ws.audioscrobbler.com"
    user_agent: str = USER_AGENT
    min_count: int = Field(default=10, ge=0, le=100)
    max_tags: int = Field(default=20, ge=1)
    rate_limited_wait_s: float = Field(default=1.0, ge=0)
    retry: RetryConfig = RetryConfig()
    rate_limit: RateLimitConfig | None = RateLimitConfig(
        requests=5, window_s=1.0, max_concurrency=2, margin_s=0.0
    )


class DeezerConfig(StageConfig):
    """Deezer public API (no key). Documented quota: 50 requests per 5 s per IP; over it
    Deezer answers ``200`` with ``{"error": {"code": 4, "message": "Quota limit exceeded"}}``.
    """

    base_url: str = "https://api.deezer.com"
    user_agent: str = USER_AGENT
    min_match: float = Field(default=0.6, ge=0, le=1)
    search_limit: int = Field(default=5, ge=1, le=100)
    quota_wait_s: float = Field(default=5.0, ge=0)
    retry: RetryConfig = RetryConfig()
    rate_limit: RateLimitConfig | None = RateLimitConfig(
        requests=50, window_s=5.0, max_concurrency=4
    )


class AcousticBrainzDumpConfig(StageConfig):
    """Where the AcousticBrainz dump files are and how moods map to valence × energy.

    ``paths``: dump files or folders (``.tar.zst`` archives as published, plain ``.tar``,
    loose ``.json``/``.jsonl``/``.csv``); only the catalogue's recording MBIDs are kept.
    ``submissions``: how duplicates of one MBID combine (about 4 per MBID in the 2022 dumps).
    ``mood_mapping``: the named valence/energy mapping
    (:mod:`moodrec.providers.acousticbrainz_mood`). No network, no key, no rate limit.
    """

    #: empty in a sandbox profile: a sandbox run reads the world's own dumps
    paths: tuple[Path, ...] = ()
    mood_mapping: Literal["formula", "sandbox_fit"] = "sandbox_fit"
    #: several submissions of one MBID: average their numbers, or keep the lowest offset's
    submissions: Literal["mean", "lowest_offset"] = "mean"
