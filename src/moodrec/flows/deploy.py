"""Deployments: the full pipeline (typed parameter form) and the scheduled metadata refresh.

``serve_deployments`` serves them from this process with ``prefect.serve`` (what
``moodrec serve`` runs): runs triggered from the UI or the schedule execute here. For a work
pool and workers use ``prefect.yaml`` at the repository root instead (``docs/orchestration.md``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from moodrec.config.loader import available_profiles, load_settings
from moodrec.errors import ApiServerError

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

logger = logging.getLogger(__name__)

PIPELINE_DESCRIPTION = (
    "The whole moodrec pipeline for one config profile: ingest → profile → enrich → topics → "
    "clusters → genres → train → evaluate → ablation → session → report. Every task is cached "
    "on its inputs' content, its config and its source, so an unchanged re-run does no work. "
    "seed, skip (stages not to run) and task_runner (thread | dask) are the form's own "
    "fields; 'replace' writes over a folder of another configuration."
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
    # the form offers the profiles there are (a free-text field let typos through)
    choices = sorted({*available_profiles(), profile})
    for deployment in (pipeline, refresh):
        prop = deployment._parameter_openapi_schema.properties.get("profile")
        if prop is not None:
            prop["enum"] = choices
    return [pipeline, refresh]


def serve_deployments(profile: str = "demo", *, limit: int | None = None) -> None:
    """Serve the deployments of ``profile`` until interrupted (``moodrec serve``).

    Needs a Prefect server (``PREFECT_API_URL``); runs triggered from the UI, the API or the
    schedule execute in this process, at most ``limit`` at a time.
    """
    import signal

    from prefect import serve

    require_api()
    deployments = build_deployments(profile)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # prefect.serve shuts its runner down on it, quietly

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        serve(*deployments, limit=limit)
    except KeyboardInterrupt:
        logger.info("stopped serving the deployments of %s", profile)
    finally:
        signal.signal(signal.SIGTERM, previous)


def require_api(timeout_s: float = 5.0) -> str:
    """The configured Prefect API URL, after checking that it answers.

    Raises
    ------
    ApiServerError
        ``PREFECT_API_URL`` is not set (a temporary server would have no UI and vanish
        with the command) or the server does not answer its health check.
    """
    import httpx
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise ApiServerError(
            "moodrec serve needs a Prefect server: start one (prefect server start, or "
            "docker compose up) and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)"
        )
    try:
        ok = httpx.get(f"{str(url).rstrip('/')}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError as exc:
        raise ApiServerError(f"the Prefect API at {url} does not answer ({exc})") from None
    if not ok:
        raise ApiServerError(f"the Prefect API at {url} is not healthy (GET /health)")
    return str(url)
