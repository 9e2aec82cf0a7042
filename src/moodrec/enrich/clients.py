"""The provider clients of one enrichment run: built from the config and the secrets, probed once.

Adding a provider: its client module in :mod:`moodrec.providers`, a field on
:class:`Providers`, and a line in :func:`build_providers` (and in :func:`with_base_urls` when
the sandbox has a fake server for it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, SecretStr

from moodrec.config.base import Secrets
from moodrec.enrich.cache import EnrichCache
from moodrec.enrich.config import PROBE, EnrichConfig
from moodrec.enrich.plan import result_settings
from moodrec.errors import ConfigError
from moodrec.providers.acousticbrainz import AcousticBrainzDump
from moodrec.providers.base import UNREACHABLE, HostUnreachable, LookupResult
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
    acousticbrainz_dump: AcousticBrainzDump | None = None
    capabilities: dict[str, dict[str, str]] = field(default_factory=dict)
    #: :func:`reach_digest` of the credentials and settings (in memory only, never stored)
    reach: bytes = field(default=b"", repr=False)

    def probe(self, cache: EnrichCache | None = None) -> dict[str, dict[str, str]]:
        """Probe every provider's reach once per run (skipped while a cached probe is fresh).

        The cached probe is keyed on the salted fingerprint of :attr:`reach`: other
        credentials, URLs or provider settings probe again.
        """
        if self.spotify is not None and not self.capabilities.get("spotify"):
            key = f"capabilities:{cache.fingerprint(self.reach)}" if cache else ""
            hit = cache.get("spotify", PROBE, key) if cache else None
            if hit is not None and hit.status == "found":
                self.spotify.capabilities = dict(hit.data)
            else:
                self.spotify.probe()
                # an unreachable host says nothing about the credentials: probe again next run
                if cache is not None and UNREACHABLE not in self.spotify.capabilities.values():
                    caps = LookupResult("found", self.spotify.capabilities)
                    cache.put("spotify", PROBE, key, caps)
                    cache.commit()
            self.capabilities["spotify"] = dict(self.spotify.capabilities)
        for client in (self.musicbrainz, self.lastfm_tags, self.deezer):
            if client is not None and not self.capabilities.get(client.name):
                self.capabilities[client.name] = _probe_cached(client, cache, self.reach)
        return self.capabilities

    def live_capabilities(self) -> dict[str, dict[str, str]]:
        """The probed capabilities plus what the clients closed since (e.g. Spotify genres
        found to be unserved in development mode during a batch)."""
        caps = dict(self.capabilities)
        for client in (self.spotify, self.musicbrainz, self.lastfm_tags, self.deezer):
            if client is not None and client.capabilities:
                caps[client.name] = {**caps.get(client.name, {}), **client.capabilities}
        return caps

    def prepare(self, tracks: pl.DataFrame, work_dir: Path | str) -> None:
        """Per-run work of the local (dump) providers, for the whole catalogue at once.

        The AcousticBrainz dump is scanned once for every ``track_mbid`` of ``tracks`` (all
        planned tracks, not one batch), or its extract in ``work_dir`` reused.
        """
        if self.acousticbrainz_dump is not None and "track_mbid" in tracks.columns:
            mbids = tracks.get_column("track_mbid").drop_nulls().to_list()
            self.acousticbrainz_dump.prepare(mbids, work_dir)


#: where a provider is asked (left out of the reach of a sandbox run: new ports every run)
URL_FIELDS = ("api_url", "token_url", "api_root", "public_api_root", "web_root", "base_url")


def reach_digest(cfg: EnrichConfig, secrets: Secrets, *, with_urls: bool = True) -> bytes:
    """What a provider's reach depends on, hashed: the credentials, the providers' settings
    (and the fake servers' in a sandbox run) and, ``with_urls``, where they are asked.

    Unsalted: keep it in memory; store only ``EnrichCache.fingerprint(digest)``.
    """
    creds = {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in secrets
    }
    settings = {k: v for k, v in json.loads(result_settings(cfg)).items() if isinstance(v, dict)}
    urls = {}
    if with_urls:
        for name, sub in cfg:
            if isinstance(sub, BaseModel):
                urls[name] = {f: getattr(sub, f) for f in URL_FIELDS if f in type(sub).model_fields}
    material = json.dumps(
        {"credentials": creds, "settings": settings, "urls": urls}, sort_keys=True, default=str
    )
    return hashlib.blake2b(material.encode(), digest_size=32).digest()


def _probe_cached(client: Any, cache: EnrichCache | None, reach: bytes) -> dict[str, str]:
    """An open provider's probe, from the cache while fresh (one request otherwise), keyed on
    the salted fingerprint of ``reach`` (other credentials or settings probe again)."""
    key = f"capabilities:{cache.fingerprint(reach)}" if cache else ""
    hit = cache.get(client.name, PROBE, key) if cache else None
    if hit is not None and hit.status == "found":
        client.capabilities = dict(hit.data)
        return dict(client.capabilities)
    try:
        caps = client.probe()
    except HostUnreachable as exc:
        # refused / timed out in a row: its keys stay unsettled, the probe is not cached
        logger.warning("%s: %s", client.name, exc)
        return {"probe": UNREACHABLE}
    if cache is not None:
        cache.put(client.name, PROBE, key, LookupResult("found", caps))
        cache.commit()
    return dict(caps)


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


def with_sandbox_dumps(cfg: EnrichConfig, world_dir: Path | str) -> EnrichConfig:
    """``cfg`` with a configured ``acousticbrainz_dump`` reading the sandbox world's dumps."""
    if cfg.acousticbrainz_dump is None:
        return cfg
    ab = cfg.acousticbrainz_dump.model_copy(update={"paths": (Path(world_dir) / "acousticbrainz",)})
    return cfg.model_copy(update={"acousticbrainz_dump": ab})


def build_providers(cfg: EnrichConfig, secrets: Secrets, *, with_urls: bool = True) -> Providers:
    """Clients for the configured providers; one without credentials is left out (logged).

    ``with_urls=False`` (a sandbox run) leaves the URLs out of their :attr:`Providers.reach`.

    Raises
    ------
    ConfigError
        No provider at all could be built.
    """
    p = Providers(reach=reach_digest(cfg, secrets, with_urls=with_urls))
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
    if cfg.acousticbrainz_dump is not None:
        p.acousticbrainz_dump = AcousticBrainzDump(cfg.acousticbrainz_dump)
    clients = (p.spotify, p.genius, p.lrclib, p.features_file, p.musicbrainz, p.lastfm_tags)
    if not any((*clients, p.deezer, p.acousticbrainz_dump)):
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
