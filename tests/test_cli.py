"""The CLI validates before working and turns moodrec errors into clean messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from moodrec.cli import EXIT_INCOMPLETE, app
from moodrec.cli.common import exit_if_incomplete

runner = CliRunner()


def test_ingest_command_writes_tables_and_counts_rejects(tmp_path: Path) -> None:
    log = tmp_path / "log.tsv"
    log.write_text(
        'user_000001\t2009-05-04T23:08:57Z\t\tJohnny "Hammond" Smith\t\tSoul Talk\n'
        "user_000001\tnot-a-time\t\tA\t\tB\n"
        "only\tthree\tcolumns\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["ingest", "lastfm1k", str(log), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 lines: 1 events, 2 rejected" in result.output
    rejects = (out / "rejects.tsv").read_text(encoding="utf-8").splitlines()
    assert [r.split("\t")[0] for r in rejects[1:]] == ["2", "3"]


def test_missing_input_is_a_clean_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", "lastfm1k", str(tmp_path / "nope.tsv")])
    assert result.exit_code == 2
    assert "nope.tsv" in result.output
    assert "Traceback" not in result.output


def test_bad_sandbox_profile_names_allowed_values(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["sandbox", "generate", "--profile", "huge", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "'tiny', 'demo' or 'large'" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_sandbox_generate_tiny(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["sandbox", "generate", "--profile", "tiny", "--seed", "3", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "world.json").is_file()
    assert "tiny world (seed 3)" in result.output


def test_config_show_masks_secrets(config_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOODREC_GENIUS_TOKEN", "tok-very-secret")
    result = runner.invoke(app, ["config", "show", "--profile", "demo"])
    assert result.exit_code == 0, result.output
    assert "tok-very-secret" not in result.output
    assert '"genius_token": "**********"' in result.output


def test_run_is_refused_while_another_process_writes_the_data_folder(
    config_env: Path, tmp_path: Path, monkeypatch
) -> None:

    data = tmp_path / "data"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from moodrec.locking import acquire; "
            "acquire(sys.argv[1], command='moodrec run --seed 7'); print('held', flush=True); "
            "time.sleep(600)",
            str(data),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("MOODREC_PATHS__DATA_DIR", str(data))
        result = runner.invoke(app, ["run", "--profile", "tiny", "--seed", "8"])
        assert result.exit_code == 2, result.output
        assert f"in use by pid {holder.pid}" in result.output
        assert "moodrec run --seed 7" in result.output
        assert "Traceback" not in result.output
        assert [p.name for p in data.iterdir()] == [".moodrec.lock"]  # nothing else written
    finally:
        holder.kill()
        holder.wait()


def test_a_run_that_left_batches_not_done_exits_non_zero() -> None:

    enrich = {
        "complete": False,
        "not_done": [{"batch": "b1", "reason": "rate limited"}],
        "summary": {"tracks": {"enriched": 64, "planned": 128}},
    }
    exit_if_incomplete({"ingest": {"refs": {}}, "enrich": {**enrich, "complete": True}})
    with pytest.raises(typer.Exit) as err:
        exit_if_incomplete({"ingest": {"refs": {}}, "enrich": enrich})
    assert err.value.exit_code == EXIT_INCOMPLETE


def test_misplaced_secret_is_masked_in_cli_errors(config_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOODREC_ENRICH__SPOTIFY__CLIENT_SECRET", "s3cr3tXYZ")
    result = runner.invoke(app, ["config", "show", "--profile", "demo"])
    assert result.exit_code == 2
    assert "enrich.spotify.client_secret" in result.output
    assert "s3cr3tXYZ" not in result.output and "Traceback" not in result.output


def test_unparsable_env_value_is_a_clean_cli_error(config_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOODREC_ENRICH__BATCH_SIZE", "[unclosed")
    result = runner.invoke(app, ["config", "show", "--profile", "demo"])
    assert result.exit_code == 2
    assert "MOODREC_ENRICH__BATCH_SIZE" in result.output and "Traceback" not in result.output


def test_enrich_command_is_listed_with_its_refresh_option() -> None:
    result = runner.invoke(app, ["enrich", "--help"])
    assert result.exit_code == 0, result.output
    assert "--refresh" in result.output and "--profile" in result.output


def test_stage_commands_report_a_missing_profile_cleanly(config_env: Path) -> None:
    # the write lock needs the profile's data folder: an unknown profile is a clean error
    for command in ("enrich", "topics"):
        result = runner.invoke(app, [command, "--profile", "nope"])
        assert result.exit_code == 2, result.output
        assert "config profile 'nope' not found" in result.output


# -- recommend from a tampered model folder (issue 19, D7) ---------------------------------
def _tamper(folder: Path, how: str) -> None:
    import json

    import numpy as np

    npz, meta = folder / "arrays.npz", folder / "model.json"
    with np.load(npz, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    key = next(k for k in sorted(arrays) if k.startswith("state__") and arrays[k].dtype.kind == "f")
    if how == "truncated npz":
        npz.write_bytes(npz.read_bytes()[:100])
    elif how == "empty npz":
        npz.write_bytes(b"")
    elif how == "missing key":
        np.savez(npz, **{k: a for k, a in arrays.items() if k != key})
    elif how == "dtype":
        np.savez(npz, **(arrays | {key: arrays[key].astype(str)}))
    elif how == "nan":
        np.savez(npz, **(arrays | {key: np.full_like(arrays[key], np.nan)}))
    elif how == "malformed json":
        meta.write_text(meta.read_text()[:-5])
    elif how == "unknown model":
        meta.write_text(json.dumps(json.loads(meta.read_text()) | {"model": "nope"}))


@pytest.mark.parametrize(
    ("how", "file", "message"),
    [
        ("truncated npz", "arrays.npz", "cannot read the saved arrays"),
        ("empty npz", "arrays.npz", "empty file"),
        ("missing key", "arrays.npz", "missing array"),
        ("dtype", "arrays.npz", "non-numeric dtype"),
        ("nan", "arrays.npz", "non-finite"),
        ("malformed json", "model.json", "cannot read the saved model"),
        ("unknown model", "model.json", "unknown recommender 'nope'"),
    ],
)
def test_recommend_from_a_tampered_model_folder_is_a_clean_error(
    config_env: Path, tmp_path: Path, monkeypatch, how: str, file: str, message: str
) -> None:
    from tests.models.test_load_errors import write_served_model

    data = tmp_path / "data"
    folder = write_served_model(data)
    monkeypatch.setenv("MOODREC_PATHS__DATA_DIR", str(data))
    args = ["recommend", "--user", "0", "--profile", "demo", "--model", folder.name]
    assert runner.invoke(app, args).exit_code == 0  # the untampered folder serves
    _tamper(folder, how)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # not an uncaught exception
    assert "error:" in result.output and str(folder / file) in result.output
    assert message in result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output


def test_recommend_with_a_huge_k_lists_at_most_the_catalogue(
    config_env: Path, tmp_path: Path, monkeypatch
) -> None:
    from tests.contract import N_ITEMS
    from tests.models.test_load_errors import write_served_model

    data = tmp_path / "data"
    folder = write_served_model(data)
    monkeypatch.setenv("MOODREC_PATHS__DATA_DIR", str(data))
    args = ["recommend", "--user", "0", "--profile", "demo", "--model", folder.name]
    result = runner.invoke(app, [*args, "-k", "100000000"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()[1:]
    # every item with training plays once (a collaborative model has no score for the others,
    # issue 16: they are no candidates), never more than the catalogue
    ids = [line.split()[1] for line in lines]
    assert 0 < len(ids) <= N_ITEMS and len(set(ids)) == len(ids)
    result = runner.invoke(app, [*args, "-k", "0"])
    assert result.exit_code == 2 and "k must be an integer >= 1" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("moodrec ") and result.output.split()[1][0].isdigit()


def test_init_copies_the_packaged_profiles(tmp_path: Path, monkeypatch) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output
    config = tmp_path / "work" / "config"
    assert {p.name for p in config.iterdir()} >= {"tiny.yaml", "demo.yaml", ".env.example"}
    assert not (config / "tiny.yaml").is_symlink()
    # a second init does not overwrite edits
    again = runner.invoke(app, ["init", str(tmp_path / "work")])
    assert again.exit_code == 2 and "--force" in again.output
    # the copied profiles are what a run in that folder reads
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.delenv("MOODREC_CONFIG_DIR", raising=False)
    shown = runner.invoke(app, ["config", "show", "--profile", "tiny"])
    assert shown.exit_code == 0 and '"profile": "tiny"' in shown.output


def test_packaged_profiles_are_found_anywhere(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config/ here
    monkeypatch.delenv("MOODREC_CONFIG_DIR", raising=False)
    result = runner.invoke(app, ["config", "show", "--profile", "tiny"])
    assert result.exit_code == 0, result.output
    missing = runner.invoke(app, ["config", "show", "--profile", "nosuch"])
    assert missing.exit_code == 2
    assert "moodrec init" in missing.output
    assert all(name in missing.output for name in ("demo", "lastfm1k", "tiny"))


def test_serve_refuses_without_an_api(config_env: Path, monkeypatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: None}):
        result = runner.invoke(app, ["serve", "--profile", "tiny"])
    assert result.exit_code == 2
    assert "PREFECT_API_URL" in result.output and "Traceback" not in result.output
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        result = runner.invoke(app, ["serve", "--profile", "tiny"])
    assert result.exit_code == 2 and "does not answer" in result.output


def test_run_rejects_an_unknown_log_level(config_env: Path) -> None:
    result = runner.invoke(app, ["run", "--profile", "tiny", "--log-level", "LOUD"])
    assert result.exit_code == 2 and "DEBUG, INFO, WARNING, ERROR" in result.output


def test_run_refuses_another_configurations_folder_before_any_work(
    config_env: Path, tmp_path: Path, monkeypatch
) -> None:
    from moodrec.config.loader import load_settings
    from moodrec.runs import write_run_record

    folder = tmp_path / "flat"
    monkeypatch.setenv("MOODREC_PATHS__DATA_DIR", str(folder))
    write_run_record(folder, load_settings("tiny"), started="t0")
    result = runner.invoke(app, ["run", "--profile", "tiny", "--seed", "8"])
    assert result.exit_code == 2
    assert "seed7-" in result.output and "--replace" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["run.json"]  # nothing else written


def test_config_show_reads_dotenv_and_masks_its_secrets(
    config_env: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOODREC_GENIUS_TOKEN", raising=False)
    monkeypatch.delenv("MOODREC_SANDBOX__SEED", raising=False)
    (tmp_path / ".env").write_text(
        "MOODREC_GENIUS_TOKEN=tok-from-dotenv\nMOODREC_SANDBOX__SEED=77\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["config", "show", "--profile", "demo"])
    assert result.exit_code == 0, result.output
    assert "tok-from-dotenv" not in result.output
    assert '"genius_token": "**********"' in result.output
    assert '"seed": 77' in result.output
