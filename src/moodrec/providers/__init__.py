"""Metadata providers (pure, no Prefect): Spotify, Genius, LRCLIB, a features file, and the
open sources MusicBrainz, Last.fm tags and Deezer.

Each provider is one client module (``spotify.py``, ``genius.py``, ``lrclib.py``,
``features_file.py``, ``musicbrainz.py``, ``lastfm_tags.py``, ``deezer.py``; the keyless JSON
APIs share ``jsonapi.py``, and ``genre_vocab.py`` says which tags are genres) behind the
shared contract in :mod:`moodrec.providers.base` (statuses,
:class:`~moodrec.providers.base.ProviderError`, retries) and the per-host limiter in
:mod:`moodrec.providers.ratelimit`; its settings model lives in the leaf
:mod:`moodrec.providers.config`. Adding a provider: a settings model in ``config.py``, a
client module here, a field in :class:`~moodrec.enrich.config.EnrichConfig` and a line in
:func:`~moodrec.enrich.clients.build_providers`. This package imports nothing on its own, so
loading the config never loads an HTTP client.
"""
