"""Prefect tasks of the enrichment stage: plan once, probe once, one task per batch, combine.

Secrets are read from the environment inside the tasks (never task inputs, so they are in
no cache key, parameter record or result). In a sandbox run (``sandbox=True``) the tasks use
the fixed sandbox credentials that the local fake servers accept instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from prefect import Task, get_run_logger, task
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from moodrec.catalogue import Catalogue
from moodrec.config.schema import Secrets
from moodrec.enrich.cache import EnrichCache, cache_path
from moodrec.enrich.stage import (
    EnrichConfig,
    build_providers,
    clear_part,
    combine_parts,
    enrich_batch,
    part_done,
    read_batch,
    write_part,
    write_plan,
)
from moodrec.providers.base import ProviderError
from moodrec.storage import DatasetRef

ENRICH_DIR = ("features", "enrich")


def enrich_dir(data_dir: str) -> Path:
    """``<data_dir>/features/enrich``: plan, parts and combined enrichment tables."""
    return Catalogue(data_dir).layer_dir(ENRICH_DIR[0]) / ENRICH_DIR[1]


def _secrets(profile: str, sandbox: bool) -> Secrets:
    if sandbox:
        from moodrec.sandbox.servers import sandbox_secrets

        return sandbox_secrets()
    from moodrec.config import load_settings

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


@task(name="enrich-plan")
def plan_enrichment(tracks: DatasetRef, cfg: EnrichConfig, data_dir: str) -> dict[str, Any]:
    """Select and split the catalogue once; returns the plan path and the batch keys."""
    plan = enrich_dir(data_dir) / "enrich_plan.parquet"
    keys = write_plan(Path(tracks.path), cfg, plan)
    n_catalogue = int(pl.scan_parquet(tracks.path).select(pl.len()).collect().item())
    n_planned = int(pl.scan_parquet(plan).select(pl.len()).collect().item())
    get_run_logger().info(
        "enrichment plan: %d of %d tracks in %d batches", n_planned, n_catalogue, len(keys)
    )
    return {"plan": str(plan), "keys": keys, "n_catalogue": n_catalogue, "n_planned": n_planned}


@task(name="enrich-probe")
def probe_providers(
    cfg: EnrichConfig, profile: str, data_dir: str, sandbox: bool = False
) -> dict[str, dict[str, str]]:
    """Probe each provider's reach once per run, unless a cached probe is still fresh."""
    with open_cache(cfg, data_dir) as cache:
        caps = build_providers(cfg, _secrets(profile, sandbox)).probe(cache)
    get_run_logger().info("provider capabilities: %s", caps)
    return caps


@task(
    name="enrich-batch",
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

    Reads only its own rows of the plan. ``refresh`` redoes a finished batch: keys past their
    cache TTL (or failed) are fetched again, the others come from the cache. Returns
    ``{"key", "n_tracks", "ran"}``.
    """
    parts = enrich_dir(data_dir) / "enrich_parts"
    if refresh:
        clear_part(parts, key)
    batch = read_batch(Path(plan), key)
    if part_done(parts, key):
        return {"key": key, "n_tracks": batch.height, "ran": False}
    providers = build_providers(cfg, _secrets(profile, sandbox))
    providers.capabilities = capabilities
    if providers.spotify is not None and "spotify" in capabilities:
        providers.spotify.capabilities = dict(capabilities["spotify"])
    with open_cache(cfg, data_dir) as cache:
        tables = enrich_batch(batch, cfg, providers, cache)  # commits the cache first
    write_part(parts, key, tables)
    get_run_logger().info("batch %s (%d tracks) done", key, batch.height)
    return {"key": key, "n_tracks": batch.height, "ran": True}


@task(name="enrich-stale")
def count_stale(cfg: EnrichConfig, data_dir: str) -> int:
    """Cached answers past their TTL (what a refresh will fetch again)."""
    with open_cache(cfg, data_dir) as cache:
        n = 0 if cache is None else sum(1 for _ in cache.stale())
    get_run_logger().info("%d cached answers past their TTL", n)
    return n


@task(name="enrich-combine")
def combine_enrichment(
    keys: list[str], capabilities: dict[str, dict[str, str]], data_dir: str
) -> dict[str, Any]:
    """Combine the finished batch parts, register the tables, publish coverage tables."""
    out = enrich_dir(data_dir)
    outputs, report = combine_parts(out / "enrich_parts", keys, out, capabilities)
    refs = Catalogue(data_dir).register_many(outputs)
    rows = [{"capability": cap, **counts} for cap, counts in report["coverage"].items()]
    create_table_artifact(rows, key="enrich-coverage", description="tracks by final status")
    rows = [
        {"capability": cap, "provider": prov, **counts}
        for cap, provs in report["by_provider"].items()
        for prov, counts in provs.items()
    ]
    create_table_artifact(
        rows, key="enrich-coverage-by-provider", description="tracks by provider and status"
    )
    rows = [
        {"table": table, "field": field, "non_empty": n}
        for table, counts in report["fields"].items()
        for field, n in counts.items()
    ]
    create_table_artifact(rows, key="enrich-field-coverage", description="non-empty values")
    return {"refs": refs, "report": report}


def start_progress(total: int) -> Any:
    """A progress artifact for ``tracks done / total``."""
    return create_progress_artifact(0.0, key="enrich-progress", description=f"{total} tracks")


def update_progress(artifact_id: Any, done: int, total: int) -> None:
    """Set the progress artifact to ``done / total`` percent."""
    update_progress_artifact(artifact_id, 100.0 * done / max(total, 1))
