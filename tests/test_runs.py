"""Run folders: one per configuration, a record of what made them, a ``latest`` pointer,
and a refusal to mix another configuration's outputs into a folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodrec.config.loader import load_settings
from moodrec.config.run_folder import config_fingerprint, expand_run_folder, run_id
from moodrec.errors import RunFolderError
from moodrec.runs import (
    check_data_folder,
    input_files,
    point_latest,
    provenance,
    read_run_record,
    write_run_record,
)
from moodrec.storage import Manifest, write_text_atomic


def _settings(tmp_path: Path, template: str = "runs/{run_id}", **overrides):
    return load_settings(
        "tiny", overrides={"paths": {"data_dir": str(tmp_path / template)}, **overrides}
    )


def test_run_id_names_seed_and_config(config_env, tmp_path: Path) -> None:
    a = _settings(tmp_path)
    b = _settings(tmp_path, sandbox={"seed": 8})
    c = _settings(tmp_path, topics={"passes": 3})
    assert run_id(a).startswith("seed7-") and run_id(b).startswith("seed8-")
    assert len({run_id(a), run_id(b), run_id(c)}) == 3
    # the placeholder became the run's own folder; the same config gives the same folder
    assert Path(a.paths.data_dir) == tmp_path / "runs" / run_id(a)
    assert _settings(tmp_path).paths.data_dir == a.paths.data_dir


def test_scheduling_and_secrets_do_not_change_the_run(config_env, tmp_path: Path) -> None:
    base = _settings(tmp_path)
    other = _settings(tmp_path, orchestration={"skip": ["genres"], "native_threads": 2})
    assert config_fingerprint(base) == config_fingerprint(other)
    with_secret = load_settings(
        "tiny",
        environ={"MOODREC_GENIUS_TOKEN": "s3cret"},
        overrides={"paths": {"data_dir": str(tmp_path / "runs/{run_id}")}},
    )
    assert run_id(with_secret) == run_id(base)


def test_folder_without_placeholder_is_used_as_given(config_env, tmp_path: Path) -> None:
    s = _settings(tmp_path, template="flat")
    assert Path(s.paths.data_dir) == tmp_path / "flat"
    assert expand_run_folder(s) is s
    assert point_latest(s) is None


def test_refuses_another_configurations_folder(config_env, tmp_path: Path) -> None:
    first = _settings(tmp_path, template="flat")
    second = _settings(tmp_path, template="flat", sandbox={"seed": 8})
    folder = tmp_path / "flat"
    check_data_folder(folder, first)  # new folder: accepted
    write_run_record(folder, first, started="t0")
    check_data_folder(folder, first)  # same configuration: accepted
    with pytest.raises(RunFolderError, match=r"seed7-.*--replace"):
        check_data_folder(folder, second)
    check_data_folder(folder, second, replace=True)
    record = read_run_record(folder)
    assert record["seed"] == 7 and record["config_fingerprint"] == config_fingerprint(first)


def test_latest_points_at_the_last_run(config_env, tmp_path: Path) -> None:
    a, b = _settings(tmp_path), _settings(tmp_path, sandbox={"seed": 8})
    for s in (a, b):
        Path(s.paths.data_dir).mkdir(parents=True)
    point_latest(a)
    link = point_latest(b)
    assert link == tmp_path / "runs" / "latest"
    assert link.resolve() == Path(b.paths.data_dir).resolve()
    assert not link.readlink().is_absolute()  # the runs folder can move


def test_provenance_masks_secrets_and_lists_inputs(config_env, tmp_path: Path) -> None:
    s = load_settings(
        "tiny",
        environ={"MOODREC_GENIUS_TOKEN": "s3cret"},
        overrides={"paths": {"data_dir": str(tmp_path / "d")}},
    )
    folder = tmp_path / "d"
    log = write_text_atomic(folder / "raw" / "log.tsv", "a\tb\n")
    table = write_text_atomic(folder / "interim" / "t.tsv", "x\n")
    outside = write_text_atomic(tmp_path / "elsewhere.tsv", "y\n")
    from moodrec.catalogue import Catalogue

    Catalogue(folder).register_many({"log": log, "table": table, "outside": outside})
    prov = provenance(s, folder, started="2026-01-01T00:00:00+00:00", finished="later")
    assert "s3cret" not in json.dumps(prov)
    assert prov["config"]["secrets"]["genius_token"] == "set"
    assert [i["name"] for i in prov["inputs"]] == ["log", "outside"]
    assert all(len(i["fingerprint"]) == 32 for i in prov["inputs"])
    assert prov["seed"] == 7 and prov["moodrec_version"]
    # the manifest keeps provenance and datasets side by side
    manifest = Manifest(folder)
    manifest.set_provenance(prov)
    Catalogue(folder).register("log", log)
    assert manifest.provenance()["run_id"] == prov["run_id"]
    assert set(manifest.load()) == {"log", "table", "outside"}
    assert input_files(folder) == prov["inputs"]
