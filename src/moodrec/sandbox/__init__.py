"""The sandbox: a deterministic synthetic listening world with planted, recorded truth."""

from moodrec.sandbox.world import (
    LOG_FILENAME,
    PROFILE_FILENAME,
    PROFILES,
    WorldSize,
    WorldSummary,
    build_world,
    generate_world,
)

__all__ = [
    "LOG_FILENAME",
    "PROFILES",
    "PROFILE_FILENAME",
    "WorldSize",
    "WorldSummary",
    "build_world",
    "generate_world",
]
