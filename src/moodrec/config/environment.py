"""What the environment and a ``.env`` file say about the settings, read by pydantic-settings.

Two kinds of variable, both with the prefix ``MOODREC_`` and case-insensitive:

- a section override ``MOODREC_<SECTION>__<FIELD>[__<SUBFIELD>…]`` (``MOODREC_SANDBOX__SEED=7``);
  its value is read as YAML, like the profile (``MOODREC_ORCHESTRATION__SKIP='[genres]'``);
- a secret ``MOODREC_<NAME>`` for each field of :class:`~moodrec.config.base.Secrets`
  (``MOODREC_GENIUS_TOKEN``), never accepted from a profile.

The ``.env`` file is ``./.env`` in the working directory, or the file named by
``MOODREC_ENV_FILE``; a variable set in the real environment beats the same one in the file.
:class:`EnvironmentLayer` declares the variables (one ``dict`` field per section, one
``SecretStr`` per secret); pydantic-settings' own sources find and explode them. This module
only turns their leaves from YAML text into values, with messages that name the variable and
its origin and never show a secret's value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr, create_model
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from moodrec.config.base import Secrets
from moodrec.config.schema import Settings
from moodrec.errors import ConfigError

__all__ = [
    "ENV_FILE_VAR",
    "ENV_PREFIX",
    "SECRET_VARIABLES",
    "SECTIONS",
    "EnvironmentLayer",
    "EnvironmentValues",
    "env_file_path",
    "looks_secret",
    "merge_nested",
    "read_environment",
    "yaml_problem",
]

ENV_PREFIX = "MOODREC_"
#: names another ``.env`` file than ``./.env``
ENV_FILE_VAR = "MOODREC_ENV_FILE"
NESTED_DELIMITER = "__"
#: the Settings sections a ``MOODREC_<SECTION>__<FIELD>`` variable may override
SECTIONS = tuple(name for name in Settings.model_fields if name not in {"profile", "secrets"})
#: secret field → its variable (``genius_token`` → ``MOODREC_GENIUS_TOKEN``)
SECRET_VARIABLES = {name: f"{ENV_PREFIX}{name.upper()}" for name in Secrets.model_fields}

#: a name that holds a secret: contains secret/password/credential, or ends in
#: token/key/pwd/passwd (``genius_token``, ``api_key``; not ``token_url`` or ``batch_key``s'
#: neighbours like ``token_ttl_s``)
_SECRET_NAME = re.compile(
    r"secret|passw|credential|private|(?:^|[_.])(?:token|key|apikey|pwd|passwd|auth)s?$",
    re.IGNORECASE,
)


def looks_secret(name: str) -> bool:
    """Whether a field or variable name looks like it holds a secret (its value is never shown).

    >>> [looks_secret(n) for n in ("client_secret", "genius_token", "api_key", "token_url")]
    [True, True, True, False]
    """
    return bool(_SECRET_NAME.search(name))


def yaml_problem(exc: yaml.YAMLError) -> str:
    """What is wrong and where (line, column), without the offending text itself."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = "; ".join(x for x in (exc.context, exc.problem) if x)
        return f"{what or 'syntax error'}{where}"
    return type(exc).__name__


class _LayerBase(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        case_sensitive=False,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",  # other MOODREC_* variables (MOODREC_CONFIG_DIR …) are not settings
    )


#: the variables pydantic-settings looks for: ``<section>: dict`` (exploded from
#: ``MOODREC_<SECTION>__…``, values still YAML text) and ``<secret>: SecretStr | None``
EnvironmentLayer: type[BaseSettings] = create_model(  # type: ignore[call-overload]
    "EnvironmentLayer",
    __base__=_LayerBase,
    __doc__="Section overrides and secrets as the environment and .env give them.",
    **{name: (dict[str, Any], {}) for name in SECTIONS},
    **{name: (SecretStr | None, None) for name in Secrets.model_fields},
)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (default ``os.environ``)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(EnvironmentLayer)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._environ.items()}


@dataclass(frozen=True)
class EnvironmentValues:
    """The environment's part of the settings: nested overrides and the secrets."""

    overrides: dict[str, Any]
    secrets: Secrets
    #: where they came from, for messages: ``environment (MOODREC_*)`` [+ ``.env file X``]
    origin: str


def env_file_path(environ: Mapping[str, str]) -> Path | None:
    """The ``.env`` file to read: ``$MOODREC_ENV_FILE`` (must exist) or ``./.env`` if present.

    Raises
    ------
    ConfigError
        ``MOODREC_ENV_FILE`` names a file that does not exist.
    """
    named = environ.get(ENV_FILE_VAR)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"{ENV_FILE_VAR}={named}: no such file")
        return path
    default = Path(str(_LayerBase.model_config.get("env_file")))
    return default if default.is_file() else None


