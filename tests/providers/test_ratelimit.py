"""The per-host rate limiter keeps clients under the fake server's rolling-window limit."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import SecretStr

from moodrec.providers.base import RateLimitExceeded
from moodrec.providers.genius import GeniusConfig, GeniusProvider
from moodrec.providers.lrclib import LrclibConfig, LrclibProvider
from moodrec.providers.ratelimit import HostLimiter, LimitedSession, RateLimitConfig
from moodrec.providers.spotify import SpotifyConfig, SpotifyProvider
from tests.providers.conftest import GENIUS_TOKEN, SPOTIFY_ID, SPOTIFY_SECRET
from tests.providers.test_providers import FAST

SERVER_LIMIT = (20, 1.0, 1.0)  # 20 requests per rolling 1 s, then 429 with Retry-After: 1
UNDER = RateLimitConfig(requests=15, window_s=1.0, max_concurrency=2)
N = 20


def _providers(servers, limit: RateLimitConfig | None):
    s, g = servers.url("spotify"), servers.url("genius")
    sp = SpotifyProvider(
        SpotifyConfig(api_url=s, token_url=f"{s}/api/token", retry=FAST, rate_limit=limit),
        SPOTIFY_ID,
        SecretStr(SPOTIFY_SECRET),
    )
    ge = GeniusProvider(
        GeniusConfig(
            api_root=f"{g}/",
            public_api_root=f"{g}/api/",
            web_root=f"{g}/",
            retry=FAST,
            rate_limit=limit,
        ),
        SecretStr(GENIUS_TOKEN),
    )
    lr = LrclibProvider(LrclibConfig(base_url=servers.url("lrclib"), retry=FAST, rate_limit=limit))
    return sp, ge, lr


def _lookups(world_index, sp, ge, lr) -> None:
    tracks = [t for t in world_index.tracks if t["track_id"] in world_index.lyrics][:N]
    pairs = [(world_index.artists[t["artist_id"]]["name"], t["name"]) for t in tracks]
    # one service at a time, back to back: as fast as each client can go
    for artist, title in pairs:
        assert sp.link_track(artist, title).status in ("found", "not_found")
    for artist, title in pairs:
        assert ge.lyrics(artist, title).status in ("found", "not_found")
    for artist, title in pairs:
        assert lr.lyrics(artist, title).status in ("found", "not_found")


@pytest.mark.slow
def test_limiter_below_server_limit_gets_no_429(servers, world_index) -> None:
    servers.modes.rate_limit = SERVER_LIMIT
    _lookups(world_index, *_providers(servers, UNDER))
    counts = servers.counts
    assert all(counts[s] >= N for s in ("spotify", "genius", "lrclib"))
    assert servers.throttled == {"spotify": 0, "genius": 0, "lrclib": 0}


@pytest.mark.slow
def test_without_limiter_429s_occur_and_are_honoured(servers, world_index) -> None:
    servers.modes.rate_limit = SERVER_LIMIT
    _lookups(world_index, *_providers(servers, None))  # every lookup still ends found/not_found
    assert all(n > 0 for n in servers.throttled.values()), servers.throttled


def test_concurrency_is_capped() -> None:
    lim = HostLimiter("h", RateLimitConfig(requests=1000, window_s=1.0, max_concurrency=2))
    active, peak, lock = [0], [0], threading.Lock()

    def work() -> None:
        with lim.slot():
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.02)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_wait_beyond_cap_fails_the_batch() -> None:
    lim = HostLimiter("h", RateLimitConfig(requests=1, window_s=60.0, max_wait_s=0.05))
    with lim.slot():
        pass
    with pytest.raises(RateLimitExceeded, match="local rate limit"), lim.slot():
        pass


def test_session_only_limits_configured_hosts() -> None:
    lim = HostLimiter("127.0.0.1:1", RateLimitConfig())
    session = LimitedSession({"127.0.0.1:1": lim})
    assert session.limiters == {"127.0.0.1:1": lim}
