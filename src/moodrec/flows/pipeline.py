"""``pipeline_flow``: the whole pipeline, one stage flow after another."""

from __future__ import annotations

from typing import Any

from prefect import flow

from moodrec.flows.ingest import ingest_flow
from moodrec.flows.logs import profile_flow


@flow(name="moodrec-pipeline")
def pipeline_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run every stage that exists so far for ``profile``.

    Stages land one issue at a time: ingest (with the sandbox world when the profile's
    ``ingest.source`` is ``sandbox``), then the dataset profile report.
    """
    results: dict[str, Any] = {"ingest": ingest_flow(profile, overrides)}
    results["profile"] = profile_flow(profile, overrides)
    return results
