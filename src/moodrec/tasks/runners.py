"""Task runners for the stage flows: Prefect's thread pool, or a Dask cluster."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import TaskRunner

from moodrec.orchestration.config import OrchestrationConfig


def dask_task_runner(cfg: OrchestrationConfig) -> TaskRunner[Any]:
    """A ``prefect_dask.DaskTaskRunner`` for ``cfg.dask``.

    With ``dask.address`` set, tasks go to that running scheduler; otherwise each flow run
    starts a ``distributed.LocalCluster`` of ``n_workers`` × ``threads_per_worker`` (worker
    processes unless ``processes`` is false) and closes it when the flow run ends.
    """
    from prefect_dask import DaskTaskRunner  # optional dependency: imported where used

    d = cfg.dask
    if d.address:
        return DaskTaskRunner(address=d.address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": d.n_workers,
            "threads_per_worker": d.threads_per_worker,
            "processes": d.processes,
            # no dashboard: nothing should listen on a fixed port in a batch run
            "dashboard_address": None,
        },
    )


def task_runner_for(stage: str, cfg: OrchestrationConfig) -> TaskRunner[Any] | None:
    """The task runner ``stage`` should run on, or ``None`` to keep the flow's default.

    Only the stages listed in ``orchestration.dask.stages`` move to Dask when
    ``orchestration.task_runner`` is ``dask``; the rest run their few tasks in threads.
    """
    if cfg.task_runner == "dask" and stage in cfg.dask.stages:
        return dask_task_runner(cfg)
    return None
