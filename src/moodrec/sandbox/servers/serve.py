"""``moodrec sandbox serve``: run the fake services (Spotify, Genius, LRCLIB, MusicBrainz,
Last.fm, Deezer) in the foreground.

:func:`serve_profile` finds (or generates) the sandbox world of a profile, starts the three
services on 127.0.0.1, writes their base URLs and the settings that point moodrec (or any
other client) at them, and blocks until Ctrl-C / SIGTERM, then stops them cleanly.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from moodrec.enrich.config import FakeServersConfig
from moodrec.sandbox.servers.app import (
    SANDBOX_GENIUS_TOKEN,
    SANDBOX_LASTFM_KEY,
    SANDBOX_SPOTIFY_ID,
    SANDBOX_SPOTIFY_SECRET,
    FakeServers,
    sandbox_servers,
)

logger = logging.getLogger(__name__)


def connection_text(servers: FakeServers) -> str:
    """What to tell a user: base URLs, env vars and the ``enrich:`` YAML that use them."""
    s, g, lr = servers.url("spotify"), servers.url("genius"), servers.url("lrclib")
    mb, lf, dz = servers.url("musicbrainz"), servers.url("lastfm"), servers.url("deezer")
    return "\n".join(
        [
            "moodrec fake servers (sandbox world) are running:",
            f"  spotify  {s}   (token: {s}/api/token, API: {s}/v1/)",
            f"  genius   {g}   (API: {g}/, public API: {g}/api/, pages: {g}/)",
            f"  lrclib   {lr}   (/api/get, /api/search)",
            f"  musicbrainz {mb}   (/ws/2/recording, /ws/2/artist; fmt=json)",
            f"  lastfm   {lf}   (/2.0/?method=track.getTopTags | artist.getTopTags)",
            f"  deezer   {dz}   (/search, /track/<id>, /track/isrc:<isrc>, /album/<id>)",
            "",
            "Sandbox credentials they accept (not secrets):",
            f"  export MOODREC_SPOTIFY_CLIENT_ID={SANDBOX_SPOTIFY_ID}",
            f"  export MOODREC_SPOTIFY_CLIENT_SECRET={SANDBOX_SPOTIFY_SECRET}",
            f"  export MOODREC_GENIUS_TOKEN={SANDBOX_GENIUS_TOKEN}",
            f"  export MOODREC_LASTFM_API_KEY={SANDBOX_LASTFM_KEY}",
            "",
            "Profile settings pointing moodrec at them:",
            "  enrich:",
            f"    spotify: {{api_url: '{s}', token_url: '{s}/api/token'}}",
            f"    genius: {{api_root: '{g}/', public_api_root: '{g}/api/', web_root: '{g}/'}}",
            f"    lrclib: {{base_url: '{lr}'}}",
            f"    musicbrainz: {{base_url: '{mb}'}}",
            f"    lastfm_tags: {{base_url: '{lf}'}}",
            f"    deezer: {{base_url: '{dz}'}}",
            "",
            "Press Ctrl-C to stop.",
        ]
    )


def serve(
    truth_dir: Path,
    cfg: FakeServersConfig | None = None,
    *,
    ports: dict[str, int] | None = None,
    stream: TextIO | None = None,
    stop: threading.Event | None = None,
    on_ready: Any = None,
) -> dict[str, int]:
    """Serve a world's ``truth/`` folder until ``stop`` is set, SIGINT or SIGTERM.

    Parameters
    ----------
    truth_dir
        ``truth/`` of a generated sandbox world.
    cfg
        Behaviour and faults (default: :class:`FakeServersConfig`).
    ports
        Fixed port per service (``spotify``, ``genius``, ``lrclib``); default free ports.
    stream
        Where the connection text goes (default stdout).
    stop
        Set it to stop (from another thread); signals set it too when called from the main
        thread.
    on_ready
        Called with the started :class:`FakeServers` (tests).

    Returns
    -------
    dict
        Requests served per service.
    """
    stream = stream or sys.stdout
    stop = stop or threading.Event()
    servers = sandbox_servers(Path(truth_dir), cfg)
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        servers.start(ports)
        stream.write(connection_text(servers) + "\n")
        stream.flush()
        if on_ready is not None:
            on_ready(servers)
        while not stop.wait(0.2):
            pass
    finally:
        servers.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    counts = servers.counts
    stream.write(f"fake servers stopped; requests served: {counts}\n")
    stream.flush()
    return counts


def serve_profile(
    profile: str = "demo",
    overrides: dict[str, Any] | None = None,
    *,
    ports: dict[str, int] | None = None,
    stream: TextIO | None = None,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """``moodrec sandbox serve``: serve the sandbox world of ``profile`` in the foreground.

    The world is generated into ``<data_dir>/raw/sandbox/<profile>-seed<seed>`` when absent
    (deterministic, as the flows do); behaviour comes from the profile's
    ``enrich.sandbox_servers``. Returns the request counts when stopped.

    Raises
    ------
    moodrec.errors.ConfigError
        The profile is invalid.
    """
    from moodrec.catalogue import Catalogue
    from moodrec.config.loader import load_settings
    from moodrec.sandbox.world import generate_world

    settings = load_settings(profile, overrides=overrides)
    sb = settings.sandbox
    world = Catalogue(settings.paths.data_dir).raw_dir("sandbox", f"{sb.profile}-seed{sb.seed}")
    truth = world / "truth"
    if not (truth / "tracks.parquet").is_file():
        logger.info("generating sandbox world %s seed %d into %s", sb.profile, sb.seed, world)
        generate_world(sb, world)
    return serve(truth, settings.enrich.sandbox_servers, ports=ports, stream=stream, stop=stop)
