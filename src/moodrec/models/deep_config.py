"""Configuration of the torch recommenders (BPR-MF, NeuMF, hybrid) and the ablation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from moodrec.config.base import StageConfig

#: the content feature groups :mod:`moodrec.features.content` can assemble
FEATURE_GROUPS = ("audio", "genre", "cluster", "topics", "popularity")


class TrainingConfig(StageConfig):
    """What every torch model's training loop shares."""

    seed: int = Field(default=0, ge=0)
    threads: int = Field(default=1, ge=1, le=64)
    epochs: int = Field(default=20, ge=1)
    batch_size: int = Field(default=1024, ge=1)
    lr: float = Field(default=0.01, gt=0)
    # early stopping: evaluate on the validation matrix every epoch (NDCG@k, or the loss
    # when no validation matrix is given); stop after ``patience`` epochs without gain
    patience: int = Field(default=5, ge=1)
    eval_k: int = Field(default=10, ge=1)
    # wall-clock cap of one fit in seconds (0 = none); training stops after the epoch
    # that crossed it, so a hyperparameter search stays within its budget
    time_budget_s: float = Field(default=0.0, ge=0)


class BPRConfig(TrainingConfig):
    """Shallow matrix factorisation trained with the BPR pairwise loss."""

    factors: int = Field(default=64, ge=1)
    reg: float = Field(default=0.03, ge=0)
    lr: float = Field(default=0.01, gt=0)
    batch_size: int = Field(default=512, ge=1)
    # negatives per positive in one epoch
    n_negatives: int = Field(default=1, ge=1)


class NeuMFConfig(TrainingConfig):
    """NCF/NeuMF: GMF and MLP towers fused, BPR loss."""

    factors: int = Field(default=32, ge=1)
    mlp_layers: tuple[int, ...] = (64, 32, 16)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    reg: float = Field(default=0.01, ge=0)
    batch_size: int = Field(default=512, ge=1)
    n_negatives: int = Field(default=1, ge=1)


class HybridConfig(TrainingConfig):
    """CF embedding + content tower; the CF part is dropped at random so content alone scores."""

    factors: int = Field(default=64, ge=1)
    hidden: tuple[int, ...] = (128,)
    # probability of zeroing an item's CF embedding in a training batch (DropoutNet)
    cf_dropout: float = Field(default=0.5, ge=0, le=1)
    reg: float = Field(default=0.03, ge=0)
    lr: float = Field(default=0.01, gt=0)
    batch_size: int = Field(default=512, ge=1)
    n_negatives: int = Field(default=1, ge=1)
    # content feature groups (empty = plain CF)
    groups: tuple[str, ...] = FEATURE_GROUPS

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [g for g in v if g not in FEATURE_GROUPS]
        if unknown:
            raise ValueError(f"unknown feature group(s) {unknown}; known: {list(FEATURE_GROUPS)}")
        return v


class RatingConfig(TrainingConfig):
    """The seed study's rating regression (MSE on the per-user rescaled rating)."""

    factors: int = Field(default=32, ge=1)
    hidden: tuple[int, ...] = (64, 32)
    reg: float = Field(default=1e-4, ge=0)
    lr: float = Field(default=0.005, gt=0)
    batch_size: int = Field(default=256, ge=1)


class AblationConfig(StageConfig):
    """CF vs CF + content groups, on warm items and on cold-start items."""

    seed: int = Field(default=42, ge=0)
    # variant name → feature groups of the hybrid ([] = CF only, the paired-test reference)
    variants: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "cf": (),
            "cf+audio": ("audio",),
            "cf+genre": ("genre",),
            "cf+topics": ("topics",),
            # the world's popularity is a planted driver of plays: show what is left without it
            "all-no-pop": ("audio", "genre", "cluster", "topics"),
            "all": FEATURE_GROUPS,
        }
    )
    # plain CF recommenders fitted beside the variants (registry names: "ials", "ease", "bpr";
    # "bpr" equals the "cf" variant exactly, same architecture and seed)
    reference_models: tuple[str, ...] = ("ials",)
    # interaction weights of the training matrix
    weighting: Literal["binary", "log"] = "log"
    min_item_users: int = Field(default=1, ge=1)
    # share of items held out entirely (cold-start slice) and of each user's warm items
    cold_item_fraction: float = Field(default=0.2, gt=0, lt=1)
    holdout_fraction: float = Field(default=0.2, gt=0, lt=1)
    validation_fraction: float = Field(default=0.1, ge=0, lt=1)
    k: int = Field(default=10, ge=1)
    n_bootstrap: int = Field(default=1000, ge=10)
    plot: bool = True

    @field_validator("variants")
    @classmethod
    def _known_variant_groups(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, groups in v.items():
            unknown = [g for g in groups if g not in FEATURE_GROUPS]
            if unknown:
                raise ValueError(f"variant {name!r}: unknown feature group(s) {unknown}")
        if not v:
            raise ValueError("at least one variant is needed")
        return v


class DeepModelsConfig(StageConfig):
    """Hyperparameters and search budgets of the torch models, and the ablation."""

    bpr: BPRConfig = BPRConfig()
    neumf: NeuMFConfig = NeuMFConfig()
    hybrid: HybridConfig = HybridConfig()
    rating: RatingConfig = RatingConfig()
    ablation: AblationConfig = AblationConfig()
