"""Configuration schema and loading (YAML profile + environment)."""

from moodrec.config.loader import load_settings, profile_path
from moodrec.config.schema import (
    IngestConfig,
    PathsConfig,
    SandboxConfig,
    Secrets,
    Settings,
)

__all__ = [
    "IngestConfig",
    "PathsConfig",
    "SandboxConfig",
    "Secrets",
    "Settings",
    "load_settings",
    "profile_path",
]
