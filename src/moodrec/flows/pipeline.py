"""``pipeline_flow``: the whole pipeline, every stage flow as soon as its inputs are done,
then the report.

Stages are listed in the order of ``moodrec.orchestration.config.STAGE_NAMES``; each one in
``orchestration.skip`` is left out (its report section says so). A stage starts once the
stages whose outputs it reads are done (``moodrec.orchestration.dependencies``), so
independent ones run side by side in threads of this process, each a subflow of the
pipeline's flow run (``moodrec.orchestration.schedule``); ``orchestration.concurrent_stages:
false`` runs them one after another in the listed order. The outputs are the same either
way. Adding a stage is one line in ``STAGE_FLOWS`` (its flow takes ``(profile, overrides)``
and returns ``{"data_dir", "synthetic", "refs", "summary"}``) and one in ``stage_needs``.

While the stages run, native thread pools are capped (``orchestration.native_threads``), a
progress artifact ``<profile>-pipeline-progress`` counts the stages done, and each stage's
wall and CPU seconds go to ``<data_dir>/reports/pipeline_timings.json`` (:func:`_timing_records`
says what the CPU seconds of stages that overlapped hold). The data folder's ``run.json``
and the manifest's ``provenance`` say which configuration made its outputs; a folder holding
another configuration's outputs is refused unless ``replace`` (``moodrec.runs``).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import resource
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from prefect import flow
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from moodrec import progress as events
from moodrec.catalogue import Catalogue
from moodrec.config.schema import Settings
from moodrec.flows.common import stage_settings
from moodrec.flows.report import report_flow, stage_summary
from moodrec.ingest.listens import resolve_item_level
from moodrec.locking import data_folder_lock
from moodrec.orchestration.config import STAGE_NAMES, StageName
from moodrec.orchestration.dependencies import exclusive_resources, run_alone, stage_needs
from moodrec.orchestration.params import RunOptions, options_overrides
from moodrec.orchestration.processes import resolve_workers
from moodrec.orchestration.schedule import run_stages
from moodrec.orchestration.threads import limit_native_threads
from moodrec.report.headline import key_number
from moodrec.runs import check_data_folder, point_latest, provenance, write_run_record
from moodrec.storage import write_json_atomic
from moodrec.tasks.artifacts import artifact_key
from moodrec.tasks.runners import task_runner_for

logger = logging.getLogger(__name__)

#: stage name → ``module:flow`` (imported when the stage runs); order comes from STAGE_NAMES
STAGE_FLOWS: dict[str, str] = {
    "ingest": "moodrec.flows.ingest:ingest_flow",
    "profile": "moodrec.flows.datasets:profile_flow",
    "enrich": "moodrec.flows.enrich:enrich_flow",
    "content": "moodrec.flows.content:content_flow",
    "topics": "moodrec.flows.topics:topics_flow",
    # clusters before genres: the genre stage's song map is coloured by cluster
    "clusters": "moodrec.flows.genres:clusters_flow",
    "genres": "moodrec.flows.genres:genres_flow",
    "train": "moodrec.flows.recommend:train_flow",
    "evaluate": "moodrec.flows.recommend:evaluate_flow",
    "ablation": "moodrec.flows.ablation:ablation_flow",
    "session": "moodrec.flows.session:session_flow",
}

#: per-stage wall and CPU seconds of the last pipeline run (``<data_dir>/reports/``)
TIMINGS_FILE = "pipeline_timings.json"


def stage_flow(name: str) -> Callable[..., dict[str, Any]]:
    """The flow object of a registered stage."""
    module, _, attr = STAGE_FLOWS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def data_skips(settings: Settings) -> dict[str, str]:
    """Stages the configured data cannot feed, each with the reason (not an error).

    An artist-level catalogue (HetRec, or an export pooled with HetRec; see
    :func:`moodrec.ingest.listens.resolve_item_level`) has no listening events and no
    track titles: the session models, the enrich searches (artist + title) and every stage
    that reads what enrich got are skipped.
    """
    if resolve_item_level(settings.ingest) != "artist":
        return {}
    why = (
        f"the catalogue is artist-level (ingest.source: {settings.ingest.source}, "
        "play counts per user and artist, no timestamps)"
    )
    out = {
        "session": f"needs listening events with timestamps; {why}",
        "enrich": f"searches providers by artist and track title; {why}",
    }
    reads_enrich = {
        "topics": settings.lyrics.source,
        "clusters": settings.clustering.source,
        "genres": settings.genres.source,
    }
    for stage, source in reads_enrich.items():
        if source == "enrich":
            out[stage] = (
                f"reads the enrich stage's outputs (source: enrich); enrich is skipped: {why}"
            )
    return out


def planned_stages(
    skip: list[str], settings: Settings | None = None
) -> tuple[list[str], dict[str, str]]:
    """Stages to run (in order) and, for each one that will not run, the reason.

    ``settings`` adds the stages the data cannot feed (:func:`data_skips`).
    """
    run: list[str] = []
    not_run: dict[str, str] = {}
    by_data = data_skips(settings) if settings is not None else {}
    for name in STAGE_NAMES:
        if name == "report":
            continue
        if name in skip:
            not_run[name] = "skipped by orchestration.skip"
        elif name in by_data:
            not_run[name] = f"skipped: {by_data[name]}"
        elif name not in STAGE_FLOWS:
            not_run[name] = "not part of this pipeline yet"
        else:
            run.append(name)
    return run, not_run


#: stage → the pure modules (and their libraries: gensim, scikit-learn, scipy, torch …) its
#: tasks import when they compute; the flow modules themselves import none of them
STAGE_LIBRARIES: dict[str, tuple[str, ...]] = {
    "topics": ("moodrec.topics.stage", "moodrec.text.cleaning"),
    "clusters": ("moodrec.clustering.stage",),
    "genres": ("moodrec.genres.stage",),
    "train": ("moodrec.experiment.stage",),
    "evaluate": ("moodrec.experiment.stage",),
    "ablation": ("moodrec.evaluation.ablation", "moodrec.report.ablation"),
    "session": ("moodrec.session.stage",),
}


def preload_stages(
    skip: list[str], settings: Settings | None = None, *, libraries: bool = False
) -> None:
    """Import the flow modules of the stages that will run, e.g. while a temporary Prefect
    server starts; with ``libraries`` (a run that will compute, such as a first one) also
    the modules their tasks compute with (:data:`STAGE_LIBRARIES`, the configured models).

    An unchanged re-run needs none of those libraries: every task is cached, so importing
    them (seconds of CPU) would only slow it down.
    """
    run, _ = planned_stages(skip, settings)
    for name in run:
        stage_flow(name)
    if not libraries:
        return
    for module in dict.fromkeys(m for name in run for m in STAGE_LIBRARIES.get(name, ())):
        importlib.import_module(module)
    if settings is not None and {"train", "evaluate"}.intersection(run):
        from moodrec.models import model_classes

        model_classes(settings.recommend.models)


@flow(name="moodrec-pipeline", log_prints=False)
def pipeline_flow(
    profile: str = "demo",
    overrides: dict[str, Any] | None = None,
    options: RunOptions | None = None,
    replace: bool = False,
    seed: int | None = None,
    skip: list[StageName] | None = None,
    task_runner: Literal["thread", "dask"] | None = None,
) -> dict[str, Any]:
    """Run every stage of ``profile`` not skipped by config, then write the run report.

    Parameters
    ----------
    profile
        Config profile name (``config/<profile>.yaml``) or path.
    overrides
        Nested setting overrides, e.g. ``{"sandbox": {"seed": 7}}`` (never secrets).
    options
        Typed run options (the deployment's form in the Prefect UI): seed, stages to skip,
        task runner; applied on top of ``overrides``.
    seed, skip, task_runner
        The common options as flat, typed parameters (the deployment form shows each as
        its own field with its default); ``options`` holds the same grouped, for callers
        of the API, and wins where both are set.
    replace
        Write over a data folder that holds another configuration's outputs (otherwise
        such a run stops before any work; profiles with ``{run_id}`` in ``paths.data_dir``
        give each configuration its own folder and never meet one).

    Returns
    -------
    dict
        Stage name → that stage flow's result, plus ``"report"`` (the report's refs) unless
        the report is skipped.
    """
    flat = RunOptions(seed=seed, skip=skip, task_runner=task_runner)
    overrides = options_overrides(options, options_overrides(flat, overrides))
    settings, data_dir = stage_settings(profile, overrides)
    orch = settings.orchestration
    run, not_run = planned_stages(orch.skip, settings)
    for name, reason in not_run.items():
        if reason != "skipped by orchestration.skip":
            logger.warning("stage %s %s", name, reason)
    settings.check_real_inputs(run)  # before any work, not when the stage is reached
    check_data_folder(data_dir, settings, replace=replace)
    results: dict[str, Any] = {}
    clock = _StageClock()
    todo = [*run, *(["report"] if orch.runs("report") else [])]
    progress = create_progress_artifact(
        0.0,
        key=artifact_key(settings.profile, "pipeline-progress"),
        description=f"stages done of {len(todo)}: {', '.join(todo)}",
    )
    # The stage subflows run in this process, whose flow run keeps its heartbeat; a subflow's
    # own heartbeat thread sleeps in 1 s steps and is joined at the subflow's end, which
    # costs up to a second per stage (a third of an unchanged re-run).
    no_subflow_heartbeat = temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
    for name in STAGE_NAMES:  # in pipeline order, so a view lists them so
        if name in not_run:
            events.stage(name, "skipped", not_run[name])
        elif name in todo:
            events.stage(name, "waiting")
    # one writer per data folder (re-entrant: a CLI command holding it runs this flow)
    writer = data_folder_lock(data_dir, command=f"pipeline_flow({profile!r})")
    with writer, limit_native_threads(orch.native_threads), no_subflow_heartbeat:
        started = _now()
        write_run_record(data_dir, settings, started=started, finished=None)

        def run_stage(name: str) -> dict[str, Any]:  # in a thread of its own when concurrent
            stage = stage_flow(name)
            runner = task_runner_for(name, orch)
            if runner is not None:
                stage = stage.with_options(task_runner=runner)
            logger.info("stage %s", name)
            events.stage(name, "running")
            with clock.timed(name), _failing(name), events.in_stage(name):
                result: dict[str, Any] = stage(profile, overrides)
            events.stage(name, "done", key_number(name, stage_summary(result)))
            return result

        def stage_done(name: str, result: dict[str, Any]) -> None:  # in this thread
            results[name] = result
            update_progress_artifact(progress, 100.0 * len(results) / len(todo))

        in_process = "ablation" in run and _ablation_in_process(settings)
        known = stage_needs(settings)
        # a stage the table does not know yet waits for every stage listed before it
        needs = {name: known.get(name, frozenset(run[:i])) for i, name in enumerate(run)}
        done = run_stages(
            run,
            run_stage,
            needs=needs,
            concurrent=orch.concurrent_stages,
            exclusive=exclusive_resources(settings, ablation_in_process=in_process),
            alone=run_alone(settings, ablation_in_process=in_process),
            max_running=resolve_workers(orch.max_concurrent_stages),
            on_done=stage_done,
        )
        results = dict(done)  # pipeline order, whatever order they ended in
        if orch.runs("report"):
            events.stage("report", "running")
            with clock.timed("report"), _failing("report"), events.in_stage("report"):
                results["report"] = report_flow(profile, overrides, stages=results, not_run=not_run)
            events.stage("report", "done", "report.html written")
            update_progress_artifact(progress, 100.0)
    write_json_atomic(
        Catalogue(data_dir).layer_dir("reports") / TIMINGS_FILE,
        clock.records([*run, "report"]),
    )
    finished = _now()
    Catalogue(data_dir).manifest.set_provenance(
        provenance(settings, data_dir, started=started, finished=finished)
    )
    write_run_record(data_dir, settings, started=started, finished=finished)
    latest = point_latest(settings)
    if latest is not None:
        logger.info("run folder %s (%s → it)", data_dir, latest)
    return results


def _ablation_in_process(settings: Settings) -> bool:
    from moodrec.flows.ablation import fits_in_process

    return fits_in_process(settings)


@contextlib.contextmanager
def _failing(name: str) -> Iterator[None]:
    """Tell the progress listeners that stage ``name`` failed (the error propagates, with a
    note naming the stage)."""
    try:
        yield
    except BaseException as exc:
        events.stage(name, "failed", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        exc.add_note(f"(in the pipeline's {name} stage)")
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and of its children that have ended (a
    stage's worker processes, :mod:`moodrec.orchestration.processes`)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


class _StageClock:
    """Wall and CPU seconds of each stage, from whichever thread runs it."""

    def __init__(self) -> None:
        self._timings: dict[str, dict[str, float]] = {}
        self._spans: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Time stage ``name``, run in the body (in the calling thread)."""
        wall, cpu, own = time.perf_counter(), _cpu_seconds(), time.thread_time()
        try:
            yield
        finally:
            end = time.perf_counter()
            timing = {
                "wall_s": round(end - wall, 2),
                "cpu_s": round(_cpu_seconds() - cpu, 2),
                "thread_cpu_s": round(time.thread_time() - own, 2),
            }
            with self._lock:
                self._timings[name], self._spans[name] = timing, (wall, end)
            logger.info("stage %s: %s", name, timing)

    def records(self, order: list[str]) -> list[dict[str, Any]]:
        """One record per timed stage, in ``order``.

        ``cpu_s`` is the CPU time of this whole process (every thread) and of its child
        processes that ended, while the stage ran: the stage's own when it ran alone, and
        also its neighbours' for a stage that overlapped others (``overlapped_with`` names
        them; a thread's share of the process's CPU time cannot be told apart afterwards,
        and a worker process's is known only once it ended). ``thread_cpu_s`` is the CPU time
        of the stage's own thread: what it computed in place, not its task runner's threads
        or its worker processes.
        """
        with self._lock:
            spans, timings = dict(self._spans), dict(self._timings)
        out = []
        for name in [n for n in order if n in timings]:
            start, end = spans[name]
            overlapped = [
                other
                for other in order
                if other != name
                and other in spans
                and spans[other][0] < end
                and start < spans[other][1]
            ]
            out.append({"stage": name, **timings[name], "overlapped_with": overlapped})
        return out
