"""``enrich_flow``: every configured provider over the track catalogue, in batches.

Every run redoes the batches with unsettled keys (``error``, ``blocked``, ``rate_limited``,
an unexplained ``unavailable``): only those keys go to the network again, and a change of
credentials or provider settings probes again (``moodrec enrich``).
``refresh_metadata_flow`` (for a cron schedule, ``moodrec enrich --refresh``) redoes every
batch with the per-key cache: only answers past their TTL go to the network again.

In a sandbox run (``ingest.source: sandbox``) the flow itself starts the fake Spotify /
Genius / LRCLIB servers of the sandbox world on free 127.0.0.1 ports for the duration of the
run (behaviour and faults from ``enrich.sandbox_servers``), points the providers at them with
the sandbox credentials, and stops them afterwards: no other set-up is needed. They index the
world and serve only from the first request on, so a re-run whose batches are all cached
does not pay for them.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from prefect import flow

from moodrec import progress as progress_events
from moodrec.catalogue import Catalogue
from moodrec.config.schema import is_synthetic_source
from moodrec.enrich.clients import with_base_urls, with_sandbox_dumps
from moodrec.enrich.config import EnrichConfig
from moodrec.errors import StageIncompleteError
from moodrec.flows.common import sandbox_world, stage_settings
from moodrec.locking import data_folder_lock
from moodrec.providers.ratelimit import HOST_BREAKERS
from moodrec.tasks.artifacts import publish_checkpoints
from moodrec.tasks.checkpoints import refs_intact, run_checkpoint_task
from moodrec.tasks.enrich import (
    batch_needs_run,
    combine_enrichment,
    count_stale,
    enrich_batch_task,
    plan_enrichment,
    probe_fingerprint,
    probe_task,
    retry_only_retryable,
    start_progress,
    update_progress,
)
from moodrec.tasks.sandbox import world_dir

logger = logging.getLogger(__name__)


@flow(name="enrich", log_prints=False)
def enrich_flow(
    profile: str = "demo",
    overrides: dict[str, Any] | None = None,
    cfg: EnrichConfig | None = None,
) -> dict[str, Any]:
    """Enrichment stage: tracks → track links, audio features, artist genres, lyrics.

    Parameters
    ----------
    profile
        Config profile name or path.
    overrides
        Nested setting overrides (never secrets), e.g. ``{"enrich": {"max_tracks": 100}}``.
    cfg
        Replaces ``settings.enrich`` (tests).

    Returns
    -------
    dict
        ``data_dir``, ``refs`` (the combined tables), ``report`` (coverage per capability,
        provider and field, unreachable capabilities), ``summary`` (what the artifacts show,
        including the sandbox servers' request counts), ``complete`` (every batch done),
        ``not_done`` (batches that failed, with the reason) and, in a sandbox run,
        ``sandbox_urls`` (where the servers ran; they are stopped when the flow returns).

    Raises
    ------
    StageIncompleteError
        Batches were planned but none was done (e.g. every one rate-limited beyond the
        retry cap): the message says how many tracks settled; ``.result`` holds the rest.
    """
    return _enrich(profile, overrides, cfg, refresh=False)


@flow(name="refresh-metadata", log_prints=False)
def refresh_metadata_flow(
    profile: str = "demo",
    overrides: dict[str, Any] | None = None,
    cfg: EnrichConfig | None = None,
) -> dict[str, Any]:
    """Re-fetch cached answers older than their TTL (and unsettled keys); rebuild the tables.

    Parameters are those of :func:`enrich_flow`. Fresh answers come from the cache, so a
    refresh with nothing expired sends no request.
    """
    return _enrich(profile, overrides, cfg, refresh=True)


def _enrich(
    profile: str, overrides: dict[str, Any] | None, cfg: EnrichConfig | None, *, refresh: bool
) -> dict[str, Any]:
    settings, data_dir = stage_settings(profile, overrides)
    cfg = cfg or settings.enrich
    sandbox = is_synthetic_source(settings)
    tracks = Catalogue(data_dir).ref("tracks")
    with contextlib.ExitStack() as stack:
        # one writer per data folder (re-entrant: the pipeline or a CLI command holds it)
        stack.enter_context(data_folder_lock(data_dir, command=f"enrich_flow({profile!r})"))
        servers = None
        if sandbox:
            from moodrec.sandbox.servers import sandbox_servers

            sandbox_world(settings, data_dir)
            truth = world_dir(data_dir, settings.sandbox) / "truth"
            # bound now, indexed and served from the first request: a cached run sends none
            servers = stack.enter_context(sandbox_servers(truth, cfg.sandbox_servers, lazy=True))
            cfg = with_sandbox_dumps(cfg, world_dir(data_dir, settings.sandbox))
            cfg = with_base_urls(
                cfg,
                spotify=servers.url("spotify"),
                genius=servers.url("genius"),
                lrclib=servers.url("lrclib"),
                musicbrainz=servers.url("musicbrainz"),
                lastfm_tags=servers.url("lastfm"),
                deezer=servers.url("deezer"),
            )
        result = _run_batches(cfg, tracks, profile, data_dir, refresh, sandbox)
        if servers is not None:
            result["sandbox_urls"] = {k: servers.url(k) for k in ("spotify", "genius", "lrclib")}
            result["summary"]["sandbox_servers"] = {
                "requests": servers.counts,
                "throttled_429": servers.throttled,
                "faults": servers.faults,
            }
    publish_checkpoints("enrich", result["refs"], result["summary"], settings.profile, sandbox)
    out = {"data_dir": data_dir, "synthetic": sandbox, **result}
    tracks_summary = result["summary"]["tracks"]
    if result["not_done"] and not tracks_summary["enriched"]:
        # nothing settled: a green stage here would hide that the run enriched nothing
        failed = result["not_done"]
        raise StageIncompleteError(
            f"enrich settled 0 of {tracks_summary['planned']} planned tracks: all "
            f"{len(failed)} batches were not done (first reason: {failed[0]['reason']}). "
            "Nothing of them is cached; the next run retries them.",
            out,
        )
    return out


def _run_batches(
    cfg: EnrichConfig, tracks: Any, profile: str, data_dir: str, refresh: bool, sandbox: bool
) -> dict[str, Any]:
    HOST_BREAKERS.reset()  # hosts found unreachable by an earlier run are tried again
    stale = count_stale(cfg, data_dir) if refresh else 0
    plan = run_checkpoint_task(plan_enrichment, tracks, cfg, data_dir, data_dir=data_dir)
    fingerprint = probe_fingerprint(cfg, profile, data_dir, sandbox)
    capabilities = probe_task(cfg)(cfg, profile, data_dir, sandbox, fingerprint)
    progress = start_progress(plan["n_planned"])
    batch_task = enrich_batch_task.with_options(
        retries=cfg.batch_retries,
        retry_delay_seconds=list(cfg.batch_retry_delays_s) or 0,
        retry_condition_fn=retry_only_retryable,
        # a refresh always redoes its batches (stale answers are fetched again)
        refresh_cache=refresh or None,
    )
    done: list[str] = []
    parts: dict[str, Any] = {}
    failed: list[dict[str, Any]] = []
    n_run = n_tracks = 0
    for key in plan["keys"]:
        args = (plan["plan"], key, cfg, capabilities, data_dir, profile)
        # only a settled part may be served from the cache; any other batch runs and its
        # result replaces the cached one
        run_it = (
            batch_task
            if not batch_needs_run(data_dir, key, capabilities)
            else (batch_task.with_options(refresh_cache=True))
        )
        state = run_it(*args, refresh, sandbox, return_state=True)
        if state.is_completed():
            info = state.result()
            if state.name == "Cached" and not refs_intact(info["refs"]):
                # its part changed or vanished since: rebuild it (answers from the cache)
                state = batch_task.with_options(refresh_cache=True)(
                    *args, True, sandbox, return_state=True
                )
        if state.is_completed():
            info = state.result()
            done.append(key)
            parts |= info["refs"]
            n_run += int(info["ran"] and state.name != "Cached")
            n_tracks += info["n_tracks"]
        else:
            # e.g. Retry-After beyond the cap even after Prefect's retries: the batch stays
            # not done (the next run or refresh redoes it), the others go on
            failed.append({"batch": key, "reason": str(state.message or state.type)})
            logger.warning("enrich batch %s not done: %s", key, state.message)
        update_progress(progress, n_tracks, plan["n_planned"])
        progress_events.step("enrich: tracks", n_tracks, plan["n_planned"])
    result = run_checkpoint_task(
        combine_enrichment,
        done,
        capabilities,
        data_dir,
        parts,
        data_dir=data_dir,
    )
    report = result["report"]
    summary = {
        "tracks": {
            "catalogue": plan["n_catalogue"],
            "planned": plan["n_planned"],
            "enriched": report["n_tracks"],
            "max_tracks": cfg.max_tracks if cfg.max_tracks is not None else "all",
        },
        "batches": {
            "total": len(plan["keys"]),
            "run": n_run,
            "from_parts": len(done) - n_run,
            "not_done": len(failed),
        },
        "stale_answers": stale,
        "coverage": report["coverage"],
        "by_provider": report["by_provider"],
        "fields": report["fields"],
        "unreachable": {
            f"{u['provider']}.{u['capability']}": u["status"] for u in report["unreachable"]
        },
        # hosts that refused connections or timed out in a row: their keys stay unsettled
        # (status error) and are asked again by the next run
        "unreachable_hosts": HOST_BREAKERS.unreachable(),
    }
    return {
        **result,
        "summary": summary,
        "stale": stale,
        "complete": not failed,
        "not_done": failed,
    }
