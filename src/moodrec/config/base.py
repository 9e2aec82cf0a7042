"""Credentials, kept apart from the root schema so code that needs them imports a leaf."""

from __future__ import annotations

from pydantic import SecretStr

from moodrec.stage_config import StageConfig

__all__ = ["Secrets"]


class Secrets(StageConfig):
    """Credentials, read only from the environment or ``.env`` (``MOODREC_<NAME>``, through
    pydantic-settings: :mod:`moodrec.config.environment`); never logged or written."""

    spotify_client_id: str | None = None
    spotify_client_secret: SecretStr | None = None
    genius_token: SecretStr | None = None
    lastfm_api_key: SecretStr | None = None
    database_password: SecretStr | None = None
