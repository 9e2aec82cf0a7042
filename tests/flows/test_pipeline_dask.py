"""The Dask switch: a stage's tasks run on a (small, in-process) ``LocalCluster``."""

from __future__ import annotations

from prefect import flow, task

from moodrec.orchestration.config import OrchestrationConfig
from moodrec.tasks.runners import task_runner_for


@task
def _worker_address(i: int) -> tuple[int, str]:
    from distributed import get_worker

    return i, get_worker().address


@flow
def _probe(n: int) -> list[tuple[int, str]]:
    return [f.result() for f in _worker_address.map(range(n))]


def test_dask_runner_runs_tasks_on_a_local_cluster(harness) -> None:
    cfg = OrchestrationConfig(
        task_runner="dask", dask={"n_workers": 2, "threads_per_worker": 1, "processes": False}
    )
    runner = task_runner_for("topics", cfg)
    assert runner is not None
    results = _probe.with_options(task_runner=runner)(4)
    assert [i for i, _ in results] == [0, 1, 2, 3]
    # every task ran inside a Dask worker of the local (in-process) cluster
    assert all(addr.startswith("inproc://") for _, addr in results)
