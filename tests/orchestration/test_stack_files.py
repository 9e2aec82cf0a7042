"""docker-compose.yml, Dockerfile and prefect.yaml: parsed, versions pinned consistently.

Docker does not run on the test machines; these checks catch the drift that would break
``docker compose up`` (a Prefect image that does not match the installed Prefect, a
missing health check, a deployment entrypoint that no longer exists).
"""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import prefect
import pytest
import torch
import yaml

from moodrec.orchestration.config import DeploymentsConfig


@pytest.fixture
def compose(repo_root: Path) -> dict:
    return yaml.safe_load((repo_root / "docker-compose.yml").read_text())


def test_compose_services_health_and_pins(compose: dict) -> None:
    services = compose["services"]
    assert {"postgres", "prefect-server", "worker", "dask-scheduler", "dask-worker"} <= set(
        services
    )
    image = services["prefect-server"]["image"]
    assert image.startswith(f"prefecthq/prefect:{prefect.__version__}-python3.11")
    for name in ("postgres", "prefect-server", "worker", "dask-scheduler"):
        assert services[name]["healthcheck"]["test"], name
    assert services["worker"]["build"]["context"] == "."
    assert services["worker"]["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    assert services["prefect-server"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    db_url = services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert db_url.startswith("postgresql+asyncpg://") and "${MOODREC_DATABASE_PASSWORD}" in db_url
    # secrets come from .env, never written into the file
    assert services["worker"]["env_file"][0]["path"] == ".env"
    mounts = services["worker"]["volumes"]
    assert "./data:/app/data" in mounts and "./benchmarks/results:/app/benchmarks/results" in mounts
    # Dask is opt-in
    assert services["dask-scheduler"]["profiles"] == ["dask"]
    assert services["dask-worker"]["profiles"] == ["dask"]
    assert "pgdata" in compose["volumes"]


def test_dockerfile_is_multistage_with_cpu_torch(repo_root: Path) -> None:
    text = (repo_root / "Dockerfile").read_text()
    stages = [ln for ln in text.splitlines() if ln.startswith("FROM ")]
    assert len(stages) == 2 and "AS build" in stages[0] and "AS runtime" in stages[1]
    torch_version = torch.__version__.split("+")[0]
    assert (
        f"pip install torch=={torch_version} --index-url https://download.pytorch.org/whl/cpu"
        in text
    )
    assert "COPY --from=build /opt/venv /opt/venv" in text
    assert "HEALTHCHECK" in text
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    assert f"prefect=={prefect.__version__}" in pyproject["project"]["dependencies"]
    assert f"torch=={torch_version}" in pyproject["project"]["dependencies"]
    ignored = (repo_root / ".dockerignore").read_text().split()
    assert {".venv", "data", ".env", ".git"} <= set(ignored)


def test_prefect_yaml_deployments_resolve(repo_root: Path) -> None:
    spec = yaml.safe_load((repo_root / "prefect.yaml").read_text())
    assert spec["prefect-version"] == prefect.__version__
    deployments = {d["name"]: d for d in spec["deployments"]}
    defaults = DeploymentsConfig()
    assert set(deployments) == {defaults.pipeline_name, defaults.refresh_name}
    for dep in deployments.values():
        path, _, attr = dep["entrypoint"].partition(":")
        assert (repo_root / path).is_file(), path
        module = ".".join(Path(path).with_suffix("").parts[1:])
        flow_obj = getattr(importlib.import_module(module), attr)
        assert isinstance(flow_obj, prefect.Flow)
        assert dep["work_pool"]["name"] == defaults.work_pool
    cron = deployments[defaults.refresh_name]["schedules"][0]
    assert cron["cron"] == defaults.refresh_cron and cron["timezone"] == defaults.timezone
