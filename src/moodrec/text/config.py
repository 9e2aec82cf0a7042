"""``LyricsConfig``: how lyrics are cleaned and tokenised (the ``lyrics`` settings section)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from moodrec.stage_config import StageConfig

LanguageMode = Literal["english_only", "per_language"]


class LyricsConfig(StageConfig):
    """Reading and cleaning a lyrics table.

    ``source`` picks the input: the sandbox world's lyrics (raw Genius-style text) or a
    Parquet/CSV/JSON file with columns ``track_id``, ``text`` and optional ``source``,
    ``language``, ``valence``, or ``enrich`` (the enrich stage's ``lyrics_raw``, one text per
    track from the provider that found it, valence from its ``track_features``; no ``path``).
    """

    source: Literal["sandbox", "enrich", "file"] = "sandbox"
    path: Path | None = None
    # Texts longer than this are cut (after artifact removal) and reported as truncated.
    max_chars: int = Field(default=20_000, gt=0)
    # Language detection looks at this many characters of each text only (fast, stable).
    detect_chars: int = Field(default=1_000, gt=0)
    # ISO 639-1 codes the detector chooses among (lingua, offline); others become "und".
    languages: tuple[str, ...] = (
        "en",
        "es",
        "de",
        "fr",
        "nl",
        "pt",
        "it",
        "sv",
        "ru",
        "ja",
        "ko",
        "zh",
        "ar",
        "hi",
    )
    language_mode: LanguageMode = "english_only"
    # per_language: which languages get a topic model is decided by TopicsConfig.min_docs.
    min_token_len: int = Field(default=3, ge=1)
    # Documents with fewer tokens than this (after stop words) are reported, not modelled.
    min_doc_tokens: int = Field(default=5, ge=0)
    extra_stopwords: tuple[str, ...] = ()
    # gensim Phrases: bigrams, then trigrams on the bigrammed text (0 rounds = no phrases).
    phrase_rounds: int = Field(default=2, ge=0, le=2)
    phrase_min_count: int = Field(default=20, ge=1)
    phrase_threshold: float = Field(default=0.5, gt=-1, le=1)  # npmi scoring
    # Dictionary.filter_extremes
    no_below: int = Field(default=5, ge=1)
    no_above: float = Field(default=0.5, gt=0, le=1)
    keep_n: int = Field(default=20_000, gt=0)
    # Parallel cleaning: worker processes for corpora above ``parallel_min_docs`` (0 = all cores).
    n_jobs: int = Field(default=1, ge=0)
    parallel_min_docs: int = Field(default=20_000, ge=1)

    @model_validator(mode="after")
    def _path_for_files(self) -> LyricsConfig:
        if self.source == "file" and self.path is None:
            raise ValueError("path is required when source is 'file'")
        return self
