"""The fake servers answer real clients in the real shapes, in every refusal mode."""

# ruff: noqa: F811  (fixtures imported from tests.providers.conftest)

from __future__ import annotations

import httpx
import pytest
import requests

from tests.providers.conftest import (  # noqa: F401
    GENIUS_TOKEN,
    SPOTIFY_ID,
    SPOTIFY_SECRET,
    servers,
    world_dir,
    world_index,
)


def _token(base: str) -> str:
    r = requests.post(
        f"{base}/api/token",
        data={"grant_type": "client_credentials"},
        auth=(SPOTIFY_ID, SPOTIFY_SECRET),
        timeout=5,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["expires_in"] == 3600 and body["token_type"] == "Bearer"
    return body["access_token"]


def test_token_rejects_wrong_secret(servers) -> None:
    r = requests.post(
        f"{servers.url('spotify')}/api/token",
        data={"grant_type": "client_credentials"},
        auth=(SPOTIFY_ID, "wrong"),
        timeout=5,
    )
    assert r.status_code == 400


def test_spotify_search_limit_and_auth(servers) -> None:
    base = servers.url("spotify")
    assert requests.get(f"{base}/v1/search", params={"q": "x"}, timeout=5).status_code == 401
    h = {"Authorization": f"Bearer {_token(base)}"}
    r = requests.get(f"{base}/v1/search", params={"q": "x", "limit": 11}, headers=h, timeout=5)
    assert r.status_code == 400 and r.json()["error"]["message"] == "Invalid limit"
    r = requests.get(
        f"{base}/v1/search", params={"q": "x", "type": "track", "limit": 10}, headers=h, timeout=5
    )
    assert set(r.json()["tracks"]) == {
        "href",
        "items",
        "limit",
        "next",
        "offset",
        "previous",
        "total",
    }


def test_spotify_batch_null_and_dev_mode(servers, world_index) -> None:
    base = servers.url("spotify")
    h = {"Authorization": f"Bearer {_token(base)}"}
    known = next(t for t in world_index.tracks if t["on_spotify"])["spotify_id"]
    r = requests.get(f"{base}/v1/tracks/?ids={known},{'0' * 22}", headers=h, timeout=5)
    tracks = r.json()["tracks"]
    assert tracks[0]["id"] == known and tracks[1] is None
    assert "popularity" in tracks[0]
    servers.modes.spotify_dev_mode = True
    assert requests.get(f"{base}/v1/tracks/?ids={known}", headers=h, timeout=5).status_code == 403
    assert (
        requests.get(f"{base}/v1/audio-features/?ids={known}", headers=h, timeout=5).status_code
        == 403
    )
    single = requests.get(f"{base}/v1/tracks/{known}", headers=h, timeout=5).json()
    assert "popularity" not in single
    aid = single["artists"][0]["id"]
    artist = requests.get(f"{base}/v1/artists/{aid}", headers=h, timeout=5).json()
    assert artist["genres"] == [] and "followers" not in artist


def test_rate_limit_429_retry_after(servers) -> None:
    servers.modes.rate_limit = (2, 30.0, 7.0)
    base = servers.url("lrclib")
    codes = [httpx.get(f"{base}/api/search", params={"q": "x"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = httpx.get(f"{base}/api/search", params={"q": "x"})
    assert r.headers["Retry-After"] == "7"
    assert r.json() == {"error": {"status": 429, "message": "API rate limit exceeded"}}


def test_genius_cloudflare_and_lrclib_404(servers) -> None:
    r = httpx.get(
        f"{servers.url('lrclib')}/api/get", params={"artist_name": "x", "track_name": "y"}
    )
    assert r.status_code == 404 and r.json()["name"] == "TrackNotFound"
    servers.modes.genius_cloudflare = True
    r = httpx.get(f"{servers.url('genius')}/search", params={"q": "x"})
    assert r.status_code == 403 and "cloudflare" in r.text.lower()
    assert servers.counts["genius"] == 1 and servers.counts["lrclib"] == 1


def test_genius_requires_bearer(servers) -> None:
    base = servers.url("genius")
    assert httpx.get(f"{base}/search", params={"q": "x"}).status_code == 401
    r = httpx.get(
        f"{base}/search", params={"q": "x"}, headers={"Authorization": f"Bearer {GENIUS_TOKEN}"}
    )
    assert r.status_code == 200 and r.json()["meta"]["status"] == 200


@pytest.mark.parametrize("rate", [1.0])
def test_injected_5xx(servers, rate: float) -> None:
    servers.modes.error_rate = rate
    assert httpx.get(f"{servers.url('lrclib')}/api/search", params={"q": "x"}).status_code == 503


def test_injected_reset_malformed_and_slow(servers) -> None:
    base = servers.url("lrclib")
    servers.modes.reset_rate = 1.0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/api/search", params={"q": "x"})
    servers.modes.reset_rate = 0.0
    servers.modes.malformed_rate = 1.0
    r = httpx.get(f"{base}/api/search", params={"q": "x"})
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    servers.modes.malformed_rate = 0.0
    servers.modes.slow_rate, servers.modes.slow_s = 1.0, 0.3
    r = httpx.get(f"{base}/api/search", params={"q": "x"})
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.3
    assert servers.faults == {"5xx": 0, "reset": 1, "malformed": 1, "slow": 1}


def test_config_section_sets_the_modes(world_index) -> None:
    from moodrec.enrich.config import FakeServersConfig, RateLimitFault
    from moodrec.sandbox.servers import SANDBOX_SPOTIFY_ID, sandbox_secrets
    from moodrec.sandbox.servers.faults import modes_from_config

    cfg = FakeServersConfig(
        error_rate=0.05,
        reset_rate=0.02,
        rate_limit=RateLimitFault(max_requests=60, window_s=30, retry_after_s=4),
    )
    modes = modes_from_config(cfg)
    assert modes.rate_limit == (60, 30.0, 4.0)
    assert modes.spotify_dev_mode and modes.spotify_audio_features_closed  # 2026 by default
    assert (modes.error_rate, modes.reset_rate) == (0.05, 0.02)
    assert sandbox_secrets().spotify_client_id == SANDBOX_SPOTIFY_ID


def test_a_new_service_is_one_routes_module_with_faults_for_free(world_index) -> None:
    """A service given to FakeServers is counted, rate-limited and reset like the others."""
    from moodrec.sandbox.servers import FakeServers, ServerModes
    from moodrec.sandbox.servers.http import FakeHandler, Service

    def get(h: FakeHandler, path: str, qs: dict[str, str]) -> None:
        hits = h.state.index.find(qs.get("title", ""), qs.get("artist"))
        h.send(200, {"path": path, "n": len(hits)})

    echo = Service("echo", get=get)
    modes = ServerModes(rate_limit=(2, 30.0, 3.0))
    with FakeServers(world_index, modes, services={"echo": echo}) as fake:
        base = fake.url("echo")
        t = world_index.tracks[0]
        artist = world_index.artists[t["artist_id"]]["name"]
        first = httpx.get(f"{base}/x", params={"title": t["name"], "artist": artist})
        assert first.status_code == 200
        n = len(world_index.find(t["name"], artist))
        assert n >= 1 and first.json() == {"path": "/x", "n": n}
        assert httpx.get(f"{base}/x").status_code == 200
        third = httpx.get(f"{base}/x")
        assert third.status_code == 429 and third.headers["Retry-After"] == "3"
        assert fake.counts == {"echo": 3} and fake.throttled == {"echo": 1}


def test_lazy_servers_index_and_serve_only_once_a_client_connects(world_dir) -> None:
    """A cached enrich run sends no request: a lazy start binds the ports, and nothing else
    (no world index, no serving threads) until the first connection, which it then answers."""
    from moodrec.sandbox.servers import sandbox_servers

    indexed = []
    with sandbox_servers(world_dir / "truth", lazy=True) as srv:
        real = srv._state._index
        assert callable(real)

        def counting_index():
            indexed.append(1)
            return real()

        srv._state._index = counting_index
        assert not srv.serving and indexed == []
        # the port is bound already: the request waits in the backlog, then is answered
        r = requests.get(f"{srv.url('lrclib')}/api/get", params={"track_name": "x"}, timeout=10)
        assert r.status_code == 404
        assert srv.serving and indexed == [1]
        assert srv.counts["lrclib"] == 1


def test_lazy_servers_never_contacted_stop_at_once(world_dir) -> None:
    from moodrec.sandbox.servers import sandbox_servers

    srv = sandbox_servers(world_dir / "truth", lazy=True).start()
    url = srv.url("spotify")
    srv.stop()
    assert not srv.serving
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/v1/search", timeout=2)
