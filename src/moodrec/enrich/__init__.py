"""The enrichment stage: catalogue of tracks → provider calls → enriched tables (resumable)."""

from moodrec.enrich.cache import CacheConfig, CacheError, EnrichCache, cache_path
from moodrec.enrich.servers_config import FakeServersConfig, RateLimitFault
from moodrec.enrich.stage import (
    CAPABILITIES,
    EnrichConfig,
    EnrichResult,
    Providers,
    build_providers,
    plan_batches,
    read_batch,
    run_enrichment,
    select_tracks,
    with_base_urls,
    write_plan,
)

__all__ = [
    "CAPABILITIES",
    "CacheConfig",
    "CacheError",
    "EnrichCache",
    "EnrichConfig",
    "EnrichResult",
    "FakeServersConfig",
    "Providers",
    "RateLimitFault",
    "build_providers",
    "cache_path",
    "plan_batches",
    "read_batch",
    "run_enrichment",
    "select_tracks",
    "with_base_urls",
    "write_plan",
]
