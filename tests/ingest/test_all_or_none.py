"""Issue 19: an ingest is one commit, HetRec's own tables and the summary included."""

from __future__ import annotations

from pathlib import Path

import pytest

import moodrec.ingest.artist_level as artist_level
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.listens import ingest_sources
from moodrec.storage import STAGING_DIR, stage_outputs
from tests.ingest.test_hetrec import write_tiny
from tests.staging import snapshot


def test_artist_level_failure_keeps_hetrec_tables_and_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interim = tmp_path / "interim"
    first = write_tiny(tmp_path / "first")
    res = ingest_sources(IngestConfig(source="hetrec", log_path=first), interim)
    assert (interim / "hetrec" / "plays.parquet").is_file() and res.item_level == "artist"
    before = snapshot(interim)

    def boom(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("crash after the tables were staged")

    # HetRec's tables and the catalogue's tables are staged by then; rejects come last
    monkeypatch.setattr(artist_level, "write_rejects", boom)
    second = write_tiny(
        tmp_path / "second", **{"user_artists.dat": ["2\t51\t7", "2\t52\t11", "7\t52\t5"]}
    )
    with pytest.raises(RuntimeError, match="crash after the tables"):
        ingest_sources(IngestConfig(source="hetrec", log_path=second), interim)
    assert snapshot(interim) == before


def test_a_task_wrapping_the_ingest_commits_its_summary_with_the_tables(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    folder = write_tiny(tmp_path / "in")
    with (
        pytest.raises(RuntimeError, match="summary failed"),
        stage_outputs(data, label="ingest"),
    ):
        ingest_sources(IngestConfig(source="hetrec", log_path=folder), data / "interim")
        # the ingest's own staging joined this one: nothing is in place yet
        assert not (data / "interim" / "plays.parquet").exists()
        raise RuntimeError("summary failed")
    assert snapshot(data) == {}
    with stage_outputs(data, label="ingest") as staging:
        res = ingest_sources(IngestConfig(source="hetrec", log_path=folder), data / "interim")
        staging.write_json(data / "reports" / "ingest_summary.json", res.summary)
    files = snapshot(data)
    assert "reports/ingest_summary.json" in files and "interim/hetrec/plays.parquet" in files
    assert not any(STAGING_DIR in name for name in files)
