"""The task runner switch: threads by default, Dask for the parallel stages when asked."""

from __future__ import annotations

from prefect_dask import DaskTaskRunner

from moodrec.orchestration.config import OrchestrationConfig
from moodrec.tasks.runners import task_runner_for


def test_thread_runner_keeps_each_flow_default() -> None:
    cfg = OrchestrationConfig()
    assert task_runner_for("topics", cfg) is None


def test_dask_runner_for_parallel_stages_only() -> None:
    cfg = OrchestrationConfig(task_runner="dask", dask={"n_workers": 3, "processes": False})
    runner = task_runner_for("topics", cfg)
    assert isinstance(runner, DaskTaskRunner)
    assert runner.cluster_kwargs["n_workers"] == 3
    assert runner.cluster_kwargs["processes"] is False
    assert runner.address is None
    assert task_runner_for("ingest", cfg) is None


def test_dask_runner_uses_an_existing_scheduler() -> None:
    cfg = OrchestrationConfig(task_runner="dask", dask={"address": "tcp://10.0.0.5:8786"})
    runner = task_runner_for("enrich", cfg)
    assert isinstance(runner, DaskTaskRunner)
    assert runner.address == "tcp://10.0.0.5:8786"
