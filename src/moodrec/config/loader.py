"""Load ``Settings`` from a YAML profile plus the environment and a ``.env`` file.

Precedence (lowest → highest): schema defaults, the YAML profile, ``MOODREC_<SECTION>__<FIELD>``
variables from ``./.env`` (or the file ``MOODREC_ENV_FILE`` names), the same variables from the
real environment (e.g. ``MOODREC_SANDBOX__SEED=7``), then the command line's overrides.
Secrets are read only from the environment or ``.env`` (``MOODREC_SPOTIFY_CLIENT_SECRET``,
``MOODREC_GENIUS_TOKEN``, ...; :mod:`moodrec.config.environment` reads both through
pydantic-settings); a profile that contains a secret is rejected so that secrets never end
up in a repository.

No message shows the value of a field whose name looks like a secret (``client_secret``,
``*_token``, ``password``, ``api_key`` …), even when it was put in the wrong place, nor
the source line of a YAML syntax error (that line may hold one).
"""

from __future__ import annotations

import copy
import functools
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from moodrec.config.environment import (
    SECRET_VARIABLES,
    looks_secret,
    merge_nested,
    read_environment,
    yaml_problem,
)
from moodrec.config.run_folder import expand_run_folder
from moodrec.config.schema import Settings
from moodrec.errors import ConfigError

__all__ = [
    "MASK",
    "PACKAGED_PROFILES",
    "available_profiles",
    "config_dir",
    "format_validation_error",
    "load_settings",
    "looks_secret",
    "profile_path",
]

PROFILE_DIR_ENV = "MOODREC_CONFIG_DIR"
MASK = "**********"


#: the profiles shipped inside the package (``moodrec init DIR`` copies them out for editing)
PACKAGED_PROFILES = Path(__file__).resolve().parent.parent / "profiles"


def config_dir() -> Path:
    """The folder holding the YAML profiles: ``$MOODREC_CONFIG_DIR`` or ``./config``."""
    return Path(os.environ.get(PROFILE_DIR_ENV, "config"))


def available_profiles() -> list[str]:
    """Profile names: those in :func:`config_dir` and those shipped with the package."""
    return sorted({p.stem for d in (config_dir(), PACKAGED_PROFILES) for p in d.glob("*.yaml")})


def profile_path(profile: str | Path) -> Path:
    """Resolve a profile name (``demo``) or a path (``config/demo.yaml``) to a file: the
    config folder's ``<name>.yaml`` first, else the packaged profile of that name."""
    p = Path(profile)
    if p.suffix in {".yaml", ".yml"} or p.exists():
        return p
    local = config_dir() / f"{profile}.yaml"
    packaged = PACKAGED_PROFILES / f"{profile}.yaml"
    return packaged if not local.is_file() and packaged.is_file() else local


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """The field names allowed at ``loc``'s parent (for "unknown key" messages)."""
    current: Any = model
    for part in loc[:-1]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
        # unwrap Optional[X]
        args = [a for a in typing.get_args(current) if a is not type(None)]
        if args and len(args) == 1:
            current = args[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return None


def format_validation_error(exc: ValidationError, source: str) -> str:
    """Turn a pydantic error into lines naming the source, the field and what is allowed."""
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(x) for x in loc) or "<root>"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = _allowed_fields(Settings, loc)
            msg = "unknown key" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
        elif err["type"] == "literal_error":
            expected = (err.get("ctx") or {}).get("expected")
            msg = f"allowed values: {expected}" if expected else msg
        got = err.get("input")
        secret = loc[:1] == ("secrets",) or any(looks_secret(str(part)) for part in loc)
        if secret and isinstance(got, str) and got:
            msg = msg.replace(got, MASK)
        hide = isinstance(got, Mapping) or err["type"] == "missing"
        shown = "" if hide else f" (got {MASK if secret else repr(got)})"
        lines.append(f"  field '{field}': {msg}{shown}")
    return "\n".join(lines)


@functools.lru_cache(maxsize=16)
def _parsed_yaml(text: str) -> Any:
    return yaml.safe_load(text) or {}


def _parse_yaml(text: str) -> Any:
    """``text`` parsed as YAML, a fresh copy each call: a run loads its profile once per
    stage and task, and PyYAML's pure-Python parser costs far more than the copy."""
    return copy.deepcopy(_parsed_yaml(text))


def load_settings(
    profile: str | Path = "demo",
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    env_file: Path | None = None,
) -> Settings:
    """Load and validate the settings for ``profile``.

    Parameters
    ----------
    profile
        A profile name under ``config/`` (``demo``) or a path to a YAML file.
    environ
        Environment to read overrides and secrets from (default ``os.environ``).
    env_file
        The ``.env`` file read below ``environ`` (default: ``$MOODREC_ENV_FILE``, else
        ``./.env`` when it exists).
    overrides
        Nested values applied last (used by the CLI, e.g. ``{"sandbox": {"seed": 7}}``).

    Raises
    ------
    ConfigError
        The file is missing or not YAML, holds a secret, or a key/value is invalid (in the
        profile, the environment or ``.env``); the message names the file or variable, the
        field and the allowed keys or values, and never a secret's value.
    """
    path = profile_path(profile)
    if not path.is_file():
        raise ConfigError(
            f"config profile {str(profile)!r} not found at {path} "
            f"(available profiles: {', '.join(available_profiles()) or 'none'}; "
            f"moodrec init DIR copies the packaged ones into DIR/config for editing)"
        )
    try:
        data = _parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {yaml_problem(exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    if "secrets" in data:
        raise ConfigError(
            f"{path}: field 'secrets' is not allowed in a profile; set secrets in the environment "
            f"({', '.join(sorted(SECRET_VARIABLES.values()))}, or the same names in .env)"
        )
    data.setdefault("profile", path.stem)
    try:
        Settings.model_validate(data)  # first pass: errors name the YAML file alone
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
    env = read_environment(environ, env_file)
    merged = merge_nested(merge_nested(data, env.overrides), overrides or {})
    merged["secrets"] = env.secrets
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        source = f"{path} + {env.origin} + command-line overrides"
        raise ConfigError(format_validation_error(exc, source)) from None
    # data/<profile>/runs/{run_id} → this configuration's own folder (config.run_folder)
    return expand_run_folder(settings)
