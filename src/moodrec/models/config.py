"""Configuration of the recommenders stage (interaction matrices, splits, models, search)."""

from __future__ import annotations

from moodrec.config.base import StageConfig
from moodrec.models.deep_config import DeepModelsConfig


class RecommendConfig(StageConfig):
    """Training and evaluating recommenders."""

    deep: DeepModelsConfig = DeepModelsConfig()
