"""The enrichment stage: catalogue of tracks → provider calls → enriched tables (resumable)."""

from moodrec.enrich.cache import CacheConfig, CacheError, EnrichCache, cache_path
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
    "CacheConfig",
    "CacheError",
    "EnrichCache",
    "EnrichConfig",
    "EnrichResult",
    "Providers",
    "build_providers",
    "cache_path",
    "plan_batches",
    "run_enrichment",
]
