"""genres_flow and clusters_flow on the tiny sandbox under a temporary Prefect API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.domain import CONTINUOUS_AUDIO_FEATURES
from moodrec.flows.genres import clusters_flow, genres_flow

pytestmark = pytest.mark.slow


def test_genres_and_clusters_flows_write_checkpoints(harness, config_env, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    overrides = {
        "paths": {"data_dir": str(data_dir)},
        "genres": {"song_map_method": "pca", "plotlyjs": "cdn"},
        "clustering": {"methods": ["kmeans", "gmm"], "k_min": 3, "k_max": 6, "bootstrap_rounds": 2},
    }
    result = genres_flow(profile="tiny", overrides=overrides)
    refs = result["refs"]
    assert result["synthetic"] is True
    nodes = pd.read_parquet(refs["genre_nodes"].path)
    assert len(nodes) == result["summary"]["graph"]["n_genres"] > 0
    # every genre is either placed or listed as unplaceable, none silently dropped
    assert set(nodes.loc[~nodes["placed"], "genre"]) == set(
        result["summary"]["graph"]["unplaceable"]
    )
    assert Path(refs["song_map"].path).read_text().lstrip().startswith("<html")
    manifest = json.loads((data_dir / "manifest.json").read_text())["datasets"]
    assert manifest["genre_embedding"]["fingerprint"] == refs["genre_embedding"].fingerprint

    # unchanged re-run is served from the cache: same files, same fingerprints
    again = genres_flow(profile="tiny", overrides=overrides)
    assert again["refs"] == refs

    clusters = clusters_flow(profile="tiny", overrides=overrides)
    labels = pd.read_parquet(clusters["refs"]["track_clusters"].path)
    tracks = pd.read_parquet(data_dir / "raw/sandbox/tiny-seed7/truth/tracks.parquet")
    assert len(labels) == len(tracks)
    assert labels["audio_cluster"].nunique() == clusters["summary"]["audio"]["n_clusters"]

    # with clusters on record the song map is redrawn with a "cluster" colouring
    redrawn = genres_flow(profile="tiny", overrides=overrides)
    assert redrawn["refs"]["song_map"].fingerprint != refs["song_map"].fingerprint
    assert '"cluster"' in Path(redrawn["refs"]["song_map"].path).read_text()


def test_unknown_genre_option_is_a_config_error(harness, config_env, tmp_path: Path) -> None:
    from moodrec.errors import ConfigError

    with pytest.raises(ConfigError, match="genres"):
        genres_flow.fn(profile="tiny", overrides={"genres": {"colour": "red"}})


def test_clusters_flow_reads_the_configured_file_not_the_sandbox(
    harness, config_env, tmp_path: Path
) -> None:
    """``clustering.source: file`` clusters exactly the tracks of ``clustering.path``."""
    rng = np.random.default_rng(3)
    n = 240
    features = {name: rng.random(n) for name in CONTINUOUS_AUDIO_FEATURES}
    # three well-separated groups in energy/valence
    group = np.repeat([0, 1, 2], n // 3)
    features["energy"] = group * 0.4 + rng.normal(0, 0.02, n)
    features["valence"] = (2 - group) * 0.4 + rng.normal(0, 0.02, n)
    tracks = pd.DataFrame({"track_id": [f"file-{i}" for i in range(n)], **features})
    path = tmp_path / "my_tracks.parquet"
    tracks.to_parquet(path)
    overrides = {
        "paths": {"data_dir": str(tmp_path / "data")},
        "clustering": {
            "source": "file",
            "path": str(path),
            "methods": ["kmeans"],
            "k_min": 2,
            "k_max": 4,
            "bootstrap_rounds": 0,
        },
    }
    result = clusters_flow(profile="tiny", overrides=overrides)
    labels = pd.read_parquet(result["refs"]["track_clusters"].path)
    assert result["synthetic"] is False
    assert sorted(labels["track_id"]) == sorted(tracks["track_id"])
    assert not (tmp_path / "data" / "raw" / "sandbox").exists()  # no sandbox world made


def test_real_log_with_sandbox_inputs_is_refused(harness, config_env, tmp_path: Path) -> None:
    from moodrec.errors import ConfigError

    real = {"ingest": {"source": "lastfm1k", "log_path": str(tmp_path / "log.tsv")}}
    with pytest.raises(ConfigError, match=r"clustering\.source"):
        clusters_flow.fn(profile="tiny", overrides=real)
    with pytest.raises(ConfigError, match=r"genres\.source"):
        genres_flow.fn(profile="tiny", overrides=real)
