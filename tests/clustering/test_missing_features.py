"""A configured audio feature the tracks lack is left out and reported, not an error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.clustering.config import ClusteringConfig
from moodrec.clustering.stage import run_clusters_stage
from moodrec.errors import InputDataError


def _tracks(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    centre = np.repeat([[0.2, 0.3], [0.8, 0.7]], n // 2, axis=0)
    x = centre + rng.normal(0, 0.05, (n, 2))
    return pd.DataFrame({"track_id": np.arange(n), "energy": x[:, 0], "valence": x[:, 1]})


def test_instrumentalness_named_but_absent_is_left_out(tmp_path: Path) -> None:
    cfg = ClusteringConfig(
        source="file",
        path=tmp_path / "unused.csv",
        audio_features=("energy", "valence", "instrumentalness"),
        methods=("kmeans",),
        k_max=3,
        bootstrap_rounds=0,
    )
    dirs = {"features": tmp_path, "reports": tmp_path}
    _, report = run_clusters_stage(_tracks(), cfg, dirs)
    assert report["audio"]["features"] == ["energy", "valence"]
    assert report["audio"]["missing_features"] == ["instrumentalness"]


def test_no_configured_feature_at_all_names_the_columns(tmp_path: Path) -> None:
    cfg = ClusteringConfig(
        source="file", path=tmp_path / "x.csv", audio_features=("tempo",), bootstrap_rounds=0
    )
    with pytest.raises(InputDataError, match=r"none of clustering\.audio_features"):
        run_clusters_stage(_tracks(), cfg, {"features": tmp_path, "reports": tmp_path})
