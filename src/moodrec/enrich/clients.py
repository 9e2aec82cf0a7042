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
from moodrec.providers.features_file import FeaturesFile
from moodrec.providers.genius import GeniusProvider
from moodrec.providers.lrclib import LrclibProvider
from moodrec.providers.spotify import SpotifyProvider

logger = logging.getLogger(__name__)


@dataclass
class Providers:
    """The provider clients of one run (any may be absent)."""

    spotify: SpotifyProvider | None = None
    genius: GeniusProvider | None = None
    lrclib: LrclibProvider | None = None
    features_file: FeaturesFile | None = None
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
        return self.capabilities


def with_base_urls(
    cfg: EnrichConfig, *, spotify: str | None, genius: str | None, lrclib: str | None
) -> EnrichConfig:
    """``cfg`` with each configured provider pointed at a base URL (e.g. the fake servers).

    ``spotify`` gets ``/v1/`` and ``/api/token`` below it, ``genius`` serves the API root, the
    public API (``api/``) and the song pages; ``None`` leaves a provider as it is.
    """
    update: dict[str, Any] = {}
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
    if not any((p.spotify, p.genius, p.lrclib, p.features_file)):
        raise ConfigError("enrich: no provider is configured with credentials")
    return p
