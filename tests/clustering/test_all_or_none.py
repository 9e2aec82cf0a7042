"""Issue 19: the clusters stage writes all four outputs or none, and the manifest follows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.catalogue import Catalogue
from moodrec.clustering.config import ClusteringConfig
from moodrec.clustering.stage import run_clusters_stage
from moodrec.storage import STAGING_DIR
from tests.staging import fail_on_write, snapshot


def _tracks(seed: int, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centre = np.repeat([[0.2, 0.3], [0.8, 0.7]], n // 2, axis=0)
    x = centre + rng.normal(0, 0.05, (n, 2))
    return pd.DataFrame({"track_id": np.arange(n), "energy": x[:, 0], "valence": x[:, 1]})


def _run(data: Path, seed: int) -> dict[str, Path]:
    cfg = ClusteringConfig(
        source="file",
        path=data / "unused.csv",
        audio_features=("energy", "valence"),
        methods=("kmeans",),
        k_max=3,
        bootstrap_rounds=0,
    )
    cat = Catalogue(data)
    dirs = {"features": cat.layer_dir("features"), "reports": cat.layer_dir("reports")}
    outputs, _ = run_clusters_stage(_tracks(seed), cfg, dirs)
    cat.register_many(outputs)  # what the task does once the stage returned
    return outputs


@pytest.mark.parametrize(("method", "n"), [("write_parquet", 2), ("write_parquet", 3)])
def test_a_failure_after_the_first_output_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, n: int
) -> None:
    first = _run(tmp_path, seed=0)
    assert len(first) == 4
    before = snapshot(tmp_path)
    assert "manifest.json" in before
    fail_on_write(monkeypatch, method, n)
    with pytest.raises(RuntimeError, match="injected failure"):
        _run(tmp_path, seed=1)
    assert snapshot(tmp_path) == before  # outputs, manifest, no staging folder


def test_the_report_failing_last_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(tmp_path, seed=0)
    before = snapshot(tmp_path)
    fail_on_write(monkeypatch, "write_json", 1)
    with pytest.raises(RuntimeError, match="injected failure"):
        _run(tmp_path, seed=1)
    assert snapshot(tmp_path) == before


def test_a_successful_run_replaces_every_output_and_leaves_no_staging(tmp_path: Path) -> None:
    _run(tmp_path, seed=0)
    before = snapshot(tmp_path)
    outputs = _run(tmp_path, seed=1)
    after = snapshot(tmp_path)
    assert not any(STAGING_DIR in name for name in after)
    changed = {name for name in after if after[name] != before.get(name)}
    assert {"reports/cluster_profiles.parquet", "manifest.json"} <= changed
    assert all(p.is_file() for p in outputs.values())
