"""session_flow on the tiny sandbox under a temporary Prefect API."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from moodrec.flows.session import session_flow

pytestmark = pytest.mark.slow

OVERRIDES_SESSION = {
    "models": ["pop", "sknn", "gru4rec", "mood"],
    "window_quantiles": [0.7],
    "window_models": ["sknn", "mood"],
    "sequence": {"epochs": 1, "embedding_dim": 16, "hidden_dim": 16},
    "max_eval_sessions": 20,
    "bootstrap_rounds": 100,
}


def test_session_flow_writes_reports_model_and_serves(harness, config_env, tmp_path: Path) -> None:
    from moodrec.session.serving import recommend_in_session

    data_dir = tmp_path / "data"
    overrides = {"paths": {"data_dir": str(data_dir)}, "session": OVERRIDES_SESSION}
    result = session_flow(profile="tiny", overrides=overrides)
    refs = result["refs"]
    assert result["synthetic"] is True
    table = pd.read_parquet(refs["session_results"].path)
    assert table["model"].tolist() == OVERRIDES_SESSION["models"]
    md = Path(refs["session_results_md"].path).read_text()
    assert "synthetic sandbox data" in md.splitlines()[0]
    manifest = json.loads((data_dir / "manifest.json").read_text())["datasets"]
    assert manifest["session_results"]["fingerprint"] == refs["session_results"].fingerprint
    assert sorted(result["summary"]["mood_states"]) == ["calm", "energetic", "happy", "sad"]

    # unchanged re-run is served from the cache: same files, same fingerprints
    again = session_flow(profile="tiny", overrides=overrides)
    assert again["refs"] == refs

    rec = recommend_in_session(data_dir, "user_000001", k=5, mood="calm")
    assert len(rec.items) == 5 and rec.mood == "calm"


def test_unknown_session_option_is_a_config_error(harness, config_env) -> None:
    from moodrec.errors import ConfigError

    with pytest.raises(ConfigError, match="session"):
        session_flow.fn(profile="tiny", overrides={"session": {"colour": "red"}})


def test_session_moods_from_the_enrich_acousticbrainz_table(
    harness, config_env, tmp_path: Path
) -> None:
    """The open path: the world's AcousticBrainz dumps → enrich → session mood states."""
    from moodrec.flows.enrich import enrich_flow
    from moodrec.flows.ingest import ingest_flow

    data_dir = tmp_path / "data"
    overrides = {
        "paths": {"data_dir": str(data_dir)},
        # no Spotify/Genius/LRCLIB: the dump alone (a sandbox run reads the world's dumps)
        "enrich": {
            "spotify": None,
            "genius": None,
            "lrclib": None,
            "features_order": ["acousticbrainz_dump"],
            "acousticbrainz_dump": {},
        },
        "session": {**OVERRIDES_SESSION, "models": ["pop", "mood"], "features_source": "enrich"},
    }
    ingest_flow(profile="tiny", overrides=overrides)
    enriched = enrich_flow(profile="tiny", overrides=overrides)
    moods_table = pd.read_parquet(enriched["refs"]["track_moods"].path)
    assert len(moods_table) > 0
    result = session_flow(profile="tiny", overrides=overrides)
    assert result["synthetic"] is True
    summary = result["summary"]
    assert summary["features"]["link_rate"] == pytest.approx(
        len(moods_table) / summary["features"]["n_tracks"], abs=0.01
    )
    assert sorted(summary["mood_states"]) == ["calm", "energetic", "happy", "sad"]
    assert summary["mood_state_agreement"]["matched_sessions"] > 0
