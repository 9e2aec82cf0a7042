"""The enrichment stage through the open sources only (MusicBrainz, Last.fm, Deezer, LRCLIB)
against the fake services: coverage, genres the genres stage can read, no requests on re-run."""

# ruff: noqa: F811  (fixtures imported from tests.providers.conftest)

from __future__ import annotations

import polars as pl
from pydantic import SecretStr

from moodrec.config.base import Secrets
from moodrec.enrich.cache import EnrichCache, cache_path
from moodrec.enrich.clients import build_providers, with_base_urls
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.outputs import genre_table_from_enrich
from moodrec.enrich.stage import run_enrichment
from moodrec.providers.config import (
    DeezerConfig,
    LastfmTagsConfig,
    LrclibConfig,
    MusicBrainzConfig,
    RetryConfig,
)
from tests.providers.conftest import catalogue, servers, world_dir, world_index  # noqa: F401

FAST = RetryConfig(max_attempts=4, backoff_base_s=0.01, max_retry_after_s=2, timeout_s=5)
OPEN = ("musicbrainz", "lastfm", "deezer")


def open_config(servers, **kw) -> EnrichConfig:
    cfg = EnrichConfig(
        spotify=None,
        genius=None,
        lrclib=LrclibConfig(retry=FAST, rate_limit=None),
        musicbrainz=MusicBrainzConfig(retry=FAST, rate_limit=None),
        lastfm_tags=LastfmTagsConfig(retry=FAST, rate_limit=None),
        deezer=DeezerConfig(retry=FAST, rate_limit=None),
        features_order=("features_file",),
        genres_order=("musicbrainz", "lastfm_tags"),
        lyrics_order=("lrclib",),
        batch_size=64,
        **kw,
    )
    return with_base_urls(
        cfg,
        spotify=None,
        genius=None,
        lrclib=servers.url("lrclib"),
        musicbrainz=servers.url("musicbrainz"),
        lastfm_tags=servers.url("lastfm"),
        deezer=servers.url("deezer"),
    )


def run(cfg, secrets, catalogue, out, *, refresh=False):
    with EnrichCache(cache_path(out), cfg.cache) as cache:
        providers = build_providers(cfg, secrets)
        return run_enrichment(catalogue, out, cfg, providers, cache=cache, refresh=refresh)


def test_open_sources_reach_genres_tags_bpm_and_rerun_asks_nothing(
    servers, world_index, catalogue, tmp_path
) -> None:
    cfg = open_config(servers)
    secrets = Secrets(lastfm_api_key=SecretStr("any-key"))
    result = run(cfg, secrets, catalogue, tmp_path)
    cov = result.coverage["coverage"]
    n = pl.read_parquet(catalogue).height
    assert cov["recording"]["found"] > 0.9 * n and cov["recording"]["error"] == 0
    assert cov["track_audio"]["found"] > 0.7 * n
    assert cov["track_tags"]["found"] > 0.6 * n
    assert not result.coverage["unreachable"]
    genres = pl.read_parquet(result.outputs["artist_genres"])
    assert set(genres["provider"]) <= {"musicbrainz", "lastfm_tags"}
    assert "musicbrainz" in set(genres["provider"])
    # the genres agree with the planted ones (MusicBrainz answers the artist's own genres)
    planted = {
        a["artist_id"]: set(a["genres"]) | {a["super_genre"]} for a in world_index.artists.values()
    }
    for row in genres.filter(pl.col("provider") == "musicbrainz").iter_rows(named=True):
        assert set(row["genres"]) <= planted[row["artist_id"]]
    table = genre_table_from_enrich(result.outputs["artist_genres"])
    assert table["artist"].nunique() == genres["artist_id"].n_unique()
    audio = pl.read_parquet(result.outputs["track_audio"])
    assert audio["bpm"].null_count() < audio.height and audio["album_genres"].list.len().min() >= 1
    tags = pl.read_parquet(result.outputs["artist_tags"])
    assert {"genre", "tag"} == set(tags["kind"])  # noise tags ("seen live") are kept apart
    assert "seen live" in set(tags.filter(pl.col("kind") == "tag")["tag"])
    ids = pl.read_parquet(result.outputs["track_ids"])
    assert ids["track_id"].is_unique().all()

    servers.reset_counts()
    again = run(cfg, secrets, catalogue, tmp_path, refresh=True)  # every batch redone from cache
    assert again.n_batches_run == again.n_batches
    assert all(servers.counts[s] == 0 for s in OPEN), servers.counts
    for name in ("artist_genres", "track_audio", "track_tags"):
        assert pl.read_parquet(again.outputs[name]).equals(pl.read_parquet(result.outputs[name]))


def test_without_a_lastfm_key_lastfm_is_unavailable_and_never_asked(
    servers, catalogue, tmp_path
) -> None:
    cfg = open_config(servers, max_tracks=None)
    result = run(cfg, Secrets(), catalogue, tmp_path)
    assert servers.counts["lastfm"] == 0
    unreachable = {(u["provider"], u["status"]) for u in result.coverage["unreachable"]}
    assert ("lastfm_tags", "unavailable") in unreachable
    assert servers.counts["spotify"] == servers.counts["genius"] == 0  # off, never probed
    genres = pl.read_parquet(result.outputs["artist_genres"])
    assert genres.height > 0 and set(genres["provider"]) == {"musicbrainz"}


def test_open_profile_needs_no_credentials(config_env) -> None:
    from moodrec.config.loader import load_settings

    settings = load_settings("lastfm1k-open", environ={})
    cfg = settings.enrich
    assert cfg.spotify is None and cfg.genius is None
    assert cfg.genres_order == ("musicbrainz", "lastfm_tags")
    providers = build_providers(cfg, settings.secrets)  # builds clients, sends nothing
    assert providers.spotify is None and providers.genius is None
    assert providers.musicbrainz is not None and providers.deezer is not None
    assert providers.lastfm_tags is None
    assert providers.capabilities["lastfm_tags"] == {
        "track_tags": "unavailable",
        "artist_tags": "unavailable",
    }
    assert settings.genres.source == "enrich" and settings.lyrics.source == "enrich"
