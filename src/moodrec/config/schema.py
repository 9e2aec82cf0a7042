"""The root ``Settings``: assembles the config each stage package owns (``<stage>/config.py``).

Every stage config is a leaf module, so this schema imports configs only, never stage code.
Values come from a YAML profile (``config/<name>.yaml``); secrets come only from the
environment (``MOODREC_SPOTIFY_CLIENT_SECRET`` …) and are ``SecretStr``.
"""

from __future__ import annotations

from pathlib import Path

from moodrec.clustering.config import ClusteringConfig
from moodrec.config.base import Secrets
from moodrec.content.config import ContentConfig
from moodrec.enrich.config import EnrichConfig
from moodrec.errors import ConfigError
from moodrec.genres.config import GenresConfig
from moodrec.ingest.config import IngestConfig
from moodrec.models.config import RecommendConfig
from moodrec.orchestration.config import STAGE_NAMES, OrchestrationConfig
from moodrec.sandbox.config import SandboxConfig
from moodrec.session.config import SessionConfig
from moodrec.stage_config import StageConfig
from moodrec.text.config import LyricsConfig
from moodrec.topics.config import TopicsConfig

__all__ = ["PathsConfig", "Settings", "is_synthetic_source"]


#: stage → the ``section.field`` whose value ``"sandbox"`` means "read the sandbox world's
#: planted truth" (lyrics, audio features, artist genres, session item features)
SANDBOX_INPUTS: dict[str, tuple[str, str]] = {
    "topics": ("lyrics", "source"),
    "clusters": ("clustering", "source"),
    "genres": ("genres", "source"),
    "session": ("session", "features_source"),
}


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
    content: ContentConfig = ContentConfig()
    recommend: RecommendConfig = RecommendConfig()
    session: SessionConfig = SessionConfig()
    orchestration: OrchestrationConfig = OrchestrationConfig()
    secrets: Secrets = Secrets()

    def sandbox_inputs(self, stages: list[str] | tuple[str, ...] | None = None) -> list[str]:
        """Fields (``section.field``) that make one of ``stages`` (default: every stage not
        in ``orchestration.skip``) read the sandbox world's truth in a run whose listening
        log is not the sandbox's; empty for sandbox runs."""
        if is_synthetic_source(self):
            return []
        if stages is None:
            stages = [s for s in STAGE_NAMES if self.orchestration.runs(s)]
        found = []
        for stage in stages:
            if stage in SANDBOX_INPUTS:
                section, field = SANDBOX_INPUTS[stage]
                if is_synthetic_source(self, getattr(getattr(self, section), field)):
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


def is_synthetic_source(settings: Settings, source: str | None = None) -> bool:
    """Whether a stage reading ``source`` (default: the listening log, ``ingest.source``)
    describes the sandbox world.

    Its planted truth, or the enrich answers of a sandbox run (the fake servers serve the
    synthetic world); reports made from it say so in their first line.
    """
    source = settings.ingest.source if source is None else source
    return source == "sandbox" or (source == "enrich" and settings.ingest.source == "sandbox")
