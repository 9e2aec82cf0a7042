"""The Dask switch: a stage's tasks run on a (small, in-process) ``LocalCluster``."""

from __future__ import annotations

from prefect import flow, task

from moodrec.flows.pipeline import pipeline_flow
from moodrec.orchestration.config import STAGE_NAMES, OrchestrationConfig
from moodrec.orchestration.params import RunOptions
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


#: a small topic sweep: two k values, one prior, few passes (seconds on tiny)
SMALL_SWEEP = {
    "k_values": [3, 4],
    "alphas": ["symmetric"],
    "etas": ["symmetric"],
    "passes": 2,
    "iterations": 20,
    "n_sweep_tasks": 2,
}


def test_topic_sweep_runs_on_dask_through_the_pipeline(
    harness, config_env, tmp_path, monkeypatch
) -> None:
    """The switch on a real stage: the pipeline hands the topic sweep's submitted tasks to a
    Dask ``LocalCluster`` (threads, in this process) and gets the thread runner's results."""
    from prefect_dask import DaskTaskRunner

    submitted: list[str] = []
    submit = DaskTaskRunner.submit

    def spy(self, task, *args, **kwargs):
        submitted.append(task.name)
        return submit(self, task, *args, **kwargs)

    monkeypatch.setattr(DaskTaskRunner, "submit", spy)
    only_topics = RunOptions(skip=[s for s in STAGE_NAMES if s not in ("topics", "report")])
    dask = {"task_runner": "dask", "dask": {"processes": False, "n_workers": 2}}
    runs = {}
    for runner in ("thread", "dask"):
        overrides = {
            "paths": {"data_dir": str(tmp_path / runner)},
            "topics": SMALL_SWEEP,
            "orchestration": dask if runner == "dask" else {},
        }
        runs[runner] = pipeline_flow("tiny", overrides, options=only_topics)
        if runner == "thread":
            assert submitted == []
    # one task per chunk and sweep stage (the staged sweep's second stage has no fits here)
    assert submitted == ["topic-sweep"] * 4
    assert set(runs["dask"]) == {"topics", "report"}
    for name in ("topics", "topic_words", "track_topics"):
        thread, dask_ref = runs["thread"]["topics"]["refs"][name], runs["dask"]["topics"]["refs"]
        assert dask_ref[name].fingerprint == thread.fingerprint, name
