"""Typed configuration: one frozen model per stage plus the root ``Settings``.

Values come from a YAML profile (``config/<name>.yaml``); secrets come only from the
environment (``MOODREC_SPOTIFY_CLIENT_SECRET`` …) and are ``SecretStr``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from moodrec.clustering.config import ClusteringConfig
from moodrec.config.base import Secrets, StageConfig
from moodrec.enrich.stage import EnrichConfig
from moodrec.genres.config import GenresConfig
from moodrec.models.config import RecommendConfig
from moodrec.orchestration.config import OrchestrationConfig
from moodrec.session.config import SessionConfig
from moodrec.text.config import LyricsConfig
from moodrec.topics.config import TopicsConfig

__all__ = ["IngestConfig", "PathsConfig", "SandboxConfig", "Secrets", "Settings", "StageConfig"]


SandboxProfile = Literal["tiny", "demo", "large"]


class SandboxConfig(StageConfig):
    """The synthetic world that stands in for the internet and the Last.fm file."""

    profile: SandboxProfile = "demo"
    seed: int = Field(default=42, ge=0)


class IngestConfig(StageConfig):
    """Reading a listening log into the canonical tables."""

    source: Literal["sandbox", "lastfm1k"] = "sandbox"
    # Used when source == "lastfm1k": the listening log and (optional) user profile file.
    log_path: Path | None = None
    profile_path: Path | None = None
    session_gap_minutes: float = Field(default=30.0, gt=0)
    # The seed study's rating: log(1 + plays) rescaled per user to [rating_min, rating_max].
    rating_min: float = 3.0
    rating_max: float = 10.0
    # Implicit-feedback confidence 1 + alpha * log(1 + plays / epsilon) (Hu, Koren & Volinsky 2008).
    confidence_alpha: float = Field(default=40.0, gt=0)
    confidence_epsilon: float = Field(default=1.0, gt=0)
    # Parse threads; 0 = all cores.
    threads: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _log_path_for_files(self) -> IngestConfig:
        if self.source == "lastfm1k" and self.log_path is None:
            raise ValueError("log_path is required when source is 'lastfm1k'")
        if self.rating_min >= self.rating_max:
            raise ValueError("rating_min must be below rating_max")
        return self


class PathsConfig(StageConfig):
    """Where run outputs go (layer folders raw/interim/features/models/reports below it)."""

    data_dir: Path = Path("data")


class Settings(StageConfig):
    """Root settings: the profile's name and one section per stage."""

    profile: str = "demo"
    paths: PathsConfig = PathsConfig()
    sandbox: SandboxConfig = SandboxConfig()
    ingest: IngestConfig = IngestConfig()
    lyrics: LyricsConfig = LyricsConfig()
    topics: TopicsConfig = TopicsConfig()
    genres: GenresConfig = GenresConfig()
    clustering: ClusteringConfig = ClusteringConfig()
    enrich: EnrichConfig = EnrichConfig()
    recommend: RecommendConfig = RecommendConfig()
    session: SessionConfig = SessionConfig()
    orchestration: OrchestrationConfig = OrchestrationConfig()
    secrets: Secrets = Secrets()
