"""The topic flow on the tiny sandbox under a temporary Prefect API: outputs, cache, artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.flows.topics import topics_flow

pytestmark = pytest.mark.slow


def test_topics_flow_tiny(harness, config_env, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    overrides = {
        "paths": {"data_dir": str(data_dir)},
        "topics": {
            "k_values": [3, 4, 5],
            "alphas": ["symmetric", "asymmetric"],
            "etas": ["symmetric"],
            "passes": 3,
            "n_sweep_tasks": 2,
            "tsne_perplexity": 10,
        },
    }
    result = topics_flow(profile="tiny", overrides=overrides)
    refs = result["refs"]
    assert result["synthetic"] is True
    tt = pd.read_parquet(refs["track_topics"].path)
    cols = [c for c in tt.columns if c.startswith("topic_")]
    assert len(cols) == result["summary"]["k"]
    np.testing.assert_allclose(tt[cols].sum(axis=1), 1.0, atol=1e-9)
    sweep = pd.read_parquet(refs["topics_sweep"].path)
    assert len(sweep) == 3 + 1 and sweep["chosen"].sum() == 1
    assert Path(refs["topics_view"].path).read_text().startswith("<html")
    assert "valence" in Path(refs["topic_map_html"].path).read_text()
    quality = json.loads(Path(refs["topic_map_quality"].path).read_text())
    assert 0 < quality["topic_space"]["trustworthiness"] <= 1
    manifest = json.loads((data_dir / "manifest.json").read_text())["datasets"]
    assert manifest["track_topics"]["fingerprint"] == refs["track_topics"].fingerprint

    again = topics_flow(profile="tiny", overrides=overrides)
    assert again["refs"] == refs


def test_topics_flow_per_language_reports_skipped(harness, config_env, tmp_path: Path) -> None:
    """The tiny world's 4 French lyrics are below min_docs: reported, English still modelled."""
    overrides = {
        "paths": {"data_dir": str(tmp_path / "data")},
        "lyrics": {"language_mode": "per_language"},
        "topics": {
            "k_values": [3, 4],
            "alphas": ["symmetric"],
            "etas": ["symmetric"],
            "passes": 2,
            "n_sweep_tasks": 1,
            "tsne_perplexity": 10,
        },
    }
    result = topics_flow(profile="tiny", overrides=overrides)
    summary = result["summary"]
    assert summary["language_mode"] == "per_language"
    assert list(summary["topic_languages"]) == ["en"]
    assert summary["skipped_languages"]["fr"]["n_documents"] == summary["languages"]["fr"]
    tt = pd.read_parquet(result["refs"]["track_topics"].path)
    assert set(tt["language"]) == {"en"}
    cols = [c for c in tt.columns if c.startswith("topic_")]
    np.testing.assert_allclose(tt[cols].sum(axis=1), 1.0, atol=1e-9)
    topics = pd.read_parquet(result["refs"]["topics"].path)
    assert topics["topic_key"].str.startswith("en:").all()


def test_lyrics_file_edited_between_runs_is_read_again(harness, config_env, tmp_path: Path) -> None:
    """``lyrics.source: file``: the file's content is in the cache key (not only its path)."""
    rng = np.random.default_rng(5)
    themes = [
        np.array(words.split())
        for words in (
            "love heart kiss tender darling forever baby hold tonight dream",
            "money street block hustle city gold chain corner grind paper",
            "river mountain sun valley forest morning wind rain field stone",
        )
    ]
    docs = [
        " ".join(rng.choice(themes[i % 3], 60)) + " and the night is long for me" for i in range(90)
    ]
    path = tmp_path / "lyrics.csv"
    pd.DataFrame({"track_id": range(90), "text": docs}).to_csv(path, index=False)
    overrides = {
        "paths": {"data_dir": str(tmp_path / "data")},
        "lyrics": {"source": "file", "path": str(path), "phrase_rounds": 0},
        "topics": {
            "k_values": [3],
            "alphas": ["symmetric"],
            "etas": ["symmetric"],
            "passes": 2,
            "n_sweep_tasks": 1,
            "min_docs": 20,
            "tsne_perplexity": 10,
        },
    }
    first = topics_flow(profile="tiny", overrides=overrides)
    assert first["synthetic"] is False
    assert pd.read_parquet(first["refs"]["lyrics_input"].path)["track_id"].nunique() == 90
    pd.DataFrame({"track_id": range(60), "text": docs[:60]}).to_csv(path, index=False)
    second = topics_flow(profile="tiny", overrides=overrides)
    assert pd.read_parquet(second["refs"]["lyrics_input"].path)["track_id"].nunique() == 60
    tt = pd.read_parquet(second["refs"]["track_topics"].path)
    assert set(tt["track_id"]) <= set(range(60))
