"""Offline: a host that refuses connections is marked unreachable within seconds, its keys
stay unsettled, the stage finishes; with the network back the next run fetches them."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from moodrec.enrich.cache import EnrichCache, cache_path
from moodrec.enrich.clients import build_providers
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.parts import part_done
from moodrec.enrich.plan import plan_batches
from moodrec.enrich.stage import run_enrichment
from moodrec.providers.base import HostUnreachable, ProviderError
from moodrec.providers.config import (
    GeniusConfig,
    LrclibConfig,
    RateLimitConfig,
    RetryConfig,
    SpotifyConfig,
)
from moodrec.providers.lrclib import LrclibProvider
from moodrec.providers.ratelimit import HOST_BREAKERS, HostBreakers, LimitedTransport

#: the shipped retry settings (real backoff), only the breaker threshold spelled out
RETRY = RetryConfig(unreachable_after=3)
#: far above what the re-run sends: the limiter is in the path but never waits
LOOSE = RateLimitConfig(requests=100_000, window_s=1.0, max_concurrency=8)


def _closed_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _offline_config(port: int, **kw) -> EnrichConfig:
    url = f"http://127.0.0.1:{port}"
    return EnrichConfig(
        spotify=SpotifyConfig(api_url=url, token_url=f"{url}/api/token", retry=RETRY),
        genius=GeniusConfig(
            api_root=f"{url}/", public_api_root=f"{url}/api/", web_root=f"{url}/", retry=RETRY
        ),
        lrclib=LrclibConfig(base_url=url, retry=RETRY),
        batch_size=64,
        **kw,
    )


def test_breaker_opens_after_failures_in_a_row_and_resets() -> None:
    b = HostBreakers()
    b.failure("h", 3, "ConnectError")
    b.failure("h", 3, "ConnectError")
    b.success("h")  # an answer in between: the count starts again
    b.failure("h", 3, "ConnectError")
    b.failure("h", 3, "ConnectError")
    b.check("h")
    b.failure("h", 3, "ConnectTimeout")
    with pytest.raises(HostUnreachable, match="3 connection failures in a row"):
        b.check("h")
    assert list(b.unreachable()) == ["h"]
    b.reset()
    b.check("h")


def test_transport_fails_fast_once_the_host_is_open() -> None:
    HOST_BREAKERS.reset()
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        raise httpx.ConnectError("refused", request=request)

    transport = LimitedTransport(None, httpx.MockTransport(refuse), unreachable_after=2)
    client = httpx.Client(base_url="http://refusing.test", transport=transport)
    provider = LrclibProvider(LrclibConfig(base_url="http://refusing.test", retry=RETRY), client)
    try:
        with pytest.raises(ProviderError):
            provider.lyrics("a", "b")
        n_first = len(calls)
        assert n_first == 2  # the third attempt never left: the host was open
        with pytest.raises(HostUnreachable):
            provider.lyrics("c", "d")
        assert len(calls) == n_first
        assert "refusing.test" in HOST_BREAKERS.unreachable()
    finally:
        HOST_BREAKERS.reset()


def test_offline_enrich_finishes_and_the_next_run_fetches(
    servers, secrets, catalogue: Path, tmp_path: Path
) -> None:
    port = _closed_port()
    cfg = _offline_config(port)
    n_batches = len(plan_batches(pl.read_parquet(catalogue), cfg))
    start = time.monotonic()
    with EnrichCache(cache_path(tmp_path), cfg.cache) as cache:
        result = run_enrichment(
            catalogue, tmp_path, cfg, build_providers(cfg, secrets), cache=cache
        )
    elapsed = time.monotonic() - start
    assert elapsed < 3 * 60  # generous: 60 s per unreachable provider (three share one host)
    assert f"127.0.0.1:{port}" in result.coverage["unreachable_hosts"]
    status = pl.read_parquet(result.outputs["enrich_status"])
    lyr = status.filter(pl.col("capability") == "lyrics")
    assert lyr.height and set(lyr["status"].unique()) == {"error"}  # unsettled, not "not_found"
    parts = tmp_path / "enrich_parts"
    keys = [p.name for p in parts.iterdir() if p.is_dir()]
    assert len(keys) == n_batches and not any(part_done(parts, k) for k in keys)
    # the network is back: the same output folder, the providers at the live servers
    s, g, lr = servers.url("spotify"), servers.url("genius"), servers.url("lrclib")
    live = cfg.model_copy(
        update={
            "spotify": SpotifyConfig(
                api_url=s, token_url=f"{s}/api/token", retry=RETRY, rate_limit=LOOSE
            ),
            "genius": GeniusConfig(
                api_root=f"{g}/",
                public_api_root=f"{g}/api/",
                web_root=f"{g}/",
                retry=RETRY,
                rate_limit=LOOSE,
            ),
            "lrclib": LrclibConfig(base_url=lr, retry=RETRY, rate_limit=LOOSE),
        }
    )
    with EnrichCache(cache_path(tmp_path), live.cache) as cache:
        again = run_enrichment(
            catalogue, tmp_path, live, build_providers(live, secrets), cache=cache
        )
    assert again.n_batches_run == n_batches
    assert again.coverage["unreachable_hosts"] == {}
    assert pl.read_parquet(again.outputs["lyrics_raw"]).height > 0


def test_open_sources_offline_finish_fast(secrets, catalogue: Path, tmp_path: Path) -> None:
    """MusicBrainz, Last.fm, Deezer and LRCLIB all refused: the probes do not fail the stage,
    every key stays unsettled, the host is reported."""
    from pydantic import SecretStr

    from moodrec.config.base import Secrets
    from moodrec.enrich.clients import with_base_urls
    from moodrec.providers.config import DeezerConfig, LastfmTagsConfig, MusicBrainzConfig

    url = f"http://127.0.0.1:{_closed_port()}"
    cfg = with_base_urls(
        EnrichConfig(
            spotify=None,
            genius=None,
            lrclib=LrclibConfig(retry=RETRY),
            musicbrainz=MusicBrainzConfig(retry=RETRY),
            lastfm_tags=LastfmTagsConfig(retry=RETRY),
            deezer=DeezerConfig(retry=RETRY),
            features_order=("features_file",),
            genres_order=("musicbrainz", "lastfm_tags"),
            lyrics_order=("lrclib",),
            batch_size=64,
        ),
        spotify=None,
        genius=None,
        lrclib=url,
        musicbrainz=url,
        lastfm_tags=url,
        deezer=url,
    )
    start = time.monotonic()
    with EnrichCache(cache_path(tmp_path), cfg.cache) as cache:
        result = run_enrichment(
            catalogue,
            tmp_path,
            cfg,
            build_providers(cfg, Secrets(lastfm_api_key=SecretStr("any-key"))),
            cache=cache,
        )
    assert time.monotonic() - start < 4 * 60  # generous: 60 s per unreachable provider
    assert url.removeprefix("http://") in result.coverage["unreachable_hosts"]
    status = pl.read_parquet(result.outputs["enrich_status"])
    assert status.height and "found" not in set(status["status"])
