from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from moodrec.config.loader import load_settings
from moodrec.config.schema import is_synthetic_source
from moodrec.errors import ConfigError
from moodrec.sandbox.config import SandboxConfig


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_repo_profiles_all_validate(config_env: Path) -> None:
    names = sorted(p.stem for p in config_env.glob("*.yaml"))
    assert {"demo", "tiny", "lastfm1k"} <= set(names)
    for name in names:
        settings = load_settings(name, environ={})
        assert settings.profile == name


def test_demo_profile_values(config_env: Path) -> None:
    s = load_settings("demo", environ={})
    assert s.sandbox == SandboxConfig(profile="demo", seed=42)
    assert s.ingest.source == "sandbox"
    assert s.ingest.session_gap_minutes == 30


def test_unknown_key_names_file_field_and_allowed_keys(tmp_path: Path) -> None:
    p = write(tmp_path, "sandbox:\n  profile: tiny\n  sede: 3\n")
    with pytest.raises(ConfigError) as err:
        load_settings(p, environ={})
    msg = str(err.value)
    assert str(p) in msg
    assert "sandbox.sede" in msg
    assert "allowed keys: profile, seed" in msg


def test_bad_literal_names_allowed_values(tmp_path: Path) -> None:
    p = write(tmp_path, "sandbox:\n  profile: huge\n")
    with pytest.raises(ConfigError) as err:
        load_settings(p, environ={})
    msg = str(err.value)
    assert "sandbox.profile" in msg
    assert "'tiny'" in msg and "'demo'" in msg and "'large'" in msg
    assert "huge" in msg


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    p = write(tmp_path, "ingset:\n  source: sandbox\n")
    with pytest.raises(ConfigError, match=r"field 'ingset': unknown key; allowed keys: .*ingest"):
        load_settings(p, environ={})


def test_secrets_in_a_profile_are_refused(tmp_path: Path) -> None:
    p = write(tmp_path, "secrets:\n  genius_token: abc\n")
    with pytest.raises(ConfigError, match="environment"):
        load_settings(p, environ={})


def test_secrets_come_from_environment_and_stay_masked(tmp_path: Path) -> None:
    p = write(tmp_path, "sandbox:\n  profile: tiny\n")
    env = {"MOODREC_GENIUS_TOKEN": "tok-123", "MOODREC_SPOTIFY_CLIENT_SECRET": "s3cr3t"}
    s = load_settings(p, environ=env)
    assert isinstance(s.secrets.genius_token, SecretStr)
    assert s.secrets.genius_token.get_secret_value() == "tok-123"
    dumped = s.model_dump_json() + repr(s) + str(s)
    assert "tok-123" not in dumped and "s3cr3t" not in dumped


def test_env_overrides_and_bad_env_value(tmp_path: Path) -> None:
    p = write(tmp_path, "sandbox:\n  profile: tiny\n  seed: 1\n")
    assert load_settings(p, environ={"MOODREC_SANDBOX__SEED": "9"}).sandbox.seed == 9
    with pytest.raises(ConfigError, match=r"sandbox\.seed"):
        load_settings(p, environ={"MOODREC_SANDBOX__SEED": "-4"})


def test_missing_profile_lists_available(config_env: Path) -> None:
    with pytest.raises(ConfigError, match=r"available profiles: .*demo"):
        load_settings("nope", environ={})