def _check_sections(variables: Mapping[str, str | None], origin: str) -> None:
    """A ``MOODREC_X__Y`` whose ``X`` is no section is a typo, not something to ignore."""
    prefix = ENV_PREFIX.lower()
    for key in variables:
        name = key.lower()
        if not name.startswith(prefix) or NESTED_DELIMITER not in name:
            continue
        section = name[len(prefix) :].split(NESTED_DELIMITER)[0]
        if section in SECTIONS:
            continue
        hint = (
            f"; secrets are {', '.join(sorted(SECRET_VARIABLES.values()))}"
            if section == "secrets"
            else ""
        )
        raise ConfigError(
            f"{key.upper()} ({origin}): unknown section {section!r}; allowed sections: "
            f"{', '.join(SECTIONS)}{hint}"
        )


def _decode(node: Any, path: tuple[str, ...], origin: str) -> Any:
    """Leaves of an exploded section from YAML text to values (``""`` → ``None``)."""
    if isinstance(node, Mapping):
        return {k: _decode(v, (*path, k), origin) for k, v in node.items()}
    if not isinstance(node, str):
        return node
    if node == "":
        return None
    try:
        return yaml.safe_load(node)
    except yaml.YAMLError as exc:
        var = ENV_PREFIX + NESTED_DELIMITER.join(path).upper()
        shown = "value hidden" if any(looks_secret(p) for p in path) else f"got {node!r}"
        raise ConfigError(
            f"{var} ({origin}): not valid YAML ({yaml_problem(exc)}; {shown}); "
            "values are read as YAML: quote a string that starts with [, {, \" or ' "
            f"({var}='\"text\"')"
        ) from None


def _layer(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """One source's values: sections decoded, empty secrets dropped."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in SECTIONS and isinstance(value, Mapping) and value:
            out[name] = _decode(value, (name,), origin)
        elif name in SECRET_VARIABLES and value not in (None, ""):
            out[name] = value
    return out


def _read(source: EnvSettingsSource, origin: str) -> dict[str, Any]:
    """The source's values; its parse errors (e.g. ``MOODREC_SANDBOX=x``, a section given as a
    whole that is not JSON) as a :class:`ConfigError` naming the origin, never the value."""
    try:
        return source()
    except SettingsError as exc:
        raise ConfigError(
            f"{origin}: {exc}; set one field per variable, {ENV_PREFIX}<SECTION>__<FIELD>"
        ) from None


def merge_nested(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` laid over it, nested mappings merged key by key."""
    merged = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(merged.get(k), Mapping):
            merged[k] = merge_nested(dict(merged[k]), v)
        else:
            merged[k] = v
    return merged


def read_environment(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> EnvironmentValues:
    """Read the section overrides and secrets from ``environ`` and the ``.env`` file.

    Parameters
    ----------
    environ
        The environment (default ``os.environ``).
    env_file
        The ``.env`` file (default :func:`env_file_path`); its variables lose to ``environ``'s.

    Raises
    ------
    ConfigError
        A value is not valid YAML, or a ``MOODREC_<SECTION>__…`` names no section; the
        message names the variable and its origin (the value only when it is not a secret).
    """
    environ = os.environ if environ is None else environ
    env_file = env_file_path(environ) if env_file is None else env_file
    env_origin = f"environment ({ENV_PREFIX}*)"
    env_source = _MappingEnvSource(environ)
    _check_sections(env_source.env_vars, "environment")
    values: dict[str, Any] = {}
    origin = env_origin
    if env_file is not None:
        file_origin = f".env file {env_file}"
        dotenv = DotEnvSettingsSource(EnvironmentLayer, env_file=env_file)
        _check_sections(dotenv.env_vars, file_origin)
        # only the variables the real environment does not set (it wins, even when empty)
        shadowed = {k.lower() for k in environ}
        dotenv.env_vars = {k: v for k, v in dotenv.env_vars.items() if k not in shadowed}
        values = _layer(_read(dotenv, file_origin), file_origin)
        origin = f"{env_origin} + {file_origin}"
    values = merge_nested(values, _layer(_read(env_source, env_origin), env_origin))
    secrets = {name: values.pop(name) for name in list(values) if name in SECRET_VARIABLES}
    return EnvironmentValues(
        overrides=values, secrets=Secrets.model_validate(secrets), origin=origin
    )
