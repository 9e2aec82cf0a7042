"""What the recommend flows wire the stage with, without the stage's libraries: the split's
narrow config, each model's parameters and tuning space, the users a report lists.

:mod:`moodrec.experiment.stage` (scipy, the models) re-exports these; a flow imports them from
here so that an unchanged, cached stage does not import what only computing needs.
"""

from __future__ import annotations

from typing import Any, Literal

from moodrec.models.config import RecommendConfig, TuningConfig
from moodrec.stage_config import StageConfig


class SplitConfig(StageConfig):
    """The fields of :class:`RecommendConfig` the split depends on (validated there).

    The split task takes this narrow view so that its cache key changes only with them.
    """

    min_listeners: int
    split: Literal["holdout", "cold_items"]
    test_fraction: float
    validation_fraction: float
    cold_item_fraction: float
    seed: int

    @classmethod
    def of(cls, cfg: RecommendConfig) -> SplitConfig:
        return cls(**cfg.model_dump(include=set(cls.model_fields)))


def model_params(cfg: RecommendConfig, name: str) -> dict[str, Any]:
    """Hyperparameters of ``name``: the deep config section of torch models (``deep.<name>``,
    ``deep.rating`` for ``rating_*``) overlaid with ``params[name]``."""
    section = name if name in type(cfg.deep).model_fields else None
    if section is None and name.startswith("rating_"):
        section = "rating" if "rating" in type(cfg.deep).model_fields else None
    base = getattr(cfg.deep, section).model_dump(mode="json") if section else {}
    return base | dict(cfg.params.get(name, {}))


def model_tuning(cfg: RecommendConfig, name: str) -> TuningConfig:
    """The tuning config narrowed to ``name``'s search space (empty when tuning is off), so
    that editing another model's space keeps this model's fit cached."""
    t = cfg.tuning
    space = t.spaces.get(name, {}) if t.enabled else {}
    return t.model_copy(update={"spaces": {name: space} if space else {}})


def export_users(ingest_summary: dict[str, Any]) -> list[str]:
    """The users of the one-user scrobble exports an ingest read (its summary's inputs)."""
    return [
        str(i["user"]) for i in ingest_summary.get("inputs", []) if i.get("kind") == "scrobbles"
    ]
