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
