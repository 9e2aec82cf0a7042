"""Configuration of the session (ephemeral, mood-aware) recommender stage."""

from __future__ import annotations

from moodrec.config.base import StageConfig


class SessionConfig(StageConfig):
    """Mood signals, session models and their evaluation."""
