"""Lyric topics (pure, no Prefect): corpus, LDA sweep and selection, topic embedding."""
