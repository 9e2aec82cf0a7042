"""Two pipeline runs with different seeds leave two complete, separate results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodrec.errors import RunFolderError
from moodrec.flows.pipeline import pipeline_flow
from moodrec.storage import fingerprint_file
from tests.flows.test_kill_pipeline import FAST

pytestmark = pytest.mark.slow

#: the stages kept are enough to show a whole run's outputs (log → profile → report)
SKIP = ["enrich", "topics", "clusters", "genres", "train", "evaluate", "ablation", "session"]


def _overrides(data_dir: str, seed: int) -> dict:
    return {
        "paths": {"data_dir": data_dir},
        "sandbox": {"seed": seed},
        "orchestration": {"skip": SKIP},
        **FAST,
    }


def _files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): fingerprint_file(p)
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".moodrec.lock"
    }


def test_two_seeds_two_run_folders(harness, config_env, tmp_path: Path) -> None:
    template = str(tmp_path / "runs" / "{run_id}")
    first = pipeline_flow(profile="tiny", overrides=_overrides(template, 7))
    folder7 = Path(first["ingest"]["data_dir"])
    before = _files(folder7)
    second = pipeline_flow(profile="tiny", overrides=_overrides(template, 8))
    folder8 = Path(second["ingest"]["data_dir"])

    assert folder7.parent == folder8.parent == tmp_path / "runs"
    assert folder7.name.startswith("seed7-") and folder8.name.startswith("seed8-")
    # the first run's files are untouched by the second
    assert _files(folder7) == before
    for folder, seed in ((folder7, 7), (folder8, 8)):
        record = json.loads((folder / "run.json").read_text())
        assert record["seed"] == seed and record["finished"]
        prov = json.loads((folder / "manifest.json").read_text())["provenance"]
        assert prov["run_id"] == folder.name and prov["seed"] == seed
        assert any(i["name"].startswith("sandbox") or "raw" in i["path"] for i in prov["inputs"])
        page = (folder / "reports" / "report.html").read_text(encoding="utf-8")
        assert folder.name in page  # the report names the run that made it
    events7 = first["ingest"]["refs"]["events"]
    events8 = second["ingest"]["refs"]["events"]
    assert events7.fingerprint != events8.fingerprint
    assert (tmp_path / "runs" / "latest").resolve() == folder8.resolve()


def test_flat_folder_refuses_another_seed_unless_replaced(
    harness, config_env, tmp_path: Path
) -> None:
    folder = str(tmp_path / "flat")
    pipeline_flow(profile="tiny", overrides=_overrides(folder, 7))
    with pytest.raises(RunFolderError, match="--replace"):
        pipeline_flow(profile="tiny", overrides=_overrides(folder, 8))
    result = pipeline_flow(profile="tiny", overrides=_overrides(folder, 8), replace=True)
    record = json.loads((Path(result["ingest"]["data_dir"]) / "run.json").read_text())
    assert record["seed"] == 8
