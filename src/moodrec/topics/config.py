"""``TopicsConfig``: the LDA sweep, the chosen model's outputs and the topic map."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from moodrec.stage_config import StageConfig

AlphaPrior = Literal["symmetric", "asymmetric", "auto"]
EtaPrior = Literal["symmetric", "auto"]


class TopicsConfig(StageConfig):
    """LDA model selection and topic embedding settings.

    The sweep is ``staged`` by default: every ``k`` with the first alpha/eta, then every
    alpha × eta at the best ``k`` (len(k) + len(alpha)·len(eta) − 1 fits); ``grid`` fits the
    full product. Models are ranked by ``select_metric``; among models within
    ``select_tolerance`` (relative) of the best, the smallest ``k`` wins (parsimony: a
    split topic keeps coherence high, an extra topic must earn its place).

    With ``LyricsConfig.language_mode == "per_language"`` every language with at least
    ``min_docs`` modelled documents gets its own model (languages below are reported as
    skipped). English runs the sweep above; every other language runs
    the smaller ``other_k_values`` sweep with the first alpha/eta only, or fits the fixed
    ``other_k`` when it is set.
    """

    k_values: tuple[int, ...] = (4, 5, 6, 7, 8, 9, 10, 11, 12)
    alphas: tuple[AlphaPrior, ...] = ("symmetric", "asymmetric", "auto")
    etas: tuple[EtaPrior, ...] = ("symmetric", "auto")
    sweep_strategy: Literal["staged", "grid"] = "staged"
    select_metric: Literal["c_v", "c_npmi", "log_perplexity"] = "c_v"
    select_tolerance: float = Field(default=0.02, ge=0, lt=1)
    passes: int = Field(default=10, ge=1)
    iterations: int = Field(default=100, ge=1)
    chunksize: int = Field(default=500, ge=1)
    # 0 = gensim LdaModel (single process, bit-for-bit reproducible with the seed);
    # n >= 1 = LdaMulticore with n workers (faster; not reproducible, no alpha="auto").
    workers: int = Field(default=0, ge=0)
    heldout_fraction: float = Field(default=0.1, ge=0, lt=0.5)
    coherence_topn: int = Field(default=10, ge=2)
    top_words: int = Field(default=10, ge=3)
    # The sweep's fits are split over this many tasks (not one task per fit or document).
    # One task fits in sweep_jobs processes and can stop along k at the plateau; several
    # tasks share the k values round-robin, so each sees too few k to stop early.
    n_sweep_tasks: int = Field(default=1, ge=1)
    # Processes each sweep task fits in; 0 = the available cores shared by the tasks. Every fit
    # is seeded, so the sweep table is the same for any number of processes.
    sweep_jobs: int = Field(default=0, ge=0)
    # Along k (same language and priors), stop once this many k in a row have not beaten the
    # best select_metric by more than select_tolerance (such a k is never chosen itself: the
    # smaller best k is within its tolerance); 0 = fit every k.
    sweep_patience: int = Field(default=4, ge=0)
    seed: int = Field(default=42, ge=0)
    # Fewest modelled documents for a topic model (per language in per_language mode).
    min_docs: int = Field(default=20, ge=2)
    # per_language: the k swept for every other language (first alpha/eta only) ...
    other_k_values: tuple[int, ...] = (3, 4, 5, 6)
    # ... or, when set, one fixed k for every other language (no sweep).
    other_k: int | None = Field(default=None, ge=2)
    # Topic map: t-SNE (or MDS) of track topic vectors; at most this many tracks (seeded sample).
    embed_method: Literal["tsne", "mds"] = "tsne"
    embed_max_points: int = Field(default=5_000, ge=10)
    embed_neighbours: int = Field(default=10, ge=1)
    tsne_perplexity: float = Field(default=30.0, gt=1)
    # Optional second map: mean Word2Vec vector of each track's tokens (trained on the corpus).
    word2vec: bool = False
    word2vec_dim: int = Field(default=50, ge=2)

    @model_validator(mode="after")
    def _check(self) -> TopicsConfig:
        if not self.k_values or not self.alphas or not self.etas:
            raise ValueError("k_values, alphas and etas must not be empty")
        if min(self.k_values) < 2:
            raise ValueError("every k must be at least 2")
        if not self.other_k_values or min(self.other_k_values) < 2:
            raise ValueError("other_k_values must be non-empty and every k at least 2")
        if self.workers and "auto" in self.alphas:
            raise ValueError('alpha "auto" needs workers = 0 (LdaMulticore does not support it)')
        return self
