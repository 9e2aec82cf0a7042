"""Deployments: the full pipeline (typed parameter form) and the scheduled metadata refresh.

``serve_deployments`` serves them from this process with ``prefect.serve`` (what
``moodrec serve`` runs): runs triggered from the UI or the schedule execute here. For a work
pool and workers use ``prefect.yaml`` at the repository root instead (``docs/orchestration.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moodrec.config.loader import load_settings

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

PIPELINE_DESCRIPTION = (
    "The whole moodrec pipeline for one config profile: ingest → profile → enrich → topics → "
    "clusters → genres → train → evaluate → ablation → session → report. Every task is cached "
    "on its inputs' content, its config and its source, so an unchanged re-run does no work. "
    "'options' is a form: seed, stages to skip, task runner (thread | dask)."
)
REFRESH_DESCRIPTION = (
    "Re-fetch enrichment answers older than their TTL (and failed keys), then rebuild the "
    "enrichment tables. Fresh answers come from the cache."
)


def build_deployments(profile: str = "demo") -> list[RunnerDeployment]:
    """The deployments of ``profile``: the pipeline and ``refresh_metadata_flow``.

    Names, tags and the refresh cron come from ``orchestration.deployments`` of the profile
    (validated here, before anything is registered).

    Returns
    -------
    list of RunnerDeployment
        ``[pipeline, refresh]``; the refresh one carries the cron schedule (none when
        ``refresh_cron`` is null).
    """
    from prefect.schedules import Cron

    from moodrec.flows.enrich import refresh_metadata_flow
    from moodrec.flows.pipeline import pipeline_flow

    d = load_settings(profile).orchestration.deployments
    params: dict[str, Any] = {"profile": profile}
    pipeline = pipeline_flow.to_deployment(
        name=d.pipeline_name,
        parameters=params,
        tags=[*d.tags, profile],
        description=PIPELINE_DESCRIPTION,
    )
    refresh = refresh_metadata_flow.to_deployment(
        name=d.refresh_name,
        parameters=params,
        schedules=[Cron(d.refresh_cron, timezone=d.timezone)] if d.refresh_cron else None,
        tags=[*d.tags, profile, "refresh"],
        description=REFRESH_DESCRIPTION,
    )
    return [pipeline, refresh]


def serve_deployments(profile: str = "demo", *, limit: int | None = None) -> None:
    """Serve the deployments of ``profile`` until interrupted (``moodrec serve``).

    Needs a Prefect server (``PREFECT_API_URL``); runs triggered from the UI, the API or the
    schedule execute in this process, at most ``limit`` at a time.
    """
    from prefect import serve

    serve(*build_deployments(profile), limit=limit)
