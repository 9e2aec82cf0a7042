"""Fake Spotify, Genius and LRCLIB servers that serve the sandbox world on 127.0.0.1."""

from moodrec.sandbox.servers.app import FakeServers, ServerModes, WorldIndex, serve_world

__all__ = ["FakeServers", "ServerModes", "WorldIndex", "serve_world"]
