"""Prefect tasks of the enrichment stage: plan once, probe once, one task per batch, combine.

Secrets are read from the environment inside the tasks (never task inputs, so they are in
no cache key, parameter record or result). In a sandbox run (``sandbox=True``) the tasks use
the fixed sandbox credentials that the local fake servers accept instead.

Every task is cached (:data:`ENRICH_CACHE`) on its inputs' content, the settings that shape
the answers and its own source, so an unchanged re-run is ``Cached`` throughout. Transport
settings (URLs — the sandbox servers get new ports every run —, rates, retries, TTLs) are
not in the key. The provider probe's cached result expires after ``cache.probe_ttl_s``, so a
later run probes again, and is keyed on a salted fingerprint of the credentials and the
providers' settings and URLs (:func:`probe_fingerprint`), so other credentials probe again.

Only settled work is served from the cache: a batch whose part is missing or has an
unsettled key (``error``, ``blocked``, ``rate_limited``, an unexplained ``unavailable``)
is submitted with ``refresh_cache`` (:func:`batch_needs_run`, decided by the flow before
each submission), so the next plain run redoes it, asking only for those keys (the settled
ones come from the per-key cache), and its new result replaces the cached one. (A cache
key that is withheld until the part is settled would never store the first run's result,
since Prefect computes the key before the task runs: every unchanged re-run would then
run each batch again.) The batches are keyed on the probed
capabilities, so a changed probe redoes them too. The per-batch ``_done.json`` markers stay:
a run killed between a batch's write and its task result resumes from them.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import polars as pl
from prefect import Task, get_run_logger, task
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE, TASK_SOURCE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from moodrec.catalogue import Catalogue
from moodrec.config.base import Secrets
from moodrec.enrich.batch import enrich_batch
from moodrec.enrich.cache import EnrichCache, cache_path
from moodrec.enrich.clients import build_providers, reach_digest
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.parts import TABLES, clear_part, combine_parts, part_done, write_part
from moodrec.enrich.plan import read_batch, result_settings, write_plan
from moodrec.providers.base import ProviderError
from moodrec.storage import DatasetRef, describe_file
from moodrec.tasks.artifacts import profile_key
from moodrec.tasks.cache_policy import ContentKey

ENRICH_DIR = ("features", "enrich")


def _answer_settings(inputs: dict[str, Any]) -> dict[str, Any]:
    """Content key of an enrichment task: an ``EnrichConfig`` input counts only by the
    settings that shape the answers (the same ones the batch keys hash), not by where and
    how fast the providers are asked."""
    return {
        k: json.loads(result_settings(v)) if isinstance(v, EnrichConfig) else v
        for k, v in inputs.items()
    }


#: answer-shaping config + inputs' content + the task's source
ENRICH_CACHE = ContentKey(key_inputs=_answer_settings) + TASK_SOURCE


def enrich_dir(data_dir: str) -> Path:
    """``<data_dir>/features/enrich``: plan, parts and combined enrichment tables."""
    return Catalogue(data_dir).layer_dir(ENRICH_DIR[0]) / ENRICH_DIR[1]


def batch_needs_run(data_dir: str, key: str, capabilities: dict[str, dict[str, str]]) -> bool:
    """Whether batch ``key`` must run rather than be served from the cache: its part is
    missing or has unsettled keys, or was made under other probed capabilities (see
    ``part_done``)."""
    return not part_done(enrich_dir(data_dir) / "enrich_parts", key, capabilities)


def _secrets(profile: str, sandbox: bool) -> Secrets:
    if sandbox:
        from moodrec.sandbox.servers import sandbox_secrets

        return sandbox_secrets()
    from moodrec.config.loader import load_settings

    return load_settings(profile).secrets


class _NoCache:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def open_cache(cfg: EnrichConfig, data_dir: str) -> Any:
    """The per-key answer cache ``<data_dir>/cache/enrich.sqlite`` (a no-op when disabled)."""
    if not cfg.cache.enabled:
        return _NoCache()
    return EnrichCache(cache_path(data_dir), cfg.cache)


def retry_only_retryable(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """``retry_condition_fn``: retry 429 (incl. over-cap Retry-After), 5xx, transport errors."""
    try:
        state.result()
    except ProviderError as exc:
        return exc.retryable
    except Exception:
        return False
    return False


@task(name="enrich-plan", cache_policy=ENRICH_CACHE, persist_result=True)
def plan_enrichment(tracks: DatasetRef, cfg: EnrichConfig, data_dir: str) -> dict[str, Any]:
    """Select and split the catalogue once.

    Returns the plan path, its ``refs`` (``enrich_plan``), the batch keys and the counts.
    """
    plan = enrich_dir(data_dir) / "enrich_plan.parquet"
    keys = write_plan(Path(tracks.path), cfg, plan)
    n_catalogue = int(pl.scan_parquet(tracks.path).select(pl.len()).collect().item())
    n_planned = int(pl.scan_parquet(plan).select(pl.len()).collect().item())
    get_run_logger().info(
        "enrichment plan: %d of %d tracks in %d batches", n_planned, n_catalogue, len(keys)
    )
    return {
        "plan": str(plan),
        "refs": Catalogue(data_dir).register_many({"enrich_plan": plan}),
        "keys": keys,
        "n_catalogue": n_catalogue,
        "n_planned": n_planned,
    }


def probe_fingerprint(cfg: EnrichConfig, profile: str, data_dir: str, sandbox: bool) -> str:
    """The salted fingerprint of the credentials, provider settings and URLs (a sandbox run's
    URLs change every run and are left out): the probe's cache key, never the secrets.

    ``""`` when the answer cache is disabled (the probe then runs every time).
    """
    if not cfg.cache.enabled:
        return ""
    digest = reach_digest(cfg, _secrets(profile, sandbox), with_urls=not sandbox)
    with open_cache(cfg, data_dir) as cache:
        return str(cache.fingerprint(digest))


@task(name="enrich-probe", cache_policy=ENRICH_CACHE, persist_result=True)
def probe_providers(
    cfg: EnrichConfig,
    profile: str,
    data_dir: str,
    sandbox: bool = False,
    fingerprint: str = "",
) -> dict[str, dict[str, str]]:
    """Probe each provider's reach once per run, unless a cached probe is still fresh.

    ``fingerprint`` (:func:`probe_fingerprint`) is read only by the cache key: other
    credentials or provider settings probe again.
    """
    with open_cache(cfg, data_dir) as cache:
        providers = build_providers(cfg, _secrets(profile, sandbox), with_urls=not sandbox)
        caps = providers.probe(cache)
    get_run_logger().info("provider capabilities: %s", caps)
    return caps


def probe_task(cfg: EnrichConfig) -> Task[..., dict[str, dict[str, str]]]:
    """:func:`probe_providers` whose cached result expires after ``cache.probe_ttl_s``.

    A zero TTL (or a disabled answer cache) probes on every run.
    """
    ttl = cfg.cache.probe_ttl_s
    if ttl <= 0 or not cfg.cache.enabled:
        return probe_providers.with_options(cache_policy=NO_CACHE)
    return probe_providers.with_options(cache_expiration=datetime.timedelta(seconds=ttl))


@task(
    name="enrich-batch",
    cache_policy=ENRICH_CACHE,
    persist_result=True,
    retries=3,
    retry_delay_seconds=[30, 120, 600],
    retry_condition_fn=retry_only_retryable,
)
def enrich_batch_task(
    plan: str,
    key: str,
    cfg: EnrichConfig,
    capabilities: dict[str, dict[str, str]],
    data_dir: str,
    profile: str,
    refresh: bool = False,
    sandbox: bool = False,
) -> dict[str, Any]:
    """Enrich one batch (thousands of tracks) unless its part is already done.

    Reads only its own rows of the plan. A part with unsettled keys is not done: the batch
    runs again, and only those keys reach the network. ``refresh`` redoes a finished batch:
    keys past their cache TTL are fetched again, the others come from the cache. Returns
    ``{"key", "n_tracks", "ran", "n_unsettled", "refs"}`` (``refs``: the part's tables, by
    content, so that the combine task's cache key sees them).
    """
    parts = enrich_dir(data_dir) / "enrich_parts"
    if refresh:
        clear_part(parts, key)
    batch = read_batch(Path(plan), key)
    if part_done(parts, key, capabilities):
        return {
            "key": key,
            "n_tracks": batch.height,
            "ran": False,
            "n_unsettled": 0,
            "refs": part_refs(parts, key),
        }
    providers = build_providers(cfg, _secrets(profile, sandbox), with_urls=not sandbox)
    providers.capabilities = capabilities
    # one scan of the local dumps for the whole plan (later batches reuse its extract)
    providers.prepare(pl.read_parquet(plan, columns=["track_mbid"]), enrich_dir(data_dir))
    if providers.spotify is not None and "spotify" in capabilities:
        providers.spotify.capabilities = dict(capabilities["spotify"])
    with open_cache(cfg, data_dir) as cache:
        tables = enrich_batch(batch, cfg, providers, cache)  # commits the cache first
    n_unsettled = write_part(parts, key, tables, capabilities, providers.live_capabilities())
    log = get_run_logger()
    if n_unsettled:
        log.warning("batch %s: %d answers unsettled; the next run asks again", key, n_unsettled)
    log.info("batch %s (%d tracks) done", key, batch.height)
    return {
        "key": key,
        "n_tracks": batch.height,
        "ran": True,
        "n_unsettled": n_unsettled,
        "refs": part_refs(parts, key),
    }


def part_refs(parts_dir: Path, key: str) -> dict[str, DatasetRef]:
    """The tables of batch ``key``'s part, fingerprinted (not recorded in the manifest)."""
    return {
        f"enrich_part_{key}_{name}": describe_file(
            f"enrich_part_{key}_{name}", parts_dir / key / f"{name}.parquet"
        )
        for name in TABLES
    }


@task(name="enrich-stale")
def count_stale(cfg: EnrichConfig, data_dir: str) -> int:
    """Cached answers past their TTL (what a refresh will fetch again)."""
    with open_cache(cfg, data_dir) as cache:
        n = 0 if cache is None else sum(1 for _ in cache.stale())
    get_run_logger().info("%d cached answers past their TTL", n)
    return n


@task(name="enrich-combine", cache_policy=ENRICH_CACHE, persist_result=True)
def combine_enrichment(
    keys: list[str],
    capabilities: dict[str, dict[str, str]],
    data_dir: str,
    parts: dict[str, DatasetRef] | None = None,
) -> dict[str, Any]:
    """Combine the finished batch parts, register the tables, publish coverage tables.

    ``parts`` (the batches' part tables by content) is read only by the cache key.
    """
    out = enrich_dir(data_dir)
    outputs, report = combine_parts(out / "enrich_parts", keys, out, capabilities)
    refs = Catalogue(data_dir).register_many(outputs)
    rows = [{"capability": cap, **counts} for cap, counts in report["coverage"].items()]
    create_table_artifact(
        rows, key=profile_key("enrich-coverage"), description="tracks by final status"
    )
    rows = [
        {"capability": cap, "provider": prov, **counts}
        for cap, provs in report["by_provider"].items()
        for prov, counts in provs.items()
    ]
    create_table_artifact(
        rows,
        key=profile_key("enrich-coverage-by-provider"),
        description="tracks by provider and status",
    )
    rows = [
        {"table": table, "field": field, "non_empty": n}
        for table, counts in report["fields"].items()
        for field, n in counts.items()
    ]
    create_table_artifact(
        rows, key=profile_key("enrich-field-coverage"), description="non-empty values"
    )
    return {"refs": refs, "report": report}


def start_progress(total: int) -> Any:
    """A progress artifact for ``tracks done / total``."""
    return create_progress_artifact(
        0.0, key=profile_key("enrich-progress"), description=f"{total} tracks"
    )


def update_progress(artifact_id: Any, done: int, total: int) -> None:
    """Set the progress artifact to ``done / total`` percent."""
    update_progress_artifact(artifact_id, 100.0 * done / max(total, 1))
