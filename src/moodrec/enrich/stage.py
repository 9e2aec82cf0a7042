"""Enrich the track catalogue through the configured providers, batch by batch (resumable).

Input: ``interim/tracks.parquet`` (``track_id, track_mbid, artist_id, artist_name,
track_name`` are used; ``n_events`` for ``max_tracks``). The stage, one job per module:

- :mod:`moodrec.enrich.config`   settings (a leaf: providers, order, batches, cache, fakes);
- :mod:`moodrec.enrich.clients`  the provider clients of a run, probed once;
- :mod:`moodrec.enrich.plan`     the tracks selected and split into keyed batches, once;
- :mod:`moodrec.enrich.batch`    one batch: link → audio features → (MusicBrainz recording →
  artist tags) → artist genres → lyrics → (track tags → Deezer bpm/gain), MBID first; the
  steps in :mod:`moodrec.enrich.steps` and :mod:`moodrec.enrich.open_steps`, the cached,
  recorded provider call and thread map in :mod:`moodrec.enrich.lookups`;
- :mod:`moodrec.enrich.parts`    per-batch part tables (resume markers), combined at the end;
- :mod:`moodrec.enrich.coverage` the ``enrich_coverage.json`` report;
- :mod:`moodrec.enrich.cache`    the per-key answer cache (SQLite);
- :mod:`moodrec.enrich.outputs`  the combined tables read back by later stages.

:func:`run_enrichment` runs them in one process (tests, benchmarks); the Prefect tasks in
:mod:`moodrec.tasks.enrich` run the same steps with one task per batch.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from moodrec.enrich.batch import enrich_batch
from moodrec.enrich.cache import EnrichCache
from moodrec.enrich.clients import Providers
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.parts import clear_part, combine_parts, part_done, write_part
from moodrec.enrich.plan import plan_batches, select_tracks
from moodrec.providers.ratelimit import HOST_BREAKERS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrichResult:
    """Paths of the combined tables and the coverage report."""

    outputs: dict[str, Path]
    coverage: dict[str, Any]
    n_batches: int
    n_batches_run: int


def run_enrichment(
    tracks_path: Path,
    out_dir: Path,
    cfg: EnrichConfig,
    providers: Providers,
    *,
    on_batch: Callable[[int, int], None] | None = None,
    cache: EnrichCache | None = None,
    refresh: bool = False,
) -> EnrichResult:
    """Enrich a catalogue, resuming from finished batches in ``out_dir/enrich_parts``.

    Parameters
    ----------
    tracks_path
        ``tracks.parquet`` of the ingest stage.
    out_dir
        Where parts and the combined tables go.
    cfg
        Stage config.
    providers
        Clients (:func:`build_providers`); probed once here.
    on_batch
        Called with ``(batches done, total)`` after each batch (progress reporting).
    cache
        The per-key answer cache (:class:`~moodrec.enrich.cache.EnrichCache`), committed
        after each batch; ``None`` asks the network for every key.
    refresh
        Redo finished batches too: with a cache, only keys past their TTL reach the network;
        the rest are answered from the cache. (A batch with an unsettled key is redone by
        every run, refresh or not.)

    Raises
    ------
    RateLimitExceeded
        A provider asked to wait beyond its cap; finished batches are kept.
    CacheError
        The cache file is corrupt or locked (it is left untouched).
    """
    HOST_BREAKERS.reset()  # hosts found unreachable by an earlier run are tried again
    tracks = pl.read_parquet(tracks_path)
    batches = plan_batches(tracks, cfg)
    parts_dir = Path(out_dir) / "enrich_parts"
    capabilities = copy.deepcopy(providers.probe(cache))  # as probed: the parts' key
    providers.prepare(select_tracks(tracks, cfg), out_dir)
    n_run = 0
    for i, (key, batch) in enumerate(batches):
        if refresh:
            clear_part(parts_dir, key)
        if not part_done(parts_dir, key, capabilities):
            tables = enrich_batch(batch, cfg, providers, cache)
            write_part(parts_dir, key, tables, capabilities, providers.live_capabilities())
            n_run += 1
        if on_batch is not None:
            on_batch(i + 1, len(batches))
    outputs, report = combine_parts(parts_dir, [k for k, _ in batches], Path(out_dir), capabilities)
    report["unreachable_hosts"] = HOST_BREAKERS.unreachable()
    logger.info("enrichment coverage: %s", report["coverage"])
    return EnrichResult(outputs, report, len(batches), n_run)
