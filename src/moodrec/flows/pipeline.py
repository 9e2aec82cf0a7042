"""``pipeline_flow``: the whole pipeline, one stage flow after another."""

from __future__ import annotations

from typing import Any

from prefect import flow

from moodrec.flows.ingest import ingest_flow


@flow(name="moodrec-pipeline")
def pipeline_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run every stage that exists so far for ``profile``.

    Stages land one issue at a time; today that is ingest (with the sandbox world when the
    profile's ``ingest.source`` is ``sandbox``).
    """
    ingest = ingest_flow(profile, overrides)
    return {"ingest": ingest}
