"""Configuration of the torch recommenders (BPR-MF, NeuMF, hybrid) and the ablation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from moodrec.stage_config import StageConfig

#: the content feature groups :mod:`moodrec.features.content` can assemble (``word2vec``: the
#: Word2Vec lyric map; ``tags``: social tags, HetRec)
FEATURE_GROUPS = ("audio", "genre", "cluster", "topics", "word2vec", "popularity", "tags")
#: the hybrid's default groups (those the sandbox always has)
DEFAULT_GROUPS = ("audio", "genre", "cluster", "topics", "popularity")


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
    # validation users scored per check (a seeded sample when there are more)
    eval_users: int = Field(default=2000, ge=1)
    # wall-clock cap of one fit in seconds (0 = none); training stops after the epoch
    # that crossed it, so a hyperparameter search stays within its budget
    time_budget_s: float = Field(default=0.0, ge=0)


class PairwiseConfig(TrainingConfig):
    """What the models trained with the BPR loss share (``bpr``, ``neumf``, ``hybrid``)."""

    # where parameters, batches and negative sampling live: "auto" = cuda when available;
    # the fitted model is always brought back to the CPU for scoring and saving
    device: Literal["auto", "cpu", "cuda"] = "cpu"
    factors: int = Field(default=64, ge=1)
    # L2 weight of the embeddings of each batch (batch mean of their squared norms)
    reg: float = Field(default=0.03, ge=0)
    # standard deviation of the normal initialisation of the embeddings
    init_std: float = Field(default=0.1, gt=0)
    batch_size: int = Field(default=512, ge=1)
    # negatives per positive in one epoch
    n_negatives: int = Field(default=1, ge=1)
    # negatives drawn with probability ∝ popularity ** negative_alpha (0 = uniform)
    negative_alpha: float = Field(default=0.0, ge=0, le=2)
    # negatives drawn per positive; training uses the one the model scores highest
    # (dynamic negative sampling, Zhang et al. 2013; 1 = plain BPR)
    negative_pool: int = Field(default=1, ge=1, le=256)


class BPRConfig(PairwiseConfig):
    """Shallow matrix factorisation trained with the BPR pairwise loss.

    Defaults tuned on the HetRec 2011 Last.fm validation split (issue #7 protocol, seed 1):
    the hardest of 10 uniform negatives (dynamic negative sampling) and a smaller Adam step
    raise validation NDCG@20 from 0.133 (uniform negatives, lr 0.01, reg 0.03) to 0.201;
    the best epoch was ~29, so ``epochs`` = 30 for a refit without a validation matrix.
    Popularity-weighted negatives (``negative_alpha``) and reg 0.03 / 0.003 were worse.
    """

    reg: float = Field(default=0.01, ge=0)
    lr: float = Field(default=0.003, gt=0)
    epochs: int = Field(default=30, ge=1)
    negative_pool: int = Field(default=10, ge=1, le=256)
    # L2 weight of the item biases (``reg`` covers the factors only)
    bias_reg: float = Field(default=0.0, ge=0)


class NeuMFConfig(PairwiseConfig):
    """NCF/NeuMF: GMF and MLP towers fused, BPR loss.

    Defaults tuned on the HetRec 2011 Last.fm validation split (issue #7 protocol, seed 1):
    starting the fusion as the GMF dot product plus hard negatives (the best of 10) raise
    validation NDCG@20 from 0.096 (random fusion, uniform negatives) to 0.165; hard negatives
    without the GMF start collapse to 0.002. Validation NDCG peaks near epoch 10 and then
    falls as the MLP overfits, hence ``epochs`` = 11 for a refit without validation.
    """

    factors: int = Field(default=32, ge=1)
    mlp_layers: tuple[int, ...] = (64, 32, 16)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    reg: float = Field(default=0.03, ge=0)
    lr: float = Field(default=0.003, gt=0)
    epochs: int = Field(default=11, ge=1)
    negative_pool: int = Field(default=10, ge=1, le=256)
    # initialise the fusion layer as the GMF dot product (GMF weights 1, MLP weights 0):
    # training starts from matrix factorisation, a cheap stand-in for He et al.'s
    # pre-training of the GMF and MLP branches
    start_as_gmf: bool = True


class HybridConfig(PairwiseConfig):
    """CF embedding + content tower; the CF part is dropped at random so content alone scores."""

    hidden: tuple[int, ...] = (128,)
    # probability of zeroing an item's CF embedding in a training batch (DropoutNet)
    cf_dropout: float = Field(default=0.5, ge=0, le=1)
    # content feature groups (empty = plain CF)
    groups: tuple[str, ...] = DEFAULT_GROUPS

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [g for g in v if g not in FEATURE_GROUPS]
        if unknown:
            raise ValueError(f"unknown feature group(s) {unknown}; known: {list(FEATURE_GROUPS)}")
        return v


class LightFMConfig(HybridConfig):
    """LightFM-like feature embeddings: the item is its id embedding plus the sum of its
    feature embeddings (a linear content tower, ``hidden`` = ()), BPR loss with hard negatives
    (the best of ``negative_pool``, a WARP-like choice)."""

    hidden: tuple[int, ...] = ()
    # dropping the id embedding now and then makes the feature embeddings score alone
    cf_dropout: float = Field(default=0.3, ge=0, le=1)
    lr: float = Field(default=0.01, gt=0)
    negative_pool: int = Field(default=10, ge=1, le=256)

    @field_validator("hidden")
    @classmethod
    def _linear(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if v:
            raise ValueError("lightfm: the feature map is linear (hidden must be empty)")
        return v


class RatingConfig(TrainingConfig):
    """The seed study's rating regression (MSE on the per-user rescaled rating)."""

    factors: int = Field(default=32, ge=1)
    hidden: tuple[int, ...] = (64, 32)
    reg: float = Field(default=1e-4, ge=0)
    lr: float = Field(default=0.005, gt=0)
    batch_size: int = Field(default=256, ge=1)


#: validation search spaces of the torch models around their tuned defaults (defaults first,
#: so a grid cut short by its time budget has still tried them); ``weighting`` is binary
SEARCH_SPACES: dict[str, dict[str, list]] = {
    "bpr": {"negative_pool": [10, 20], "reg": [0.01, 0.03, 0.003], "lr": [0.003, 0.001]},
    "neumf": {"reg": [0.03, 0.01], "negative_pool": [10, 20], "epochs": [11, 8, 15]},
}


class AblationConfig(StageConfig):
    """Does content help? Tuned CF vs content models, on warm, cold and all items.

    ``variants`` are content families (name → feature groups) fitted with the
    ``family_model`` (``cb2cf``: tuned iALS + a content → factor mapping); ``content_models``
    are fitted on every group of the ``all`` variant, each choosing its groups and
    hyperparameters on validation within ``tuning_budget_s``; ``reference_models`` are plain
    CF models, the first (tuned iALS) being the reference of every paired test.
    """

    seed: int = Field(default=42, ge=0)
    # variant name → feature groups of the family model; a group the features lack is skipped
    variants: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            # no content: cold items get the mean mapped factor (what each family is tested
            # against, so a family's effect is not the mapping's intercept)
            "none": (),
            "audio": ("audio",),
            "genre": ("genre",),
            "topics": ("topics",),
            "word2vec": ("word2vec",),
            "cluster": ("cluster",),
            # the world's popularity is a planted driver of plays
            "popularity": ("popularity",),
            "all": ("audio", "genre", "topics", "word2vec", "cluster", "popularity"),
        }
    )
    family_model: Literal["cb2cf", "lightfm", "hybrid"] = "cb2cf"
    # content models fitted on the groups of the ``all`` variant (their name = the model name)
    content_models: tuple[str, ...] = ("lightfm", "hybrid")
    # plain CF recommenders; the first is the reference of the paired tests (tuned)
    reference_models: tuple[str, ...] = ("ials", "popularity")
    # validation search per model (CPU seconds of the fitting process, so a busy machine
    # or variants fitted side by side try the same trials; the first trial always runs)
    tuning_budget_s: float = Field(default=60.0, gt=0)
    spaces: dict[str, dict[str, list[Any]]] = Field(
        default_factory=lambda: {
            # defaults first: a search cut short by its budget has still tried them
            "ials": {"reg": [30.0, 100.0, 3.0], "alpha": [1.0, 4.0], "factors": [64, 128]},
            "lightfm": {"cf_dropout": [0.3, 0.6], "epochs": [30]},
            "hybrid": {},
            "bpr": {"reg": [0.01, 0.003], "lr": [0.003, 0.01]},
        }
    )
    # interaction weights of the training matrix
    weighting: Literal["binary", "log"] = "log"
    min_item_users: int = Field(default=1, ge=1)
    # item columns in a seeded random order: ties rank the lower index first, and ingest ids
    # follow popularity, which would rank equally scored (cold) items by popularity for free
    shuffle_items: bool = True
    # share of items held out entirely (cold-start test slice; cold validation items for the
    # content models' selection) and of each user's warm items
    cold_item_fraction: float = Field(default=0.2, gt=0, lt=1)
    cold_validation_fraction: float = Field(default=0.1, ge=0, lt=1)
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
        return v

    @field_validator("reference_models")
    @classmethod
    def _a_reference(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("at least one reference model (the tuned CF model) is needed")
        return v


class DeepModelsConfig(StageConfig):
    """Hyperparameters and search budgets of the torch models, and the ablation."""

    bpr: BPRConfig = BPRConfig()
    neumf: NeuMFConfig = NeuMFConfig()
    hybrid: HybridConfig = HybridConfig()
    lightfm: LightFMConfig = LightFMConfig()
    rating: RatingConfig = RatingConfig()
    ablation: AblationConfig = AblationConfig()
