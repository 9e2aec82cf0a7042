"""Typed configuration of the clustering stage."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from moodrec.domain import CONTINUOUS_AUDIO_FEATURES
from moodrec.stage_config import StageConfig

ClusterMethod = Literal["kmeans", "minibatch_kmeans", "gmm", "agglomerative", "spectral", "hdbscan"]

#: audio features clustered by default. ``key`` (a circular pitch class) and ``mode`` (binary)
#: are left out: Euclidean distances on them measure nothing musical.
DEFAULT_AUDIO_FEATURES: tuple[str, ...] = CONTINUOUS_AUDIO_FEATURES


class ClusteringConfig(StageConfig):
    """Candidate clusterings, model selection, bootstrap stability and profiles.

    ``source`` picks the tracks: ``sandbox`` (the world's truth tracks), ``file`` (Parquet or
    CSV with ``track_id`` and the audio features, ``path``) or ``spotify_csv`` (the top40nl CSV,
    which has no key, mode or instrumentalness: set ``audio_features`` accordingly) or
    ``enrich`` (the catalogue's tracks with every audio feature from the enrich stage's
    ``track_features``, artist genres and, when the topics stage ran, lyric topics; no
    ``path``).
    """

    source: Literal["sandbox", "enrich", "file", "spotify_csv"] = "sandbox"
    path: Path | None = None
    methods: tuple[ClusterMethod, ...] = ("kmeans", "gmm", "agglomerative", "spectral", "hdbscan")
    k_min: int = Field(default=2, ge=2)
    k_max: int = Field(default=12, ge=2)
    audio_features: tuple[str, ...] = DEFAULT_AUDIO_FEATURES
    # Feature scaling before clustering: "power" = per-feature Box-Cox transform (of the
    # min-max scaled feature + 0.01) to near-normal, then z-scores (skewed features such as
    # instrumentalness and liveness stop dominating the spread); "robust" centres on the
    # median, scales by the 5-95 % range and clips at +-3; "standard" = z-scores;
    # "quantile" = per-feature ranks mapped to [0, 1].
    scaling: Literal["power", "robust", "standard", "quantile"] = "power"
    # Above this many rows KMeans is replaced by MiniBatchKMeans.
    minibatch_above: int = Field(default=200_000, ge=1)
    # O(n^2) methods are fitted on a seeded sample and extended to all rows by nearest neighbour.
    spectral_sample: int = Field(default=2_000, ge=10)
    agglomerative_sample: int = Field(default=8_000, ge=10)
    hdbscan_sample: int = Field(default=20_000, ge=10)
    hdbscan_min_cluster_size: int = Field(default=25, ge=2)
    # HDBSCAN candidates leaving more than this share as noise are not selectable.
    max_noise_fraction: float = Field(default=0.25, ge=0, le=1)
    # Silhouette is O(n^2): computed on a seeded sample of this size.
    silhouette_sample: int = Field(default=4_000, ge=10)
    # Gaussian mixture: covariance shape, variance floor and restarts. "diag" suits audio
    # features, whose noise is close to independent per feature within a sound cluster.
    # gmm_reg_covar is added to every component variance, as a share of the mean feature
    # variance of the clustered matrix: it keeps components from collapsing onto the point
    # masses that bounded features have at their limits (acousticness or speechiness of 0).
    gmm_covariance: Literal["full", "diag", "tied", "spherical"] = "diag"
    gmm_reg_covar: float = Field(default=0.05, gt=0)
    gmm_n_init: int = Field(default=3, ge=1)
    # Above this many rows each mixture is fitted (and its BIC/ICL computed) on a seeded
    # sample of this size; every row is still labelled.
    gmm_sample: int = Field(default=100_000, ge=10)
    # Selection, all unsupervised: "icl" = lowest integrated completed likelihood (BIC plus
    # twice the entropy of the posterior assignment; Biernacki, Celeux & Govaert 2000) among
    # the Gaussian mixtures, which favours well-separated clusters over extra components that
    # only bend a cluster's shape; "bic" = lowest BIC among the Gaussian mixtures; "rank_mean"
    # = mean rank over silhouette (high), Davies-Bouldin (low) and Calinski-Harabasz (high)
    # among all candidates; or one of those three alone. "icl"/"bic" fall back to "rank_mean"
    # (with a warning) when no Gaussian mixture fitted.
    selection: Literal[
        "icl", "bic", "rank_mean", "silhouette", "davies_bouldin", "calinski_harabasz"
    ] = "icl"
    bootstrap_rounds: int = Field(default=10, ge=0)
    bootstrap_max_rows: int = Field(default=20_000, ge=10)
    top_genres: int = Field(default=5, ge=1)
    seed: int = Field(default=42, ge=0)

    @model_validator(mode="after")
    def _check(self) -> ClusteringConfig:
        if self.source not in {"sandbox", "enrich"} and self.path is None:
            raise ValueError(f"path is required when source is {self.source!r}")
        if self.k_min > self.k_max:
            raise ValueError("k_min must not exceed k_max")
        if not self.methods:
            raise ValueError("methods must name at least one clustering method")
        if not self.audio_features:
            raise ValueError("audio_features must not be empty")
        return self
