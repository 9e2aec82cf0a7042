"""Configuration of the recommenders stage (interaction matrices, splits, models, search)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from moodrec.models.deep_config import DeepModelsConfig
from moodrec.stage_config import StageConfig

WeightingName = Literal["binary", "log", "bm25", "confidence", "rating", "raw"]


class TuningConfig(StageConfig):
    """Hyperparameter search on the validation split (NDCG@``k``), within a time budget."""

    enabled: bool = False
    strategy: Literal["grid", "random"] = "grid"
    # budget per model in seconds; trials stop once it is spent (the first runs)
    budget_s: float = Field(default=60.0, gt=0)
    # what the budget counts: CPU seconds of the process (robust to machine load) or wall
    budget_clock: Literal["cpu", "wall"] = "cpu"
    max_trials: int = Field(default=20, ge=1)
    k: int = Field(default=20, ge=1)
    seed: int = Field(default=0, ge=0)
    # model name -> parameter -> candidate values; "weighting" is a parameter too
    spaces: dict[str, dict[str, list[Any]]] = Field(default_factory=dict)


class RecommendConfig(StageConfig):
    """Training and evaluating recommenders.

    ``models`` are registry names (see :data:`moodrec.models.MODEL_MODULES`); ``params``
    gives each model's hyperparameters (``{"ials": {"factors": 64, "weighting": "log"}}``,
    ``weighting`` selecting the interaction weighting of that model's training matrix).
    """

    models: list[str] = Field(default_factory=lambda: ["popularity", "itemknn", "ease", "ials"])
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # interaction matrix from plays
    weighting: WeightingName = "log"
    min_listeners: int = Field(default=1, ge=1)
    # per-user random holdout (HetRec protocol); validation cut from train with seed + 1000
    split: Literal["holdout", "cold_items"] = "holdout"
    test_fraction: float = Field(default=0.2, gt=0, lt=1)
    validation_fraction: float = Field(default=0.2, ge=0, lt=1)
    cold_item_fraction: float = Field(default=0.1, gt=0, lt=1)
    seed: int = Field(default=0, ge=0)
    ks: tuple[int, ...] = (10, 20)
    # Evaluation counts only users with at least this many held-out items, and publishes no
    # metrics from fewer than min_eval_users such users (a one-user log "scores" 1.0).
    min_test_items: int = Field(default=1, ge=1)
    min_eval_users: int = Field(default=20, ge=1)
    # the saved model ``moodrec recommend`` serves (must be one of ``models``)
    serve_model: str = "ials"
    # users whose top-``report_k`` (from ``serve_model``, their own items excluded) go into
    # the run report; empty = the users of the scrobble exports that were ingested
    report_users: list[str] = Field(default_factory=list)
    report_k: int = Field(default=10, ge=1)
    n_bootstrap: int = Field(default=1000, ge=10)
    tuning: TuningConfig = TuningConfig()
    deep: DeepModelsConfig = DeepModelsConfig()

    @field_validator("ks")
    @classmethod
    def _positive_ks(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or min(v) < 1:
            raise ValueError("ks must be a non-empty list of positive cut-offs")
        return tuple(sorted(set(v)))
