"""The ``demo-open`` profile on the tiny world: the sandbox pipeline through the open sources
only (fake MusicBrainz / Last.fm / Deezer / LRCLIB + the world's AcousticBrainz dumps), with
no Spotify or Genius provider and no credentials in the environment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from moodrec.config.loader import load_settings
from moodrec.flows.enrich import enrich_flow
from moodrec.flows.genres import genres_flow
from moodrec.flows.ingest import ingest_flow
from moodrec.flows.session import session_flow

pytestmark = [pytest.mark.slow, pytest.mark.heavy]


def test_demo_open_profile_needs_no_credentials(config_env) -> None:
    settings = load_settings("demo-open", environ={})
    assert settings.enrich.spotify is None and settings.enrich.genius is None
    assert settings.secrets.spotify_client_id is None
    assert settings.session.features_source == "enrich"
    assert settings.session.enrich_mood == "open_fit"


def test_demo_open_on_the_tiny_world_runs_through_the_open_sources(
    harness, config_env, tmp_path: Path, monkeypatch
) -> None:
    for var in (
        "MOODREC_SPOTIFY_CLIENT_ID",
        "MOODREC_SPOTIFY_CLIENT_SECRET",
        "MOODREC_GENIUS_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    overrides = {
        "paths": {"data_dir": str(data)},
        "sandbox": {"profile": "tiny", "seed": 7},
        "enrich": {"max_tracks": None, "batch_size": 100},
        "session": {
            "models": ["pop", "mood"],
            "window_quantiles": [0.7],
            "window_models": ["mood"],
            "max_eval_sessions": 20,
            "bootstrap_rounds": 50,
            "open_mood_min_evidence": "any",
        },
    }
    ingest_flow(profile="demo-open", overrides=overrides)
    enriched = enrich_flow(profile="demo-open", overrides=overrides)
    refs = enriched["refs"]
    status = pd.read_parquet(refs["enrich_status"].path)
    assert not set(status["provider"]) & {"spotify", "genius"}
    tags = pd.read_parquet(refs["track_tags"].path)
    audio = pd.read_parquet(refs["track_audio"].path)
    moods = pd.read_parquet(refs["track_moods"].path)
    assert {"lastfm_tags", "musicbrainz"} <= set(tags["provider"])
    assert len(audio) > 0 and len(moods) > 0

    result = session_flow(profile="demo-open", overrides=overrides)
    summary = result["summary"]
    assert result["synthetic"] is True
    assert sorted(summary["mood_states"]) == ["calm", "energetic", "happy", "sad"]
    # the open model covers the tracks without an AcousticBrainz record too
    n_tracks = summary["features"]["n_tracks"]
    assert summary["features"]["link_rate"] > len(moods) / n_tracks
    assert summary["mood_state_agreement"]["matched_sessions"] > 0

    genres = genres_flow(profile="demo-open", overrides=overrides)
    table = pd.read_parquet(genres["refs"]["genre_table"].path)
    # weights from the providers' tag counts, not all 1
    assert table["weight"].between(0, 1).all() and table["weight"].nunique() > 1
