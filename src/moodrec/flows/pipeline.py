"""``pipeline_flow``: the whole pipeline, one stage flow after another."""

from __future__ import annotations

from typing import Any

from prefect import flow

from moodrec.flows.genres import clusters_flow, genres_flow
from moodrec.flows.ingest import ingest_flow
from moodrec.flows.logs import profile_flow
from moodrec.flows.topics import topics_flow


@flow(name="moodrec-pipeline")
def pipeline_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run every stage that exists so far for ``profile``.

    Ingest (generating the sandbox world when ``ingest.source`` is ``sandbox``), the dataset
    profile report, lyrics → LDA topics, audio/topic clusters, then the genre graph with its
    embeddings and song map.
    """
    results: dict[str, Any] = {"ingest": ingest_flow(profile, overrides)}
    results["profile"] = profile_flow(profile, overrides)
    results["topics"] = topics_flow(profile, overrides)
    # clusters first: the genre stage's song map is coloured by cluster
    results["clusters"] = clusters_flow(profile, overrides)
    results["genres"] = genres_flow(profile, overrides)
    return results