def test_invalid_yaml(tmp_path: Path) -> None:
    p = write(tmp_path, "sandbox: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(p, environ={})


def test_real_log_never_reads_sandbox_truth(config_env: Path) -> None:
    # every repo profile is consistent: sandbox runs trivially, lastfm1k by its skips
    for name in ("demo", "tiny", "lastfm1k"):
        load_settings(name, environ={}).check_real_inputs()
    real = load_settings("lastfm1k", environ={})
    assert real.sandbox_inputs() == []
    # the profile reads the enrich stage's tables, which satisfy the check for every stage
    assert real.sandbox_inputs(["topics", "clusters", "genres", "session", "train"]) == []
    sandboxed = {
        "lyrics": {"source": "sandbox"},
        "clustering": {"source": "sandbox"},
        "genres": {"source": "sandbox"},
    }
    back = load_settings("lastfm1k", environ={}, overrides=sandboxed)
    # stage by stage: the field that would read the sandbox truth is named
    assert back.sandbox_inputs(["topics", "clusters", "genres", "session", "train"]) == [
        "lyrics.source",
        "clustering.source",
        "genres.source",
    ]
    unskipped = load_settings(
        "lastfm1k",
        environ={},
        overrides={
            **sandboxed,
            "orchestration": {"skip": []},
            "session": {"features_source": "sandbox"},
        },
    )
    with pytest.raises(ConfigError) as err:
        unskipped.check_real_inputs()
    for field in ("lyrics.source", "clustering.source", "genres.source", "session.features_source"):
        assert field in str(err.value)
    assert "orchestration.skip" in str(err.value)
    # pointing a stage at a real file satisfies the check for that stage
    with_file = load_settings(
        "lastfm1k",
        environ={},
        overrides={"clustering": {"source": "file", "path": "tracks.parquet"}},
    )
    assert with_file.sandbox_inputs(["clusters"]) == []


def test_synthetic_sources(config_env: Path) -> None:
    sandbox_run = load_settings("demo", environ={})
    real_run = load_settings("lastfm1k", environ={})
    # the listening log itself (the default source)
    assert is_synthetic_source(sandbox_run) and not is_synthetic_source(real_run)
    # the world's truth is synthetic in any run; enrich answers only in a sandbox run
    assert is_synthetic_source(real_run, "sandbox")
    assert is_synthetic_source(sandbox_run, "enrich") and not is_synthetic_source(
        real_run, "enrich"
    )
    assert not is_synthetic_source(sandbox_run, "file")


def test_unparsable_env_value_names_the_variable(tmp_path: Path) -> None:
    p = write(tmp_path, "sandbox:\n  profile: tiny\n")
    with pytest.raises(ConfigError) as err:
        load_settings(p, environ={"MOODREC_ENRICH__BATCH_SIZE": "[unclosed"})
    msg = str(err.value)
    assert "MOODREC_ENRICH__BATCH_SIZE" in msg and "not valid YAML" in msg
    assert "'[unclosed'" in msg  # a value that is not a secret is shown


def test_invalid_profile_yaml_says_where_not_what(tmp_path: Path) -> None:
    p = write(tmp_path, "enrich:\n  spotify:\n    client_secret: [s3cr3tXYZ\n")
    with pytest.raises(ConfigError) as err:
        load_settings(p, environ={})
    assert "line " in str(err.value) and "s3cr3tXYZ" not in str(err.value)


@pytest.mark.parametrize(
    ("profile", "environ"),
    [
        ("enrich:\n  spotify:\n    client_secret: s3cr3tXYZ\n", {}),
        ("enrich:\n  genius:\n    token: s3cr3tXYZ\n", {}),
        ("sandbox:\n  api_key: s3cr3tXYZ\n", {}),
        ("sandbox:\n  profile: tiny\n", {"MOODREC_ENRICH__SPOTIFY__CLIENT_SECRET": "s3cr3tXYZ"}),
        ("sandbox:\n  profile: tiny\n", {"MOODREC_INGEST__DATABASE_PASSWORD": "s3cr3tXYZ"}),
        ("sandbox:\n  profile: tiny\n", {"MOODREC_ENRICH__SPOTIFY__CLIENT_SECRET": "[s3cr3tXYZ"}),
    ],
)
def test_misplaced_secret_is_never_echoed(tmp_path: Path, profile: str, environ: dict) -> None:
    p = write(tmp_path, profile)
    with pytest.raises(ConfigError) as err:
        load_settings(p, environ=environ)
    msg = str(err.value)
    assert "s3cr3tXYZ" not in msg
    # and the message still says which field is wrong
    assert any(name in msg.lower() for name in ("secret", "token", "api_key", "password"))


def test_misplaced_secret_value_of_a_plain_field_is_shown(tmp_path: Path) -> None:
    p = write(tmp_path, "enrich:\n  spotify:\n    token_url: 7\n")
    with pytest.raises(ConfigError, match=r"enrich\.spotify\.token_url.*got 7"):
        load_settings(p, environ={})
