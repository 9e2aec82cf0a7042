"""Configuration of the torch recommenders (BPR-MF, NeuMF, hybrid) and the ablation."""

from __future__ import annotations

from moodrec.config.base import StageConfig


class DeepModelsConfig(StageConfig):
    """Hyperparameters and search budgets of the torch models."""
