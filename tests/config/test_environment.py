"""The environment layer: ``MOODREC_*`` variables and ``.env`` read through pydantic-settings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from moodrec.config.environment import read_environment
from moodrec.config.loader import load_settings
from moodrec.errors import ConfigError


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A profile in a fresh working directory (where ``.env`` is looked up)."""
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "p.yaml"
    p.write_text("sandbox:\n  profile: tiny\n  seed: 1\n", encoding="utf-8")
    return p


def write_env(folder: Path, text: str, name: str = ".env") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_dotenv_in_the_working_directory_sets_secrets_and_overrides(
    profile: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_env(
        profile.parent,
        "# a comment\n"
        "MOODREC_GENIUS_TOKEN=tok-from-dotenv\n"
        'export MOODREC_SPOTIFY_CLIENT_SECRET="s3cr3t with spaces"\n'
        "MOODREC_SANDBOX__SEED=5\n"
        "MOODREC_ORCHESTRATION__SKIP=[genres, ablation]\n"
        "MOODREC_LASTFM_API_KEY=\n",
    )
    with caplog.at_level(logging.DEBUG):
        s = load_settings(profile, environ={})
    assert s.sandbox.seed == 5
    assert list(s.orchestration.skip) == ["genres", "ablation"]  # values read as YAML
    assert isinstance(s.secrets.genius_token, SecretStr)
    assert s.secrets.genius_token.get_secret_value() == "tok-from-dotenv"
    assert s.secrets.spotify_client_secret is not None
    assert s.secrets.spotify_client_secret.get_secret_value() == "s3cr3t with spaces"
    assert s.secrets.lastfm_api_key is None  # empty means unset
    shown = s.model_dump_json() + repr(s) + str(s) + caplog.text
    assert "tok-from-dotenv" not in shown and "s3cr3t with spaces" not in shown


def test_the_real_environment_beats_dotenv(profile: Path) -> None:
    write_env(profile.parent, "MOODREC_SANDBOX__SEED=5\nMOODREC_GENIUS_TOKEN=from-file\n")
    env = {"MOODREC_SANDBOX__SEED": "9", "MOODREC_GENIUS_TOKEN": "from-env"}
    s = load_settings(profile, environ=env)
    assert s.sandbox.seed == 9
    assert s.secrets.genius_token is not None
    assert s.secrets.genius_token.get_secret_value() == "from-env"
    # an empty variable in the environment still wins over the file
    unset = load_settings(profile, environ={"MOODREC_GENIUS_TOKEN": ""})
    assert unset.secrets.genius_token is None and unset.sandbox.seed == 5


def test_cli_overrides_beat_the_environment_and_dotenv(profile: Path) -> None:
    write_env(profile.parent, "MOODREC_SANDBOX__SEED=5\n")
    s = load_settings(
        profile, environ={"MOODREC_SANDBOX__SEED": "9"}, overrides={"sandbox": {"seed": 11}}
    )
    assert s.sandbox.seed == 11


def test_env_file_variable_points_elsewhere(profile: Path, tmp_path: Path) -> None:
    elsewhere = write_env(tmp_path, "MOODREC_SANDBOX__SEED=13\n", name="other.env")
    write_env(profile.parent, "MOODREC_SANDBOX__SEED=5\n")
    assert load_settings(profile, environ={"MOODREC_ENV_FILE": str(elsewhere)}).sandbox.seed == 13
    with pytest.raises(ConfigError, match=r"MOODREC_ENV_FILE=.*missing\.env: no such file"):
        load_settings(profile, environ={"MOODREC_ENV_FILE": str(tmp_path / "missing.env")})


def test_malformed_dotenv_value_names_the_variable_and_the_file(profile: Path) -> None:
    env_file = write_env(profile.parent, "MOODREC_ENRICH__BATCH_SIZE=[unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_settings(profile, environ={})
    msg = str(err.value)
    assert "MOODREC_ENRICH__BATCH_SIZE" in msg and ".env" in msg and "not valid YAML" in msg
    assert str(env_file.name) in msg
    assert "'[unclosed'" in msg  # not a secret: the value is shown


@pytest.mark.parametrize(
    "line",
    [
        "MOODREC_ENRICH__SPOTIFY__CLIENT_SECRET=[s3cr3tXYZ",  # not YAML
        "MOODREC_ENRICH__SPOTIFY__CLIENT_SECRET=s3cr3tXYZ",  # misplaced (no such field)
        "MOODREC_INGEST__DATABASE_PASSWORD=s3cr3tXYZ",
    ],
)
def test_malformed_dotenv_secret_is_never_echoed(profile: Path, line: str) -> None:
    write_env(profile.parent, line + "\n")
    with pytest.raises(ConfigError) as err:
        load_settings(profile, environ={})
    msg = str(err.value)
    assert "s3cr3tXYZ" not in msg
    assert ".env" in msg
    assert "client_secret" in msg.lower() or "database_password" in msg.lower()


def test_invalid_dotenv_value_names_the_field_and_the_file(profile: Path) -> None:
    write_env(profile.parent, "MOODREC_SANDBOX__SEED=-4\n")
    with pytest.raises(ConfigError, match=r"\.env file .*\n.*sandbox\.seed"):
        load_settings(profile, environ={})


@pytest.mark.parametrize("where", ["environment", "dotenv"])
def test_a_misspelt_section_is_an_error_not_ignored(profile: Path, where: str) -> None:
    line = "MOODREC_SANBOX__SEED=7"
    if where == "dotenv":
        write_env(profile.parent, line + "\n")
        environ: dict[str, str] = {}
    else:
        environ = dict([line.split("=")])
    with pytest.raises(
        ConfigError, match=r"MOODREC_SANBOX__SEED.*unknown section 'sanbox'.*sandbox"
    ):
        load_settings(profile, environ=environ)


def test_secrets_as_a_section_point_to_the_secret_variables(profile: Path) -> None:
    with pytest.raises(ConfigError, match="MOODREC_GENIUS_TOKEN") as err:
        load_settings(profile, environ={"MOODREC_SECRETS__GENIUS_TOKEN": "tok-123"})
    assert "tok-123" not in str(err.value)


def test_read_environment_without_dotenv_ignores_other_variables(profile: Path) -> None:
    values = read_environment(
        {"MOODREC_CONFIG_DIR": "x", "PATH": "/bin", "MOODREC_PATHS__DATA_DIR": "out"}
    )
    assert values.overrides == {"paths": {"data_dir": "out"}}
    assert values.secrets.genius_token is None
    assert ".env" not in values.origin
