"""Clustering of tracks by audio features or lyric-topic vectors (pure code, no Prefect)."""
