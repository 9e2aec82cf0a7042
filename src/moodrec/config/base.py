"""The base of every stage config (kept apart so stage packages can define their own
configs without importing the root schema, which imports them)."""

from __future__ import annotations

from pydantic import SecretStr

from moodrec.stage_config import StageConfig

__all__ = ["Secrets", "StageConfig"]


class Secrets(StageConfig):
    """Credentials, read from the environment only; never logged or written."""

    spotify_client_id: str | None = None
    spotify_client_secret: SecretStr | None = None
    genius_token: SecretStr | None = None
    database_password: SecretStr | None = None
