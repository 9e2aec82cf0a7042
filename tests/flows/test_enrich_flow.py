"""enrich_flow on the tiny sandbox: it starts and stops its own fake servers, with faults."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import polars as pl
import pytest
from pydantic import SecretStr

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
    # every answer from the cache; only the app's mode is learnt again (a token and one
    # artist a batch: "genres not served" is not a settled answer about that artist)
    requests = refreshed["summary"]["sandbox_servers"]["requests"]
    assert all(n == 0 for k, n in requests.items() if k != "spotify"), requests
    assert requests["spotify"] <= 2 * refreshed["summary"]["batches"]["total"]
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


def test_a_plain_rerun_asks_again_for_keys_that_failed(harness, config_env, tmp_path: Path):
    """Errors left after the retries are not cached, in the answer cache or by Prefect: the
    next run (same batch keys: retry budgets are not part of them) asks for those keys again,
    until every key is settled."""
    enrich = {
        "max_tracks": 40,
        "batch_retries": 0,
        "sandbox_servers": {"error_rate": 0.3, "reset_rate": 0.0},
    }
    overrides = {"paths": {"data_dir": str(tmp_path / "data")}, "enrich": enrich}
    ingest_flow(profile="tiny", overrides=overrides)

    def n_errors(result: dict) -> int:
        return sum(counts["error"] for counts in result["report"]["coverage"].values())

    # the first run gives up on a lyrics key at its first 503
    once = {"retry": {"max_attempts": 1}}
    first = {**overrides, "enrich": {**enrich, "genius": once, "lrclib": once}}
    result = enrich_flow(profile="tiny", overrides=first)
    errors = [n_errors(result)]
    assert result["report"]["coverage"]["lyrics"]["error"] > 0
    for _ in range(8):
        result = enrich_flow(profile="tiny", overrides=overrides)
        requests = result["summary"]["sandbox_servers"]["requests"]
        assert sum(requests.values()) > 0  # the failed keys, asked again
        errors.append(n_errors(result))
        if errors[-1] == 0:
            break
    assert errors[-1] == 0, errors
    status = pl.read_parquet(result["refs"]["enrich_status"].path)
    assert set(status["status"]) <= FINAL
    # settled now: the next run asks nothing
    again = enrich_flow(profile="tiny", overrides=overrides)
    assert sum(again["summary"]["sandbox_servers"]["requests"].values()) == 0


def test_the_right_secret_after_a_wrong_one_probes_again(
    harness, config_env, tmp_path: Path, monkeypatch
) -> None:
    """A run with a wrong Spotify secret, then ``moodrec enrich`` with the right one: the
    probe is keyed on a fingerprint of the credentials, so Spotify is asked and found."""
    from typer.testing import CliRunner

    import moodrec.tasks.enrich as tasks
    from moodrec.cli import app
    from moodrec.config.base import Secrets

    data = tmp_path / "data"
    overrides = {"paths": {"data_dir": str(data)}, "enrich": {"max_tracks": 30}}
    ingest_flow(profile="tiny", overrides=overrides)
    right = tasks._secrets

    def wrong(profile: str, sandbox: bool) -> Secrets:
        good = right(profile, sandbox)
        return good.model_copy(update={"spotify_client_secret": SecretStr("wrong")})

    monkeypatch.setattr(tasks, "_secrets", wrong)
    first = enrich_flow(profile="tiny", overrides=overrides)
    assert first["summary"]["unreachable"]["spotify.search"] == "unavailable"
    assert pl.read_parquet(first["refs"]["track_links"].path).is_empty()
    monkeypatch.setattr(tasks, "_secrets", right)
    monkeypatch.setenv("MOODREC_PATHS__DATA_DIR", str(data))
    monkeypatch.setenv("MOODREC_ENRICH__MAX_TRACKS", "30")
    out = CliRunner().invoke(app, ["enrich", "--profile", "tiny"])
    assert out.exit_code == 0, out.output
    links = pl.read_parquet(data / "features/enrich/track_links.parquet")
    assert links.height > 0.8 * 30
    status = pl.read_parquet(data / "features/enrich/enrich_status.parquet")
    assert "unavailable" not in set(status.filter(pl.col("capability") == "track_link")["status"])
