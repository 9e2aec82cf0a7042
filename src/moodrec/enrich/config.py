"""Settings of the enrichment stage: providers and their order, batches, cache, fake servers.

A leaf of the import graph: it imports only other config modules (the providers' settings in
:mod:`moodrec.providers.config`), so the root ``Settings`` can assemble it without loading a
provider client, the cache or the sandbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from moodrec.providers.config import (
    AcousticBrainzDumpConfig,
    DeezerConfig,
    FeaturesFileConfig,
    GeniusConfig,
    LastfmTagsConfig,
    LrclibConfig,
    MusicBrainzConfig,
    SpotifyConfig,
)
from moodrec.stage_config import StageConfig

_DAY = 86_400.0
PROBE = "probe"  # the capability name of a provider's reach probe (cached like an answer)


#: the statuses of a settled answer: a well-formed reply about the key itself. Only these are
#: cached; ``unavailable``, ``blocked``, ``rate_limited`` and ``error`` are asked again by the
#: next plain run (a closed capability is known from the probe, keyed on the credentials)
SETTLED = ("found", "not_found")


class CacheConfig(StageConfig):
    """Where settled answers are cached and for how long (seconds; 0 = not cached).

    Only ``found`` and ``not_found`` answers are cached (:data:`SETTLED`); the probe of a
    provider's reach for ``probe_ttl_s``, keyed on a fingerprint of the credentials and the
    provider's settings.
    """

    enabled: bool = True
    found_ttl_s: float = Field(default=90 * _DAY, ge=0)
    not_found_ttl_s: float = Field(default=30 * _DAY, ge=0)
    probe_ttl_s: float = Field(default=1 * _DAY, ge=0)
    busy_timeout_s: float = Field(default=30.0, ge=0)

    def ttl(self, capability: str, status: str) -> float:
        """Seconds a row of ``status`` (or a probe result) stays fresh; 0 for an unsettled one."""
        if capability == PROBE:
            return self.probe_ttl_s
        if status == "found":
            return self.found_ttl_s
        if status == "not_found":
            return self.not_found_ttl_s
        return 0.0


class RateLimitFault(StageConfig):
    """The server's rolling-window limit: over ``max_requests`` per ``window_s`` → 429."""

    max_requests: int = Field(default=60, ge=0)
    window_s: float = Field(default=30.0, gt=0)
    retry_after_s: float = Field(default=1.0, ge=0)


class FakeServersConfig(StageConfig):
    """How the fake servers behave in a sandbox run (the 2026 reality and injected faults).

    Defaults imitate what the recorded fixtures show for a new app in 2026: audio features
    closed, development mode (no batch endpoints, no popularity/followers, empty genres).
    It lives beside the enrichment config (``enrich.sandbox_servers``), not in
    :mod:`moodrec.sandbox`, so that loading the config never imports the sandbox package.
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
    # the open services (MusicBrainz, Last.fm, Deezer) enforce their published rates and
    # answer over them in their own shapes (503 / error 29 / quota error 4)
    open_rate_limits: bool = False


class EnrichConfig(StageConfig):
    """The enrichment stage: which providers, in which order, batch size and track cap.

    ``max_tracks`` keeps the most-played tracks only (ties by ``track_id``); ``None`` enriches
    the whole catalogue. ``workers`` threads send per-track lookups concurrently (the per-host
    rate limiter is shared by all of them). ``sandbox_servers`` sets the fake servers a
    sandbox run starts (``ingest.source: sandbox``); other runs ignore it.
    """

    batch_size: int = Field(default=2000, ge=1)
    max_tracks: int | None = Field(default=None, ge=1)
    workers: int = Field(default=4, ge=1, le=64)
    # Prefect retries of a batch that failed for a retryable reason (429 over the cap, 5xx)
    batch_retries: int = Field(default=3, ge=0)
    batch_retry_delays_s: tuple[float, ...] = (30.0, 120.0, 600.0)
    features_order: tuple[Literal["spotify", "features_file", "acousticbrainz_dump"], ...] = (
        "spotify",
        "features_file",
        "acousticbrainz_dump",
    )
    genres_order: tuple[Literal["spotify", "features_file", "musicbrainz", "lastfm_tags"], ...] = (
        "spotify",
        "features_file",
    )
    lyrics_order: tuple[Literal["genius", "lrclib"], ...] = ("genius", "lrclib")
    spotify: SpotifyConfig | None = SpotifyConfig()
    genius: GeniusConfig | None = GeniusConfig()
    lrclib: LrclibConfig | None = LrclibConfig()
    features_file: FeaturesFileConfig | None = None
    # the open sources (issue 17): off unless a profile turns them on
    musicbrainz: MusicBrainzConfig | None = None
    lastfm_tags: LastfmTagsConfig | None = None
    deezer: DeezerConfig | None = None
    #: more genre names for filtering tags (one a line; e.g. HetRec's genre tags), see
    #: :mod:`moodrec.providers.genre_vocab`
    genre_vocabulary_path: Path | None = None
    #: AcousticBrainz dump files (moods, bpm, key; valence/energy through a mood mapping)
    acousticbrainz_dump: AcousticBrainzDumpConfig | None = None
    cache: CacheConfig = CacheConfig()
    sandbox_servers: FakeServersConfig = FakeServersConfig()
