"""Only settled answers are kept: the next plain run asks again for everything else.

``found`` / ``not_found`` from a well-formed answer are cached; ``error``, ``blocked``,
``rate_limited`` and an ``unavailable`` no closed capability explains leave their batch not
done, and other credentials probe again.
"""

from __future__ import annotations

import polars as pl
from pydantic import SecretStr

from moodrec.config.base import Secrets
from moodrec.enrich.cache import EnrichCache, cache_path
from moodrec.enrich.clients import build_providers
from moodrec.enrich.stage import run_enrichment
from moodrec.providers.config import RetryConfig
from tests.enrich.test_stage import config, run

SETTLED = {"found", "not_found"}


def statuses(result, *caps: str) -> pl.DataFrame:
    status = pl.read_parquet(result.outputs["enrich_status"])
    return status.filter(pl.col("capability").is_in(list(caps))).sort(
        ["track_id", "capability", "provider"]
    )


def test_blocked_keys_are_asked_again_by_the_next_plain_run(
    servers, secrets, catalogue, tmp_path
) -> None:
    servers.modes.genius_cloudflare = True
    cfg = config(servers)
    first = run(servers, secrets, catalogue, tmp_path, cfg)
    genius = statuses(first, "lyrics").filter(pl.col("provider") == "genius")
    assert set(genius["status"]) == {"blocked"}
    servers.modes.genius_cloudflare = False  # the refusal is over
    before = servers.counts
    again = run(servers, secrets, catalogue, tmp_path, cfg)
    assert again.n_batches_run == again.n_batches
    assert servers.counts["genius"] > before["genius"]
    genius = statuses(again, "lyrics").filter(pl.col("provider") == "genius")
    assert set(genius["status"]) <= SETTLED and (genius["status"] == "found").sum() > 0
    # settled answers came from the cache: Spotify was not asked again
    assert servers.counts["spotify"] == before["spotify"]
    # and now that every key is settled, a third run asks nothing
    before = servers.counts
    third = run(servers, secrets, catalogue, tmp_path, cfg)
    assert third.n_batches_run == 0 and servers.counts == before


def test_errors_left_after_retries_are_retried_next_run(
    servers, secrets, catalogue, tmp_path
) -> None:
    servers.modes.error_rate = 0.3
    cfg = config(servers, workers=1)
    cfg = cfg.model_copy(
        update={"lrclib": cfg.lrclib.model_copy(update={"retry": RetryConfig(max_attempts=1)})}
    )
    first = run(servers, secrets, catalogue, tmp_path, cfg)
    assert (statuses(first, "lyrics")["status"] == "error").sum() > 0
    servers.modes.error_rate = 0.0
    before = servers.counts
    again = run(servers, secrets, catalogue, tmp_path, cfg)
    assert servers.counts["lrclib"] > before["lrclib"]
    assert set(statuses(again, "lyrics", "track_link")["status"]) <= SETTLED


def test_other_credentials_probe_again(servers, secrets, catalogue, tmp_path) -> None:
    wrong = Secrets(
        spotify_client_id=secrets.spotify_client_id,
        spotify_client_secret=SecretStr("not-the-secret"),
        genius_token=secrets.genius_token,
    )
    cfg = config(servers)
    first = run(servers, wrong, catalogue, tmp_path, cfg)
    assert set(statuses(first, "track_link")["status"]) == {"unavailable"}
    before = servers.counts
    again = run(servers, secrets, catalogue, tmp_path, cfg)  # the right secret now
    assert servers.counts["spotify"] > before["spotify"]
    links = statuses(again, "track_link")
    assert (links["status"] == "found").sum() > 0.8 * links.height
    # the probe is cached under a salted fingerprint, never under the secret itself
    raw = cache_path(tmp_path).read_bytes()
    assert (
        b"not-the-secret" not in raw
        and secrets.spotify_client_secret.get_secret_value()[-12:].encode() not in raw
    )


def test_a_closed_capability_is_settled_a_403_per_key_is_not() -> None:
    from moodrec.enrich.parts import count_unsettled

    status = pl.DataFrame(
        {
            "track_id": [1, 1, 2, 2],
            "capability": ["track_link", "audio_features", "track_link", "lyrics"],
            "provider": ["spotify", "spotify", "spotify", "genius"],
            "status": ["found", "unavailable", "unavailable", "blocked"],
        }
    )
    closed = {"spotify": {"search": "available", "audio_features": "unavailable"}}
    # the features row is explained by the probe; the link 403 and the refusal are not
    assert count_unsettled(status, closed) == 2
    assert count_unsettled(status, {}) == 3


def test_malformed_answers_end_as_a_clean_run(servers, secrets, catalogue, tmp_path) -> None:
    """At 50 % truncated JSON bodies, plain re-runs end where a clean run does: every track
    found by the clean run is found, none is cached ``not_found``."""
    retry = RetryConfig(max_attempts=6, backoff_base_s=0.0, max_retry_after_s=2, timeout_s=5)
    cfg = config(servers, workers=1)
    cfg = cfg.model_copy(
        update={
            name: getattr(cfg, name).model_copy(update={"retry": retry})
            for name in ("spotify", "genius", "lrclib")
        }
    )
    clean = run(servers, secrets, catalogue, tmp_path / "clean", cfg)
    servers.modes.malformed_rate = 0.5
    out = tmp_path / "faulty"
    for _ in range(8):
        result = run(servers, secrets, catalogue, out, cfg)
        if set(statuses(result, "track_link", "lyrics")["status"]) <= SETTLED:
            break
    assert servers.faults["malformed"] > 100
    caps = ("track_link", "lyrics")
    assert statuses(result, *caps).equals(statuses(clean, *caps))
    found = statuses(clean, "track_link").filter(pl.col("status") == "found")
    found_ids = found["track_id"].implode()
    tracks = pl.read_parquet(catalogue).filter(pl.col("track_id").is_in(found_ids))
    with EnrichCache(cache_path(out), cfg.cache) as cache:
        for artist, title in tracks.select("artist_name", "track_name").iter_rows():
            hit = cache.get("spotify", "track_link", f"{artist}\x1f{title}")
            assert hit is not None and hit.status == "found", (artist, title)


def test_unsettled_parts_without_a_cache_are_redone(servers, secrets, catalogue, tmp_path):
    servers.modes.genius_cloudflare = True
    cfg = config(servers)
    run_enrichment(catalogue, tmp_path, cfg, build_providers(cfg, secrets))
    servers.modes.genius_cloudflare = False
    again = run_enrichment(catalogue, tmp_path, cfg, build_providers(cfg, secrets))
    assert again.n_batches_run == again.n_batches
    status = pl.read_parquet(again.outputs["enrich_status"])
    assert "blocked" not in set(status["status"])
