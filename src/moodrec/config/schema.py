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
from moodrec.enrich.config import EnrichConfig
from moodrec.errors import ConfigError
from moodrec.genres.config import GenresConfig
from moodrec.models.config import RecommendConfig
from moodrec.orchestration.config import STAGE_NAMES, OrchestrationConfig
from moodrec.session.config import SessionConfig
from moodrec.text.config import LyricsConfig
from moodrec.topics.config import TopicsConfig

__all__ = ["IngestConfig", "PathsConfig", "SandboxConfig", "Secrets", "Settings", "StageConfig"]


SandboxProfile = Literal["tiny", "demo", "large"]

#: stage → the ``section.field`` whose value ``"sandbox"`` means "read the sandbox world's
#: planted truth" (lyrics, audio features, artist genres, session item features)
SANDBOX_INPUTS: dict[str, tuple[str, str]] = {
    "topics": ("lyrics", "source"),
    "clusters": ("clustering", "source"),
    "genres": ("genres", "source"),
    "session": ("session", "features_source"),
}


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

    def sandbox_inputs(self, stages: list[str] | tuple[str, ...] | None = None) -> list[str]:
        """Fields (``section.field``) that make one of ``stages`` (default: every stage not
        in ``orchestration.skip``) read the sandbox world's truth in a run whose listening
        log is not the sandbox's; empty for sandbox runs."""
        if self.ingest.source == "sandbox":
            return []
        if stages is None:
            stages = [s for s in STAGE_NAMES if self.orchestration.runs(s)]
        found = []
        for stage in stages:
            if stage in SANDBOX_INPUTS:
                section, field = SANDBOX_INPUTS[stage]
                if getattr(getattr(self, section), field) == "sandbox":
                    found.append(f"{section}.{field}")
        return found

    def check_real_inputs(self, stages: list[str] | tuple[str, ...] | None = None) -> None:
        """Refuse to mix the sandbox world's planted truth into a run on a real log.

        Raises
        ------
        ConfigError
            Naming each offending field and what to do instead.
        """
        fields = self.sandbox_inputs(stages)
        if fields:
            raise ConfigError(
                f"profile {self.profile!r} reads a real listening log (ingest.source: "
                f"{self.ingest.source}) but {', '.join(fields)} "
                f"{'is' if len(fields) == 1 else 'are'} 'sandbox': the synthetic world's "
                "planted truth would be mixed into real results. Point "
                f"{'it' if len(fields) == 1 else 'them'} at real data (a file/table source "
                "with a path; session.features_source: file or none) or add the stage to "
                "orchestration.skip."
            )
