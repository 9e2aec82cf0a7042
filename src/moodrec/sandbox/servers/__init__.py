"""Fake Spotify, Genius, LRCLIB, MusicBrainz, Last.fm and Deezer servers that serve the
sandbox world on 127.0.0.1."""

from moodrec.enrich.config import FakeServersConfig
from moodrec.sandbox.servers.app import (
    SANDBOX_GENIUS_TOKEN,
    SANDBOX_LASTFM_KEY,
    SANDBOX_SPOTIFY_ID,
    SANDBOX_SPOTIFY_SECRET,
    SERVICES,
    FakeServers,
    sandbox_secrets,
    sandbox_servers,
    serve_world,
)
from moodrec.sandbox.servers.faults import ServerModes, modes_from_config
from moodrec.sandbox.servers.index import WorldIndex

__all__ = [
    "SANDBOX_GENIUS_TOKEN",
    "SANDBOX_LASTFM_KEY",
    "SANDBOX_SPOTIFY_ID",
    "SANDBOX_SPOTIFY_SECRET",
    "SERVICES",
    "FakeServers",
    "FakeServersConfig",
    "ServerModes",
    "WorldIndex",
    "modes_from_config",
    "sandbox_secrets",
    "sandbox_servers",
    "serve_world",
]
