"""The sandbox stage's config: which synthetic world to build (a leaf: imports no stage code)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from moodrec.stage_config import StageConfig

__all__ = ["SandboxConfig", "SandboxProfile"]

SandboxProfile = Literal["tiny", "demo", "large"]


class SandboxConfig(StageConfig):
    """The synthetic world that stands in for the internet and the Last.fm file."""

    profile: SandboxProfile = "demo"
    seed: int = Field(default=42, ge=0)
