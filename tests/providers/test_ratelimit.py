"""The per-host rate limiter keeps clients under the fake server's rolling-window limit."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import SecretStr

from moodrec.providers.base import RateLimitExceeded
from moodrec.providers.config import GeniusConfig, LrclibConfig, RateLimitConfig, SpotifyConfig
from moodrec.providers.genius import GeniusProvider
from moodrec.providers.lrclib import LrclibProvider
from moodrec.providers.ratelimit import (
    HOST_PAUSES,
    HostLimiter,
    HostPauses,
    LimitedSession,
)
from moodrec.providers.spotify import SpotifyProvider
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
    assert all(n == 0 for n in servers.throttled.values())  # no service refused anything


@pytest.mark.slow
def test_without_limiter_429s_occur_and_are_honoured(servers, world_index) -> None:
    servers.modes.rate_limit = SERVER_LIMIT
    _lookups(world_index, *_providers(servers, None))  # every lookup still ends found/not_found
    throttled = servers.throttled
    assert all(throttled[s] > 0 for s in ("spotify", "genius", "lrclib")), throttled


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


def test_a_429_pauses_the_host_for_every_worker(servers, world_index) -> None:
    """One worker's 429 (Retry-After: 1) holds back every other worker's requests to the host.

    Worker A alone meets a 429; the server then accepts everything, and workers B-D (their
    own clients, as separate batch tasks have) start at once: none of their requests may
    reach the host before A's Retry-After has passed.
    """
    tracks = [t for t in world_index.tracks if t["on_lrclib"]][:4]
    pairs = [(world_index.artists[t["artist_id"]]["name"], t["name"]) for t in tracks]
    base = servers.url("lrclib")
    host = base.removeprefix("http://")
    statuses: list[str] = []

    def worker(artist: str, title: str) -> None:
        p = LrclibProvider(LrclibConfig(base_url=base, retry=FAST, rate_limit=None))
        statuses.append(p.lyrics(artist, title).status)
        p.close()

    servers.modes.rate_limit = (0, 60.0, 1.0)  # every request: 429 + Retry-After: 1
    first = threading.Thread(target=worker, args=pairs[0])
    first.start()
    deadline = time.monotonic() + 10
    while HOST_PAUSES.remaining(host) == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    servers.modes.rate_limit = None  # the server would now accept anything
    (t429,) = servers.throttle_times("lrclib")
    n_before = len(servers.arrivals("lrclib"))
    others = [threading.Thread(target=worker, args=pair) for pair in pairs[1:]]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join()
    assert statuses == ["found"] * 4
    later = servers.arrivals("lrclib")[n_before:]
    assert later and min(later) >= t429 + 0.9, f"a request came {min(later) - t429:.3f}s after"


def test_a_pause_beyond_the_cap_fails_fast() -> None:
    clock = [100.0]
    pauses = HostPauses(clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    pauses.pause("h", 3600)
    with pytest.raises(RateLimitExceeded, match="cap") as info:
        pauses.wait("h", 60)
    assert info.value.status == "rate_limited" and info.value.retryable
    pauses.pause("g", 2.0)
    pauses.wait("g", 60)  # sleeps the 2 s on the fake clock
    assert clock[0] == pytest.approx(102.0) and pauses.remaining("g") == 0
