"""The ablation on HetRec with artist-tag content from the content stage (CF vs CF + tags):
a real log's content comes from stage outputs, never the sandbox world."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from moodrec.flows.ablation import ablation_flow
from moodrec.flows.content import content_flow
from moodrec.flows.datasets import hetrec_ingest_flow

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
HETREC = DATA / "hetrec2011_lastfm_2k"
LOG = DATA / "lastfm_1k" / "userid-timestamp-artid-artname-traid-traname.head5000.tsv"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HETREC.is_dir() or not LOG.is_file(), reason="shared data absent"),
]


def test_hetrec_ablation_cf_vs_cf_plus_tags(harness, config_env, tmp_path: Path) -> None:
    fast = {"epochs": 3, "batch_size": 1024}
    overrides = {
        "paths": {"data_dir": str(tmp_path / "data")},
        "ingest": {"log_path": str(LOG), "profile_path": None},
        "content": {"sources": [{"name": "tags", "kind": "hetrec_tags", "path": str(HETREC)}]},
        "recommend": {
            "deep": {
                "hybrid": fast,
                "ablation": {
                    "variants": {"none": [], "tags": ["genre"]},
                    "content_models": [],
                    "reference_models": ["ials"],
                    "spaces": {"ials": {"reg": [30.0]}},
                    "n_bootstrap": 50,
                    "min_item_users": 5,
                    "plot": False,
                },
            }
        },
    }
    hetrec_ingest_flow(str(HETREC), profile="lastfm1k", overrides=overrides)
    content = content_flow(profile="lastfm1k", overrides=overrides)
    cov = pd.read_parquet(content["refs"]["content_coverage"].path).iloc[0]
    assert cov["share_plays"] > 0.9  # HetRec's own tags reach nearly every play
    result = ablation_flow(profile="lastfm1k", overrides=overrides)
    assert not result["synthetic"]
    table = result["table"]
    assert set(table["variant"]) == {"ials", "cb2cf:none", "cb2cf:tags"}
    tags = table[(table["variant"] == "cb2cf:tags") & (table["metric"] == "ndcg")]
    assert tags["p_value"].notna().all() and tags["ci_low"].notna().all()
    features = pd.read_parquet(result["refs"]["item_features"].path)
    assert "available_genre" in features.columns
    assert 0.5 < features["available_genre"].mean() <= 1.0
    assert result["summary"]["content"]["sources"]["audio"] == "none"
