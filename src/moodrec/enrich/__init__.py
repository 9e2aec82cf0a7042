"""The enrichment stage: catalogue of tracks → provider calls → enriched tables (resumable)."""

from moodrec.enrich.stage import (
    CAPABILITIES,
    EnrichConfig,
    EnrichResult,
    Providers,
    build_providers,
    plan_batches,
    run_enrichment,
)

__all__ = [
    "CAPABILITIES",
    "EnrichConfig",
    "EnrichResult",
    "Providers",
    "build_providers",
    "plan_batches",
    "run_enrichment",
]
