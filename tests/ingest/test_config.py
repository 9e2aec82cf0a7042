"""The ingest stage's config: frozen, strict, and its cross-field checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from moodrec.ingest.config import IngestConfig


def test_stage_configs_are_frozen_and_strict() -> None:
    cfg = IngestConfig()
    with pytest.raises(ValidationError):
        cfg.session_gap_minutes = 5  # type: ignore[misc]
    with pytest.raises(ValidationError):
        IngestConfig(sesion_gap=5)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="log_path is required"):
        IngestConfig(source="lastfm1k")
    with pytest.raises(ValidationError, match="rating_min"):
        IngestConfig(rating_min=10, rating_max=3)
