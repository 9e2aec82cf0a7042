"""The enrich config is a leaf: loading it loads no provider client, cache or sandbox."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from moodrec.enrich.config import CacheConfig, EnrichConfig

#: modules that importing the config must not load
HEAVY = ("spotipy", "lyricsgenius", "httpx", "requests", "tenacity", "pyrate_limiter", "polars")


def test_importing_the_enrich_config_loads_no_client() -> None:
    code = (
        "import json, sys; import moodrec.enrich.config; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('moodrec'))))"
        f"; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    loaded, heavy = json.loads(out[0]), json.loads(out[1])
    assert heavy == []
    assert set(loaded) <= {
        "moodrec",
        "moodrec.enrich",
        "moodrec.enrich.config",
        "moodrec.providers",
        "moodrec.providers.config",
        "moodrec.stage_config",
    }


def test_enrich_config_rejects_unknown_keys_and_keeps_ttls() -> None:
    with pytest.raises(ValidationError):
        EnrichConfig(batch_sise=10)
    cfg = CacheConfig(found_ttl_s=5.0)
    assert cfg.ttl("track_link", "found") == 5.0
    assert cfg.ttl("probe", "found") == cfg.probe_ttl_s
    assert cfg.ttl("track_link", "error") == 0.0
