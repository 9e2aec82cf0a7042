"""Prefect task: generate the synthetic sandbox world into the ``raw`` layer."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from moodrec.catalogue import Catalogue
from moodrec.sandbox.config import SandboxConfig
from moodrec.sandbox.world import generate_world
from moodrec.storage import DatasetRef
from moodrec.tasks.cache_policy import CHECKPOINT_CACHE, shared_by_stages

#: names under which a generated world is recorded in the manifest
WORLD_DATASETS = ("sandbox_log", "sandbox_profile", "sandbox_world")


def world_dir(data_dir: Path | str, cfg: SandboxConfig) -> Path:
    """Folder of the world for ``cfg``: ``<data_dir>/raw/sandbox/<profile>-seed<seed>``."""
    return Catalogue(data_dir).raw_dir("sandbox", f"{cfg.profile}-seed{cfg.seed}")


@task(
    name="generate-sandbox-world",
    cache_policy=shared_by_stages(CHECKPOINT_CACHE),
    persist_result=True,
)
def generate_sandbox_world(cfg: SandboxConfig, data_dir: str) -> dict[str, DatasetRef]:
    """Generate (deterministically) the sandbox world and register its log and profile file."""
    logger = get_run_logger()
    out = world_dir(data_dir, cfg)
    summary = generate_world(cfg, out)
    logger.info(
        "sandbox world %s seed %d: %d users, %d artists, %d tracks, %d events in %s",
        cfg.profile,
        cfg.seed,
        summary.n_users,
        summary.n_artists,
        summary.n_tracks,
        summary.n_events,
        out,
    )
    return Catalogue(data_dir).register_many(
        {
            "sandbox_log": summary.log_path,
            "sandbox_profile": summary.profile_path,
            "sandbox_world": out / "world.json",
        }
    )
