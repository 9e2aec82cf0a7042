"""The ``lastfm1k`` profile on the real 1K head sample, offline: enrich finishes within
seconds per unreachable provider and says so; the content stage links the shared content
files to the catalogue (fuzzy matching reported beside exact)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pandas as pd
import pytest

from moodrec.flows.content import content_flow
from moodrec.flows.enrich import enrich_flow
from moodrec.flows.ingest import ingest_flow

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
LOG = DATA / "lastfm_1k" / "userid-timestamp-artid-artname-traid-traname.head5000.tsv"
FEATURES = DATA / "spotify_top40nl_artist_genres" / "spotify_songs_top40nl.csv"
LYRICS = DATA / "lyrics_poplyrics_1k_genius" / "poplyric-1k.parquet"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not LOG.is_file(), reason="shared Last.fm 1K sample absent"),
]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lastfm1k_offline_enrich_then_content(harness, config_env, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    overrides = {
        "paths": {"data_dir": str(tmp_path / "data")},
        "ingest": {"log_path": str(LOG), "profile_path": None},
        "enrich": {
            "lrclib": {"base_url": url},
            "genius": {
                "api_root": f"{url}/",
                "public_api_root": f"{url}/api/",
                "web_root": f"{url}/",
            },
        },
        "content": {
            "sources": [
                {"name": "top40nl", "kind": "features", "path": str(FEATURES)},
                {"name": "poplyrics", "kind": "lyrics", "path": str(LYRICS)},
                {
                    "name": "hetrec_tags",
                    "kind": "hetrec_tags",
                    "path": str(DATA / "hetrec2011_lastfm_2k"),
                },
            ]
        },
    }
    ingest_flow(profile="lastfm1k", overrides=overrides)
    start = time.monotonic()
    enriched = enrich_flow(profile="lastfm1k", overrides=overrides)
    assert time.monotonic() - start < 2 * 60  # generous: lrclib (+ genius with a token)
    assert url.removeprefix("http://") in enriched["summary"]["unreachable_hosts"]
    assert not enriched["complete"] or enriched["summary"]["coverage"]

    content = content_flow(profile="lastfm1k", overrides=overrides)
    cov = pd.read_parquet(content["refs"]["content_coverage"].path).set_index(
        ["source", "capability"]
    )
    audio = cov.loc[("top40nl", "audio_features")]
    assert set(audio["missing"].split(",")) == {"key", "mode", "instrumentalness"}
    assert audio["plays_linked"] >= audio["plays_exact"]
    assert cov.loc[("hetrec_tags", "genres"), "share_plays"] > 0.3
    unmatched = pd.read_parquet(content["refs"]["content_unmatched"].path)
    assert (unmatched.groupby("source")["plays"].apply(lambda s: s.is_monotonic_decreasing)).all()
