"""Configuration of the session (ephemeral, mood-aware) recommender stage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from moodrec.stage_config import StageConfig

SessionModelName = Literal["pop", "spop", "sr", "sknn", "vsknn", "gru4rec", "mood"]
ALL_SESSION_MODELS: tuple[str, ...] = ("pop", "spop", "sr", "sknn", "vsknn", "gru4rec", "mood")


class MoodBlend(StageConfig):
    """Mixture weights of the mood-aware personalised model (normalised at use).

    Each component is a probability distribution over items; the model scores
    ``Σ_c w_c P_c(item | user, prefix, mood)``.
    """

    user_mood: float = Field(default=0.45, ge=0)  # the user's plays in sessions of this mood
    user: float = Field(default=0.05, ge=0)  # the user's long-term model (all moods)
    content: float = Field(default=0.10, ge=0)  # popularity × mood fit of features (cold items)
    artist: float = Field(default=0.15, ge=0)  # tracks of the last played artist
    session: float = Field(default=0.25, ge=0)  # session-kNN on the prefix
    #: exponent of the mood-fit re-ranking factor (0 = off); 0.5 chosen on a validation
    #: split of the demo world's training sessions (each user's last training session)
    mood_rerank: float = Field(default=0.5, ge=0)


class SequenceConfig(StageConfig):
    """The torch GRU4Rec-style sequence model (small, CPU, seeded)."""

    embedding_dim: int = Field(default=64, ge=4)
    hidden_dim: int = Field(default=96, ge=4)
    max_len: int = Field(default=20, ge=2)
    epochs: int = Field(default=2, ge=1)
    batch_size: int = Field(default=128, ge=1)
    learning_rate: float = Field(default=0.005, gt=0)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    # where the network, batches and negative sampling live ("auto" = cuda when available)
    device: Literal["auto", "cpu", "cuda"] = "cpu"


class SessionConfig(StageConfig):
    """Mood signals, session models and their evaluation."""

    # -- sessions and item features ---------------------------------------------------------
    #: gap that ends a session, for ``--session recent`` (ingest's own rule builds sessions)
    session_gap_minutes: float = Field(default=30.0, gt=0)
    #: sessions shorter than this are neither evaluated nor used to learn mood states
    min_session_length: int = Field(default=2, ge=2)
    #: where item features come from: the sandbox truth, a features file, the enrich stage's
    #: ``track_features`` (e.g. valence/energy mapped from AcousticBrainz moods) or none
    features_source: Literal["sandbox", "file", "enrich", "none"] = "sandbox"
    features_path: str | None = None
    #: with ``features_source: enrich``, where valence × energy come from: each track's
    #: ``track_features`` row (the AcousticBrainz provider's mood mapping), or ``open_fit``:
    #: one model over every open source's answers (AcousticBrainz record, Last.fm mood and
    #: genre tags, Deezer BPM/gain; :mod:`moodrec.providers.open_mood`)
    enrich_mood: Literal["track_features", "open_fit"] = "track_features"
    #: with ``open_fit``, which tracks get coordinates: those with an AcousticBrainz record,
    #: also those with Last.fm mood tags, or any with some evidence (Deezer BPM/gain too);
    #: wider coverage costs mood-state agreement in the sandbox (benchmarks/results/open_moods.md)
    open_mood_min_evidence: Literal["acousticbrainz", "mood_tags", "any"] = "acousticbrainz"
    # -- mood states ------------------------------------------------------------------------
    n_mood_states: int = Field(default=4, ge=1, le=12)
    mood_method: Literal["kmeans", "gmm"] = "kmeans"
    # -- models -----------------------------------------------------------------------------
    models: tuple[SessionModelName, ...] = ALL_SESSION_MODELS
    #: long-term user model inside the mood-aware model: "profile" (own play counts) or any
    #: registered ``moodrec.models`` recommender name (e.g. "ials")
    long_term_model: str = "profile"
    blend: MoodBlend = MoodBlend()
    knn_neighbours: int = Field(default=100, ge=1)
    knn_sample: int = Field(default=500, ge=1)
    sr_steps: int = Field(default=10, ge=1)
    sequence: SequenceConfig = SequenceConfig()
    # -- evaluation -------------------------------------------------------------------------
    k_values: tuple[int, ...] = (5, 10, 20)
    test_sessions_per_user: int = Field(default=2, ge=1)
    #: at most this many held-out sessions are evaluated (seeded sample; 0 = all)
    max_eval_sessions: int = Field(default=100, ge=0)
    #: predictions per held-out session at most (the first positions; 0 = all)
    max_positions: int = Field(default=10, ge=0)
    #: sliding time windows for robustness (0 = none): cut points at these time quantiles
    window_quantiles: tuple[float, ...] = (0.7, 0.85)
    window_models: tuple[SessionModelName, ...] = ("pop", "sr", "sknn", "vsknn", "mood")
    max_window_sessions: int = Field(default=60, ge=1)
    bootstrap_rounds: int = Field(default=1000, ge=10)
    seed: int = Field(default=13, ge=0)

    @field_validator("k_values")
    @classmethod
    def _positive_k(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or min(v) < 1:
            raise ValueError("k_values must be a non-empty list of positive integers")
        return tuple(sorted(set(v)))

    @field_validator("window_quantiles")
    @classmethod
    def _quantiles(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 < q < 1.0 for q in v):
            raise ValueError("window_quantiles must lie strictly between 0 and 1")
        return tuple(sorted(v))
