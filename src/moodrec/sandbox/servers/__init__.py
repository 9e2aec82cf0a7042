"""Fake Spotify, Genius and LRCLIB servers that serve the sandbox world on 127.0.0.1."""

from moodrec.sandbox.servers.app import (
    SANDBOX_GENIUS_TOKEN,
    SANDBOX_SPOTIFY_ID,
    SANDBOX_SPOTIFY_SECRET,
    FakeServers,
    FakeServersConfig,
    ServerModes,
    WorldIndex,
    sandbox_secrets,
    sandbox_servers,
    serve_world,
)

__all__ = [
    "SANDBOX_GENIUS_TOKEN",
    "SANDBOX_SPOTIFY_ID",
    "SANDBOX_SPOTIFY_SECRET",
    "FakeServers",
    "FakeServersConfig",
    "ServerModes",
    "WorldIndex",
    "sandbox_secrets",
    "sandbox_servers",
    "serve_world",
]
