"""Prefect task: publish checkpoints and stage summaries as artifacts with stable keys."""

from __future__ import annotations

import re
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from moodrec.report.checkpoints import describe_checkpoint, summary_markdown, summary_rows
from moodrec.storage import DatasetRef
from moodrec.tasks.cache_policy import PUBLISH_CACHE


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lower-case letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")


def run_profile() -> str:
    """The profile of the flow run this task runs in (its ``profile`` parameter; a YAML
    path gives its file stem), ``"moodrec"`` outside a flow run."""
    from pathlib import Path

    from prefect.runtime import flow_run

    profile = (flow_run.parameters or {}).get("profile") if flow_run.id else None
    return Path(str(profile)).stem if profile else "moodrec"


def profile_key(*parts: str) -> str:
    """An artifact key prefixed with the current flow run's profile (``tiny-enrich-progress``):
    runs of different profiles keep apart histories in the UI."""
    return artifact_key(run_profile(), *parts)


@task(name="publish-checkpoints", cache_policy=PUBLISH_CACHE, persist_result=True)
def publish_checkpoints(
    stage: str, refs: dict[str, DatasetRef], summary: dict[str, Any], profile: str, synthetic: bool
) -> list[dict[str, Any]]:
    """Publish one table of checkpoints, one table and one Markdown report of the summary.

    Cached on the checkpoints (:data:`~moodrec.tasks.cache_policy.PUBLISH_CACHE`): an unchanged
    re-run adds no new artifact versions; the ones of the run that made the files stay.
    """
    rows = [describe_checkpoint(ref) for ref in refs.values()]
    note = " (synthetic sandbox data)" if synthetic else ""
    create_table_artifact(
        key=artifact_key(profile, stage, "checkpoints"),
        table=rows,
        description=f"{stage} checkpoints of profile {profile}{note}: rows, columns, fingerprint",
    )
    create_table_artifact(
        key=artifact_key(profile, stage, "summary"),
        table=summary_rows(summary),
        description=f"{stage} summary of profile {profile}{note}",
    )
    create_markdown_artifact(
        key=artifact_key(profile, stage, "report"),
        markdown=summary_markdown(f"{stage}: {profile}", summary, synthetic=synthetic),
        description=f"{stage} report of profile {profile}{note}",
    )
    return rows
