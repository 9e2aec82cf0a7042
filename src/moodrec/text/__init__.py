"""Lyrics text processing (pure, no Prefect): scrape-artifact removal, language, tokens."""

from moodrec.text.cleaning import CleanedLyrics, clean_lyrics, strip_artifacts
from moodrec.text.config import LyricsConfig

__all__ = ["CleanedLyrics", "LyricsConfig", "clean_lyrics", "strip_artifacts"]
