"""The provider clients of one enrichment run: built from the config and the secrets, probed once.

Adding a provider: its client module in :mod:`moodrec.providers`, a field on
:class:`Providers`, and a line in :func:`build_providers` (and in :func:`with_base_urls` when
the sandbox has a fake server for it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from moodrec.config.base import Secrets
from moodrec.enrich.cache import EnrichCache
from moodrec.enrich.config import PROBE, EnrichConfig
from moodrec.errors import ConfigError
from moodrec.providers.base import LookupResult
from moodrec.providers.deezer import DeezerProvider
from moodrec.providers.features_file import FeaturesFile
from moodrec.providers.genius import GeniusProvider
from moodrec.providers.genre_vocab import GenreVocabulary
from moodrec.providers.lastfm_tags import LastfmTagsProvider
from moodrec.providers.lrclib import LrclibProvider
from moodrec.providers.musicbrainz import MusicBrainzProvider
from moodrec.providers.spotify import SpotifyProvider

logger = logging.getLogger(__name__)


@dataclass
class Providers:
    """The provider clients of one run (any may be absent)."""

    spotify: SpotifyProvider | None = None
    genius: GeniusProvider | None = None
    lrclib: LrclibProvider | None = None
    features_file: FeaturesFile | None = None
    musicbrainz: MusicBrainzProvider | None = None
    lastfm_tags: LastfmTagsProvider | None = None
    deezer: DeezerProvider | None = None
    #: which tags are genres (:mod:`moodrec.providers.genre_vocab`)
    vocabulary: GenreVocabulary = field(default_factory=GenreVocabulary)
    capabilities: dict[str, dict[str, str]] = field(default_factory=dict)

    def probe(self, cache: EnrichCache | None = None) -> dict[str, dict[str, str]]:
        """Probe every provider's reach once per run (skipped while a cached probe is fresh)."""
        if self.spotify is not None and not self.capabilities.get("spotify"):
            hit = cache.get("spotify", PROBE, "capabilities") if cache else None
            if hit is not None and hit.status == "found":
                self.spotify.capabilities = dict(hit.data)
            else:
                self.spotify.probe()
                if cache is not None:
                    cache.put(
                        "spotify",
                        PROBE,
                        "capabilities",
                        LookupResult("found", self.spotify.capabilities),
                    )
                    cache.commit()
            self.capabilities["spotify"] = self.spotify.capabilities
        for client in (self.musicbrainz, self.lastfm_tags, self.deezer):
            if client is not None and not self.capabilities.get(client.name):
                self.capabilities[client.name] = _probe_cached(client, cache)
        return self.capabilities


def _probe_cached(client: Any, cache: EnrichCache | None) -> dict[str, str]:
    """An open provider's probe, from the cache while fresh (one request otherwise)."""
    hit = cache.get(client.name, PROBE, "capabilities") if cache else None
    if hit is not None and hit.status == "found":
        client.capabilities = dict(hit.data)
        return client.capabilities
    caps = client.probe()
    if cache is not None:
        cache.put(client.name, PROBE, "capabilities", LookupResult("found", caps))
        cache.commit()
    return caps


def with_base_urls(
    cfg: EnrichConfig,
    *,
    spotify: str | None,
    genius: str | None,
    lrclib: str | None,
    musicbrainz: str | None = None,
    lastfm_tags: str | None = None,
    deezer: str | None = None,
) -> EnrichConfig:
    """``cfg`` with each configured provider pointed at a base URL (e.g. the fake servers).

    ``spotify`` gets ``/v1/`` and ``/api/token`` below it, ``genius`` serves the API root, the
    public API (``api/``) and the song pages; the open services take their ``base_url``;
    ``None`` leaves a provider as it is.
    """
    update: dict[str, Any] = {}
    for name, url in (
        ("musicbrainz", musicbrainz),
        ("lastfm_tags", lastfm_tags),
        ("deezer", deezer),
    ):
        current = getattr(cfg, name)
        if url and current is not None:
            update[name] = current.model_copy(update={"base_url": url})
    if spotify and cfg.spotify is not None:
        update["spotify"] = cfg.spotify.model_copy(
            update={"api_url": spotify, "token_url": f"{spotify}/api/token"}
        )
    if genius and cfg.genius is not None:
        update["genius"] = cfg.genius.model_copy(
            update={
                "api_root": f"{genius}/",
                "public_api_root": f"{genius}/api/",
                "web_root": f"{genius}/",
            }
        )
    if lrclib and cfg.lrclib is not None:
        update["lrclib"] = cfg.lrclib.model_copy(update={"base_url": lrclib})
    return cfg.model_copy(update=update)


def build_providers(cfg: EnrichConfig, secrets: Secrets) -> Providers:
    """Clients for the configured providers; one without credentials is left out (logged).

    Raises
    ------
    ConfigError
        No provider at all could be built.
    """
    p = Providers()
    if cfg.spotify is not None:
        if secrets.spotify_client_id and secrets.spotify_client_secret:
            p.spotify = SpotifyProvider(
                cfg.spotify, secrets.spotify_client_id, secrets.spotify_client_secret
            )
        else:
            logger.warning("spotify: no client id/secret in the environment; provider skipped")
    if cfg.genius is not None:
        if secrets.genius_token:
            p.genius = GeniusProvider(cfg.genius, secrets.genius_token)
        else:
            logger.warning("genius: no token in the environment; provider skipped")
    if cfg.lrclib is not None:
        p.lrclib = LrclibProvider(cfg.lrclib)
    if cfg.features_file is not None:
        p.features_file = FeaturesFile(cfg.features_file)
    _build_open(p, cfg, secrets)
    if not any(
        (p.spotify, p.genius, p.lrclib, p.features_file, p.musicbrainz, p.lastfm_tags, p.deezer)
    ):
        raise ConfigError("enrich: no provider is configured with credentials")
    return p


def _build_open(p: Providers, cfg: EnrichConfig, secrets: Secrets) -> None:
    """The open sources: MusicBrainz and Deezer need no key; Last.fm without its key is
    reported ``unavailable`` (never probed)."""
    p.vocabulary = GenreVocabulary.with_file(cfg.genre_vocabulary_path)
    if cfg.musicbrainz is not None:
        p.musicbrainz = MusicBrainzProvider(cfg.musicbrainz)
    if cfg.deezer is not None:
        p.deezer = DeezerProvider(cfg.deezer)
    if cfg.lastfm_tags is not None:
        if secrets.lastfm_api_key:
            p.lastfm_tags = LastfmTagsProvider(cfg.lastfm_tags, secrets.lastfm_api_key)
        else:
            logger.warning("lastfm_tags: no MOODREC_LASTFM_API_KEY in the environment; unavailable")
            p.capabilities["lastfm_tags"] = {
                "track_tags": "unavailable",
                "artist_tags": "unavailable",
            }
