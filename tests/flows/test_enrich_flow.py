"""enrich_flow on the tiny sandbox: it starts and stops its own fake servers, with faults."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from moodrec.errors import StageIncompleteError
from moodrec.flows.enrich import enrich_flow, refresh_metadata_flow
from moodrec.flows.ingest import ingest_flow

pytestmark = pytest.mark.slow

FINAL = {"found", "not_found", "unavailable"}


def test_enrich_flow_sandbox_with_faults(harness, config_env, tmp_path: Path) -> None:
    overrides = {
        "paths": {"data_dir": str(tmp_path / "data")},
        # on top of tiny.yaml's 5 % 5xx and 2 % resets: 429 bursts (the client allows more)
        "enrich": {
            "sandbox_servers": {
                "rate_limit": {"max_requests": 100, "window_s": 1.0, "retry_after_s": 1.0}
            }
        },
    }
    ingest_flow(profile="tiny", overrides=overrides)
    result = enrich_flow(profile="tiny", overrides=overrides)
    summary, report = result["summary"], result["report"]
    assert result["complete"] and result["synthetic"]
    served = summary["sandbox_servers"]
    assert served["faults"]["5xx"] > 0 and served["faults"]["reset"] > 0
    assert sum(served["throttled_429"].values()) > 0
    n = summary["tracks"]["enriched"]
    assert (
        n
        == summary["tracks"]["catalogue"]
        == pl.read_parquet(tmp_path / "data/interim/tracks.parquet").height
    )
    # every key ends found / not_found / unavailable: none lost to the faults
    status = pl.read_parquet(result["refs"]["enrich_status"].path)
    assert set(status["status"]) <= FINAL
    for cap, counts in report["coverage"].items():
        if cap != "artist_genres":  # that one counts artists (one track each), not tracks
            assert sum(counts.values()) == n, cap
        assert counts["error"] == counts["rate_limited"] == counts["blocked"] == 0, cap
    # the 2026 reality the fixtures show is reported, never stored as empty data
    assert summary["unreachable"]["spotify.audio_features"] == "unavailable"
    assert pl.read_parquet(result["refs"]["track_features"].path).is_empty()
    assert report["fields"]["track_links"]["isrc"] > 0.8 * n
    assert report["by_provider"]["lyrics"]["genius"]["found"] > 0.5 * n
    # the servers were stopped with the flow
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{result['sandbox_urls']['lrclib']}/api/search", params={"q": "x"})

    again = enrich_flow(profile="tiny", overrides=overrides)
    requests = again["summary"]["sandbox_servers"]["requests"]
    assert {"spotify", "genius", "lrclib"} <= set(requests)
    assert all(n == 0 for n in requests.values()), requests
    assert again["summary"]["batches"]["run"] == 0
    refreshed = refresh_metadata_flow(profile="tiny", overrides=overrides)
    assert refreshed["stale"] == 0
    assert sum(refreshed["summary"]["sandbox_servers"]["requests"].values()) == 0
    for name in ("track_links", "lyrics_raw", "enrich_status"):
        first = pl.read_parquet(result["refs"][name].path)
        assert pl.read_parquet(refreshed["refs"][name].path).equals(first)


def test_max_tracks_caps_the_most_played(harness, config_env, tmp_path: Path) -> None:
    overrides = {"paths": {"data_dir": str(tmp_path / "data")}, "enrich": {"max_tracks": 20}}
    ingest_flow(profile="tiny", overrides=overrides)
    result = enrich_flow(profile="tiny", overrides=overrides)
    tracks = result["summary"]["tracks"]
    assert tracks["max_tracks"] == 20 and tracks["enriched"] == 20
    catalogue = pl.read_parquet(tmp_path / "data/interim/tracks.parquet")
    status = pl.read_parquet(result["refs"]["enrich_status"].path)
    threshold = catalogue.sort("n_events", descending=True)["n_events"][19]
    played = catalogue.filter(pl.col("track_id").is_in(status["track_id"].unique().implode()))
    assert played["n_events"].min() >= threshold


def test_retry_after_beyond_the_cap_leaves_a_clear_report(
    harness, config_env, tmp_path: Path
) -> None:
    data = {"paths": {"data_dir": str(tmp_path / "data")}}
    ingest_flow(profile="tiny", overrides=data)
    first = enrich_flow(profile="tiny", overrides={**data, "enrich": {"max_tracks": 10}})
    assert first["complete"]  # and the capability probe is cached now
    # now every request gets 429 + Retry-After: 1 h, far beyond tiny's 5 s cap
    hostile = {
        "batch_retries": 0,
        "sandbox_servers": {
            "rate_limit": {"max_requests": 0, "window_s": 60.0, "retry_after_s": 3600.0}
        },
    }
    started = time.monotonic()
    # nothing settled: the stage fails (a green stage would hide it), saying how many settled
    with pytest.raises(StageIncompleteError, match=r"settled 0 of \d+ planned tracks") as err:
        enrich_flow(profile="tiny", overrides={**data, "enrich": hostile})
    assert time.monotonic() - started < 60  # nobody slept for the hour
    result = err.value.result
    assert not result["complete"]
    assert result["summary"]["batches"]["not_done"] == result["summary"]["batches"]["total"]
    assert all("Retry-After" in f["reason"] or "rate" in f["reason"] for f in result["not_done"])
    served = result["summary"]["sandbox_servers"]
    # one 429 per worker at most per batch: the host pause stops the rest at once
    assert 0 < sum(served["requests"].values()) <= 3 * 4 * result["summary"]["batches"]["total"]
