"""Shared fixtures: a tiny sandbox world served by the fake servers, fake secrets."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from pydantic import SecretStr

from moodrec.config.base import Secrets
from moodrec.sandbox.config import SandboxConfig
from moodrec.sandbox.servers import FakeServers, WorldIndex
from moodrec.sandbox.world import generate_world

SPOTIFY_ID = "fake-client-id"
SPOTIFY_SECRET = "SPOTIFY-SECRET-d41d8cd98f00"
GENIUS_TOKEN = "GENIUS-TOKEN-9e107d9d372bb6"


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(SandboxConfig(profile="tiny", seed=3), out)
    return out


@pytest.fixture(scope="session")
def world_index(world_dir: Path) -> WorldIndex:
    return WorldIndex.from_truth(world_dir / "truth")


@pytest.fixture
def servers(world_index: WorldIndex):
    with FakeServers(
        world_index, spotify_credentials=(SPOTIFY_ID, SPOTIFY_SECRET), genius_token=GENIUS_TOKEN
    ) as srv:
        yield srv


@pytest.fixture
def secrets() -> Secrets:
    return Secrets(
        spotify_client_id=SPOTIFY_ID,
        spotify_client_secret=SecretStr(SPOTIFY_SECRET),
        genius_token=SecretStr(GENIUS_TOKEN),
    )


@pytest.fixture(scope="session")
def catalogue(world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalogue in the ingest ``tracks.parquet`` layout, built from the truth."""
    truth = world_dir / "truth"
    tracks = pl.read_parquet(truth / "tracks.parquet")
    cat = tracks.select(
        "track_id", "track_mbid", "artist_id", "artist_name", pl.col("name").alias("track_name")
    )
    path = tmp_path_factory.mktemp("cat") / "tracks.parquet"
    cat.write_parquet(path)
    return path
