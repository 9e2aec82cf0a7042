"""Lyrics text processing (pure, no Prefect): scrape-artifact removal, language, tokens.

Light on purpose (``moodrec.text.config`` is a leaf): import from ``cleaning``
(``clean_lyrics``, ``strip_artifacts``) and ``config`` (``LyricsConfig``).
"""
