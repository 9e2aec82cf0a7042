"""Configuration schema and loading (YAML profile + environment).

Exports are resolved lazily: stage packages import ``moodrec.config.base`` for their own
configs, and the root schema imports those packages, so an eager import here would be a cycle.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_settings": "moodrec.config.loader",
    "profile_path": "moodrec.config.loader",
    "IngestConfig": "moodrec.config.schema",
    "PathsConfig": "moodrec.config.schema",
    "SandboxConfig": "moodrec.config.schema",
    "Secrets": "moodrec.config.base",
    "Settings": "moodrec.config.schema",
    "StageConfig": "moodrec.config.base",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'moodrec.config' has no attribute {name!r}")
