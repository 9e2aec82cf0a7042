"""enrich_flow on the tiny sandbox, against the fake servers, under a temporary Prefect API."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import pytest
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from moodrec.config import load_settings
from moodrec.flows.enrich import enrich_flow, refresh_metadata_flow
from moodrec.flows.ingest import ingest_flow
from moodrec.sandbox.servers import FakeServers, WorldIndex
from tests.enrich.test_stage import config
from tests.providers.conftest import GENIUS_TOKEN, SPOTIFY_ID, SPOTIFY_SECRET

pytestmark = pytest.mark.slow


def test_enrich_flow_end_to_end(config_env, tmp_path: Path, monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MOODREC_SPOTIFY_CLIENT_ID", SPOTIFY_ID)
    monkeypatch.setenv("MOODREC_SPOTIFY_CLIENT_SECRET", SPOTIFY_SECRET)
    monkeypatch.setenv("MOODREC_GENIUS_TOKEN", GENIUS_TOKEN)
    overrides = {"paths": {"data_dir": str(tmp_path / "data")}}
    storage = tmp_path / "prefect-results"
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}), prefect_test_harness():
        ingest_flow(profile="tiny", overrides=overrides)
        settings = load_settings("tiny", overrides=overrides)
        world = next((Path(settings.paths.data_dir) / "raw").rglob("truth"))
        with FakeServers(
            WorldIndex.from_truth(world),
            spotify_credentials=(SPOTIFY_ID, SPOTIFY_SECRET),
            genius_token=GENIUS_TOKEN,
        ) as srv:
            srv.modes.spotify_audio_features_closed = True
            result = enrich_flow(profile="tiny", overrides=overrides, cfg=config(srv))
            sent = srv.counts
            links = pl.read_parquet(result["refs"]["track_links"].path)
            # nothing expired: the scheduled refresh answers every key from the cache
            refreshed = refresh_metadata_flow(profile="tiny", overrides=overrides, cfg=config(srv))
            assert srv.counts == sent
            assert refreshed["stale"] == 0
    report = result["report"]
    assert report["capabilities"]["spotify"]["audio_features"] == "unavailable"
    assert links.height > 0
    assert pl.read_parquet(refreshed["refs"]["track_links"].path).equals(links)
    assert (Path(result["data_dir"]) / "cache" / "enrich.sqlite").is_file()
    blob = "\n".join(r.getMessage() for r in caplog.records)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            blob += path.read_bytes().decode("latin-1")
    assert SPOTIFY_SECRET not in blob and GENIUS_TOKEN not in blob
