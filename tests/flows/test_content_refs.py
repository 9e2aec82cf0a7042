"""A real log's content-aware models and ablation say what to run when no content exists."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from moodrec.catalogue import Catalogue
from moodrec.errors import ConfigError
from moodrec.flows.common import content_stage_refs


def test_no_content_on_record_names_what_to_configure(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hybrid need item content.*content\.sources"):
        content_stage_refs(str(tmp_path), ["hybrid"])


def test_recorded_content_outputs_are_found(tmp_path: Path) -> None:
    report = tmp_path / "features" / "content" / "content_report.json"
    report.parent.mkdir(parents=True)
    report.write_text("{}")
    topics = tmp_path / "features" / "track_topics.parquet"
    pd.DataFrame({"track_id": [1], "topic_0": [1.0]}).to_parquet(topics)
    Catalogue(tmp_path).register_many({"content_report": report, "track_topics": topics})
    assert set(content_stage_refs(str(tmp_path), ["ablation"])) == {
        "content_report",
        "track_topics",
    }
