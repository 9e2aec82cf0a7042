"""Ingest stage: a Last.fm-1K-layout listening log → canonical Parquet tables (pure code).

Light on purpose (``moodrec.ingest.config`` is a leaf): import from the modules —
``lastfm1k`` (``ingest_lastfm1k``), ``summary``, ``hetrec``, ``scrobbles``, ``download``.
"""
