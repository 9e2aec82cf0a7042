"""Configuration of how the pipeline runs: stages to skip, task runner, deployments, report."""

from __future__ import annotations

from moodrec.config.base import StageConfig


class OrchestrationConfig(StageConfig):
    """Which stages run, on which task runner, and how deployments are scheduled."""
