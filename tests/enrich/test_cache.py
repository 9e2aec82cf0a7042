"""The per-key answer cache: re-runs ask nothing, TTLs expire, bad files fail loudly."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import polars as pl
import pytest

from moodrec.enrich.cache import CacheError, EnrichCache, cache_path
from moodrec.enrich.config import CacheConfig
from moodrec.errors import MoodrecError
from moodrec.providers.base import LookupResult
from tests.enrich.test_stage import config, run

SERVICES = ("spotify", "genius", "lrclib")


def test_second_run_makes_zero_requests(servers, secrets, catalogue, tmp_path) -> None:
    cfg = config(servers)
    first = run(servers, secrets, catalogue, tmp_path, cfg)
    before = servers.counts
    assert all(before[s] > 0 for s in SERVICES)
    # same out dir: finished parts + a fresh cached probe → not even the probe is sent
    again = run(servers, secrets, catalogue, tmp_path, cfg)
    assert again.n_batches_run == 0
    assert servers.counts == before
    # a fresh out dir (no parts at all): every answer comes from the cache
    other = tmp_path / "other"
    with EnrichCache(cache_path(tmp_path), cfg.cache) as cache:
        from moodrec.enrich.clients import build_providers
        from moodrec.enrich.stage import run_enrichment

        redo = run_enrichment(catalogue, other, cfg, build_providers(cfg, secrets), cache=cache)
    assert redo.n_batches_run == first.n_batches
    assert servers.counts == before
    for name in ("track_links", "track_features", "artist_genres", "lyrics_raw", "enrich_status"):
        assert pl.read_parquet(redo.outputs[name]).equals(pl.read_parquet(first.outputs[name]))


def test_expired_ttl_refetches(servers, secrets, catalogue, tmp_path) -> None:
    cfg = config(servers)
    run(servers, secrets, catalogue, tmp_path, cfg)
    before = servers.counts
    later = time.time() + 365 * 86_400  # past every TTL
    redo = run(servers, secrets, catalogue, tmp_path / "later", cfg, clock=lambda: later)
    assert redo.n_batches_run > 0
    assert all(servers.counts[s] > before[s] for s in SERVICES)
    assert servers.counts["spotify"] - before["spotify"] >= 4  # the probe ran again too


def test_errors_are_not_cached_and_writes_commit_per_batch(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    with EnrichCache(path) as cache:
        cache.put("lrclib", "lyrics", "a", LookupResult("found", {"text": "x"}))
        cache.put("lrclib", "lyrics", "b", LookupResult("error", detail="HTTP 503"))
        assert cache.get("lrclib", "lyrics", "a") is not None  # visible before the commit
        assert cache.get("lrclib", "lyrics", "b") is None
        assert cache.count() == 0  # nothing on disk until the batch commits
        assert cache.commit() == 1
    with EnrichCache(path) as cache:
        assert cache.get("lrclib", "lyrics", "a").data == {"text": "x"}
        mode = cache._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_stale_lists_expired_rows(tmp_path) -> None:
    now = [1000.0]
    cfg = CacheConfig(found_ttl_s=10, not_found_ttl_s=100)
    with EnrichCache(tmp_path / "c.sqlite", cfg, clock=lambda: now[0]) as cache:
        cache.put("genius", "lyrics", "a", LookupResult("found"))
        cache.put("genius", "lyrics", "b", LookupResult("not_found"))
        cache.commit()
        now[0] += 50
        assert [k for _, _, k, _ in cache.stale()] == ["a"]
        assert cache.get("genius", "lyrics", "a") is None
        assert cache.get("genius", "lyrics", "b") is not None


def test_corrupt_file_is_a_clear_error_and_left_untouched(tmp_path) -> None:
    path = cache_path(tmp_path)
    path.parent.mkdir(parents=True)
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(CacheError, match="corrupt") as info:
        EnrichCache(path)
    assert isinstance(info.value, MoodrecError)
    assert str(path) in str(info.value)
    assert path.read_bytes() == garbage


def test_locked_file_keeps_pending_answers(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    cache = EnrichCache(path, CacheConfig(busy_timeout_s=0.1))
    cache.put("spotify", "track_link", "k", LookupResult("found", {"spotify_id": "x"}))
    other = sqlite3.connect(path)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    with pytest.raises(CacheError, match="locked"):
        cache.commit()
    other.rollback()
    other.close()
    assert cache.commit() == 1  # nothing was lost: the retry writes it
    cache.close()
    with EnrichCache(path) as again:
        assert again.get("spotify", "track_link", "k").data == {"spotify_id": "x"}


def test_corrupt_cache_fails_the_run_not_the_data(servers, secrets, catalogue, tmp_path) -> None:
    cfg = config(servers)
    path = cache_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00" * 4096)
    with pytest.raises(CacheError):
        run(servers, secrets, catalogue, tmp_path, cfg)
    assert not (Path(tmp_path) / "enrich_parts").exists()


def test_refresh_fetches_only_expired_answers(servers, secrets, catalogue, tmp_path) -> None:
    from moodrec.enrich.clients import build_providers
    from moodrec.enrich.stage import run_enrichment

    cfg = config(servers)
    first = run(servers, secrets, catalogue, tmp_path, cfg)
    before = servers.counts

    def refresh(clock):
        with EnrichCache(cache_path(tmp_path), cfg.cache, clock=clock) as cache:
            providers = build_providers(cfg, secrets)
            return run_enrichment(catalogue, tmp_path, cfg, providers, cache=cache, refresh=True)

    fresh = refresh(time.time)  # nothing expired: every batch redone from the cache alone
    assert fresh.n_batches_run == first.n_batches
    assert servers.counts == before
    for name in ("track_links", "lyrics_raw", "enrich_status"):
        assert pl.read_parquet(fresh.outputs[name]).equals(pl.read_parquet(first.outputs[name]))
    later = time.time() + 365 * 86_400
    refresh(lambda: later)
    assert all(servers.counts[s] > before[s] for s in SERVICES)
