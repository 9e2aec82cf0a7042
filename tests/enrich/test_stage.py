"""The enrichment stage end to end against the fake servers: coverage, resume, no leaks."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import pytest

from moodrec.enrich.cache import EnrichCache, cache_path
from moodrec.enrich.clients import build_providers
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.plan import plan_batches
from moodrec.enrich.stage import run_enrichment
from moodrec.providers.config import (
    FeaturesFileConfig,
    GeniusConfig,
    LrclibConfig,
    RateLimitConfig,
    RetryConfig,
    SpotifyConfig,
)
from moodrec.providers.features_file import FeaturesFile
from tests.providers.conftest import GENIUS_TOKEN, SPOTIFY_SECRET

FAST = RetryConfig(max_attempts=4, backoff_base_s=0.01, max_retry_after_s=2, timeout_s=5)
# far above what the tests send: the limiter is in the path but never waits
LOOSE = RateLimitConfig(requests=100_000, window_s=1.0, max_concurrency=8)
TOP40 = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared/data/spotify_top40nl_artist_genres/spotify_songs_top40nl.csv"
)


def config(servers, rate_limit: RateLimitConfig | None = LOOSE, **kw) -> EnrichConfig:
    s, g, lr = servers.url("spotify"), servers.url("genius"), servers.url("lrclib")
    kw.setdefault("batch_size", 64)
    return EnrichConfig(
        spotify=SpotifyConfig(
            api_url=s, token_url=f"{s}/api/token", retry=FAST, rate_limit=rate_limit
        ),
        genius=GeniusConfig(
            api_root=f"{g}/",
            public_api_root=f"{g}/api/",
            web_root=f"{g}/",
            retry=FAST,
            rate_limit=rate_limit,
        ),
        lrclib=LrclibConfig(base_url=lr, retry=FAST, rate_limit=rate_limit),
        **kw,
    )


def run(servers, secrets, catalogue, out: Path, cfg: EnrichConfig, **kw):
    """One enrichment run with the cache in ``out/cache`` (as the tasks place it)."""
    with EnrichCache(cache_path(out), cfg.cache, **kw) as cache:
        return run_enrichment(catalogue, out, cfg, build_providers(cfg, secrets), cache=cache)


def test_full_reach_then_resume_makes_no_requests(servers, secrets, catalogue, tmp_path) -> None:
    cfg = config(servers)
    result = run_enrichment(catalogue, tmp_path, cfg, build_providers(cfg, secrets))
    cov = result.coverage["coverage"]
    n = pl.read_parquet(catalogue).height
    for cap in ("track_link", "audio_features", "lyrics"):
        assert sum(cov[cap].values()) == n
        assert cov[cap]["error"] == 0
    assert cov["track_link"]["found"] > 0.8 * n
    assert cov["lyrics"]["found"] > 0.5 * n
    links = pl.read_parquet(result.outputs["track_links"])
    assert links["track_id"].is_unique().all()
    before = servers.counts
    again = run_enrichment(catalogue, tmp_path, cfg, build_providers(cfg, secrets))
    assert again.n_batches_run == 0
    # without a cache only the once-per-run capability probe touches the network
    assert servers.counts["genius"] == before["genius"]
    assert servers.counts["lrclib"] == before["lrclib"]
    for name in ("track_links", "track_features", "lyrics_raw"):
        assert pl.read_parquet(again.outputs[name]).equals(pl.read_parquet(result.outputs[name]))


def test_2026_reality_reports_unavailable_and_blocked(servers, secrets, catalogue, tmp_path):
    servers.modes.spotify_dev_mode = True
    servers.modes.genius_cloudflare = True
    cfg = config(servers)
    result = run_enrichment(catalogue, tmp_path, cfg, build_providers(cfg, secrets))
    cov = result.coverage["coverage"]
    n = pl.read_parquet(catalogue).height
    assert cov["audio_features"]["unavailable"] == n  # never stored as empty data
    assert pl.read_parquet(result.outputs["track_features"]).is_empty()
    assert cov["artist_genres"]["found"] == 0
    status = pl.read_parquet(result.outputs["enrich_status"])
    genius = status.filter(pl.col("provider") == "genius")
    assert set(genius["status"]) == {"blocked"}
    lyrics = pl.read_parquet(result.outputs["lyrics_raw"])
    assert set(lyrics["provider"]) == {"lrclib"} and lyrics.height > 0
    assert result.coverage["capabilities"]["spotify"]["audio_features"] == "unavailable"


def test_faults_lose_nothing(servers, secrets, catalogue, tmp_path) -> None:
    servers.modes.error_rate = 0.05
    servers.modes.reset_rate = 0.02
    servers.modes.malformed_rate = 0.02
    cfg = config(servers, batch_size=500)
    result = run(servers, secrets, catalogue, tmp_path, cfg)
    assert all(n > 0 for n in servers.faults.values() if n != servers.faults["slow"])
    status = pl.read_parquet(result.outputs["enrich_status"])
    n = pl.read_parquet(catalogue).height
    assert status.filter(pl.col("capability") == "track_link")["track_id"].n_unique() == n
    # every key ends found / not_found / unavailable (retries absorbed every fault)
    assert set(status["status"]) <= {"found", "not_found", "unavailable"}
    # and a second run over the same cache sends nothing at all
    before = servers.counts
    with EnrichCache(cache_path(tmp_path), cfg.cache) as cache:
        again = run_enrichment(
            catalogue, tmp_path / "again", cfg, build_providers(cfg, secrets), cache=cache
        )
    assert again.n_batches_run == again.n_batches
    assert servers.counts == before


def test_plan_is_written_once_and_read_per_batch(servers, catalogue, tmp_path) -> None:
    from moodrec.enrich.plan import read_batch, write_plan

    cfg = config(servers, batch_size=50)
    keys = write_plan(catalogue, cfg, tmp_path / "plan.parquet")
    planned = plan_batches(pl.read_parquet(catalogue), cfg)
    assert keys == [k for k, _ in planned]
    for key, batch in planned:
        assert read_batch(tmp_path / "plan.parquet", key).equals(batch)


def test_batch_keys_ignore_where_and_how_fast_to_ask(servers, catalogue) -> None:
    from moodrec.enrich.clients import with_base_urls

    tracks = pl.read_parquet(catalogue)
    cfg = config(servers)
    moved = with_base_urls(
        cfg.model_copy(update={"workers": 1}),
        spotify="http://127.0.0.1:1",
        genius="http://127.0.0.1:2",
        lrclib="http://127.0.0.1:3",
    )
    assert moved.spotify.token_url == "http://127.0.0.1:1/api/token"
    assert moved.genius.web_root == "http://127.0.0.1:2/"
    assert [k for k, _ in plan_batches(tracks, moved)] == [k for k, _ in plan_batches(tracks, cfg)]
    stricter = cfg.model_copy(
        update={"genius": cfg.genius.model_copy(update={"min_title_match": 0.9})}
    )
    assert {k for k, _ in plan_batches(tracks, stricter)}.isdisjoint(
        {k for k, _ in plan_batches(tracks, cfg)}
    )


def test_max_tracks_needs_play_counts(servers, catalogue) -> None:
    from moodrec.errors import ConfigError

    with pytest.raises(ConfigError, match="n_events"):
        plan_batches(pl.read_parquet(catalogue), config(servers, max_tracks=5))
    tracks = pl.read_parquet(catalogue).with_columns(n_events=pl.col("track_id"))
    (_, batch), *_ = plan_batches(tracks, config(servers, max_tracks=5))
    assert batch["track_id"].to_list() == sorted(tracks["track_id"].to_list())[-5:]


def test_importing_spotify_installs_no_log_filter() -> None:
    import subprocess
    import sys

    code = (
        "import logging, moodrec.providers.spotify as s;"
        "a = len(logging.getLogger('spotipy.client').filters);"
        "s.install_log_filter(); s.install_log_filter();"
        "print(a, len(logging.getLogger('spotipy.client').filters))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "1"]


def test_secrets_never_leak(servers, secrets, catalogue, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    servers.modes.spotify_dev_mode = True
    servers.modes.rate_limit = (100, 2.0, 1.0)  # a few 429s with Retry-After: 1
    cfg = config(servers)
    providers = build_providers(cfg, secrets)
    with EnrichCache(cache_path(tmp_path), cfg.cache) as cache:
        result = run_enrichment(catalogue, tmp_path, cfg, providers, cache=cache)
        texts = [repr(cache)]
        assert cache.count() > 0
    assert cache_path(tmp_path).is_file()  # the cache file is among the files read below
    texts += [r.getMessage() for r in caplog.records] + [
        repr(providers.spotify),
        repr(providers.genius),
        repr(cfg),
    ]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            texts.append(path.read_bytes().decode("latin-1"))
    blob = "\n".join(texts)
    assert SPOTIFY_SECRET not in blob and GENIUS_TOKEN not in blob
    import base64

    assert base64.b64encode(SPOTIFY_SECRET.encode()).decode()[:16] not in blob
    assert result.n_batches_run > 0


def test_batches_are_keyed_by_content_and_config(catalogue, servers) -> None:
    tracks = pl.read_parquet(catalogue)
    a = plan_batches(tracks, config(servers))
    b = plan_batches(tracks, config(servers, lyrics_order=("lrclib",)))
    assert sum(df.height for _, df in a) == tracks.height
    assert {k for k, _ in a}.isdisjoint({k for k, _ in b})


@pytest.mark.skipif(not TOP40.is_file(), reason="../shared/data absent")
def test_features_file_on_real_top40() -> None:
    ff = FeaturesFile(FeaturesFileConfig(path=TOP40))
    res = ff.lookup(artist="Sabrina Carpenter", title="Taste")
    assert res.status == "found"
    assert res.data["features"]["tempo"] == pytest.approx(112.964)
    assert "pop" in res.data["genres"]
    assert "key" not in res.data["features"]  # the file has no key/mode
    assert ff.lookup(artist="Nobody", title="Nothing").status == "not_found"
