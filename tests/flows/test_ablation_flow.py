"""ablation_flow on the tiny sandbox under a temporary Prefect API."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from moodrec.errors import CatalogueError
from moodrec.flows.ablation import ablation_flow
from moodrec.flows.ingest import ingest_flow

pytestmark = pytest.mark.slow


def _overrides(data_dir: Path) -> dict:
    fast = {"epochs": 5, "batch_size": 128}
    return {
        "paths": {"data_dir": str(data_dir)},
        "recommend": {
            "deep": {
                "hybrid": fast,
                "bpr": fast,
                "ablation": {
                    "variants": {"none": [], "all": ["audio", "genre", "cluster", "topics"]},
                    "content_models": [],
                    "reference_models": ["ials"],
                    "spaces": {"ials": {"reg": [1.0]}},
                    "n_bootstrap": 50,
                },
            }
        },
    }


def test_ablation_flow_writes_table_plot_and_caches(harness, config_env, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    overrides = _overrides(data_dir)
    with pytest.raises(CatalogueError, match="run ingest_flow"):
        ablation_flow(profile="tiny", overrides=overrides)
    ingest_flow(profile="tiny", overrides={"paths": {"data_dir": str(data_dir)}})
    result = ablation_flow(profile="tiny", overrides=overrides)
    refs = result["refs"]
    table = pd.read_parquet(refs["ablation_table"].path)
    assert set(table["variant"]) == {"ials", "cb2cf:none", "cb2cf:all"}
    assert set(table["slice"]) <= {"warm", "cold", "cold_only", "all"}
    assert {"warm", "cold"} <= set(table["slice"])
    assert table[table.variant == "ials"]["p_value"].isna().all()
    assert table[table.variant == "cb2cf:all"]["p_value"].notna().all()
    md = Path(refs["ablation_md"].path).read_text()
    assert "## cold slice" in md and "link rate 1.000" in md
    assert "## RQ1" in md and result["summary"]["rq1"] in md
    assert Path(refs["ablation_plot"].path).read_bytes()[:4] == b"\x89PNG"
    features = pd.read_parquet(refs["item_features"].path)
    plays = pd.read_parquet(data_dir / "interim" / "plays.parquet")
    assert len(features) == plays["track_id"].nunique()
    manifest = json.loads((data_dir / "manifest.json").read_text())["datasets"]
    assert manifest["ablation_table"]["fingerprint"] == refs["ablation_table"].fingerprint
    assert result["summary"]["content"]["link_rate"] == 1.0

    # unchanged re-run: served from the cache, same files
    again = ablation_flow(profile="tiny", overrides=overrides)
    assert again["refs"] == refs


def test_variants_in_worker_processes_give_the_sequential_table(
    harness, config_env, tmp_path: Path
) -> None:
    """Variants fitted side by side in worker processes (a torch content model among them)
    give the table of the same variants fitted one after another in the flow's process."""
    tables = {}
    for workers in (1, 2):
        data_dir = tmp_path / f"workers{workers}"
        overrides = _overrides(data_dir)
        ablation = overrides["recommend"]["deep"]["ablation"]
        ablation["content_models"] = ["lightfm"]
        ablation["reference_models"] = ["ials", "popularity"]
        overrides["recommend"]["deep"]["lightfm"] = {"epochs": 3, "batch_size": 128}
        overrides["orchestration"] = {"process_workers": workers}
        ingest_flow(profile="tiny", overrides={"paths": {"data_dir": str(data_dir)}})
        result = ablation_flow(profile="tiny", overrides=overrides)
        tables[workers] = (
            pd.read_parquet(result["refs"]["ablation_table"].path)
            .drop(columns="fit_seconds")
            .sort_values(["variant", "slice", "metric"], ignore_index=True)
        )
    assert set(tables[2]["variant"]) == {"ials", "popularity", "cb2cf:none", "cb2cf:all", "lightfm"}
    pd.testing.assert_frame_equal(tables[1], tables[2])
