"""Enrich one batch of tracks: link → audio features → (MusicBrainz recording → artist
tags) → artist genres → lyrics → (track tags → Deezer audio).

The steps in brackets are the open sources (MusicBrainz, Last.fm, Deezer; issue 17); each
does nothing when its provider is not set up. MusicBrainz runs first among them, MBID first:
its recording gives the artist MBID and the ISRC that Last.fm and Deezer are then asked by.

Each capability asks its providers in the configured order (``features_order``,
``genres_order``, ``lyrics_order``) and keeps the first ``found`` answer; every attempt is a
row of ``enrich_status``. Every answer is looked up in the per-key cache first and stored
there. Per-track lookups (links, lyrics) run on ``workers`` threads; results are gathered in
catalogue order, so the tables do not depend on thread timing.

The steps: :mod:`moodrec.enrich.steps` (link, features, moods, genres, lyrics) and
:mod:`moodrec.enrich.open_steps` (the open sources); the cached, recorded provider call and
the thread map: :mod:`moodrec.enrich.lookups`. Adding a provider to a capability: its client
on :class:`~moodrec.enrich.clients.Providers` and a branch in that capability's ``_*_answer``
function in :mod:`moodrec.enrich.steps`.
"""

from __future__ import annotations

import polars as pl

from moodrec.enrich.cache import EnrichCache
from moodrec.enrich.clients import Providers
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.lookups import BatchContext, Row
from moodrec.enrich.open_steps import artist_tags, recordings, track_audio, track_tags
from moodrec.enrich.parts import part_tables
from moodrec.enrich.steps import artist_genres, audio_features, link_tracks, lyrics, track_moods


def enrich_batch(
    batch: pl.DataFrame,
    cfg: EnrichConfig,
    providers: Providers,
    cache: EnrichCache | None = None,
) -> dict[str, pl.DataFrame]:
    """Enrich one batch of tracks; returns the part tables (see :mod:`moodrec.enrich.parts`).

    Every answer is looked up in ``cache`` first and stored there; the cache is committed
    once at the end of the batch (also when it fails, keeping every answer already got).

    Raises
    ------
    RateLimitExceeded
        A server asked to wait beyond the cap; the whole batch must be retried later.
    CacheError
        The cache file is corrupt or locked.
    """
    try:
        return _enrich_batch(BatchContext(batch.to_dicts(), cfg, providers, cache))
    finally:
        if cache is not None:
            cache.commit()


def _enrich_batch(b: BatchContext) -> dict[str, pl.DataFrame]:
    status: list[Row] = []
    tables: dict[str, list[Row]] = {"enrich_status": status}
    for name, step in (
        ("track_links", link_tracks),
        ("track_features", audio_features),
        ("track_ids", recordings),
        ("artist_tags", artist_tags),
        ("artist_genres", artist_genres),
        ("lyrics_raw", lyrics),
        ("track_tags", track_tags),
        ("track_audio", track_audio),
        ("track_moods", track_moods),
    ):
        step_status, values = step(b)
        status += step_status
        tables[name] = values
    return part_tables(tables)
