"""Which stages read which stages' outputs, and what stages in one process must not share.

The stage flows pass nothing to each other: each reads its inputs from the data folder's
manifest (``Catalogue(data_dir).manifest``), some of them only when they are on record (the
ablation takes genre vectors, clusters and topics when there are any). So the pipeline's
fixed order hides what a stage needs; this table says it, read off the stage flows
(``moodrec.flows.*``) and depending on the configured sources. A stage may start once the
stages it reads from are done; run so, it reads what it would read in the sequential order
and writes the same outputs. Every stage reads the ingest stage's catalogue or the sandbox
world that the ingest generates (``Settings.check_real_inputs`` refuses the sandbox's truth
in a run on a real log, so a sandbox source means a sandbox ingest).

=========  ==================================================================================
stage      reads the outputs of
=========  ==================================================================================
profile    ingest (the ``interim/`` tables)
enrich     ingest (``tracks``)
content    ingest (``tracks``, ``artists``)
topics     ingest; enrich with ``lyrics.source: enrich``
clusters   ingest; enrich and topics (track topics) with ``clustering.source: enrich``
genres     ingest, clusters (the song map's cluster colours); enrich with ``genres.source:
           enrich``
train      ingest; on a real log content, topics, clusters, genres (cold-start item content)
evaluate   ingest, train
ablation   ingest, topics, clusters, genres (content when on record); on a real log content
session    ingest; enrich with ``session.features_source: enrich``
report     every stage (the pipeline runs it last)
=========  ==================================================================================

Threads of one process share more than files (:func:`exclusive_resources`,
:func:`run_alone`): torch's random generator and thread count are per process, so two stages
fitting seeded models in this process would depend on how their draws interleave; a search
whose budget is the process's CPU time (``recommend.tuning``, the ablation's search when it
fits in this process) would have it spent by a neighbour; Dask stages each start a cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moodrec.config.schema import Settings

#: the stages whose tables a real log's item content comes from
CONTENT_STAGES = frozenset({"content", "topics", "clusters", "genres"})

#: resource of the stages that fit (or score) models in the pipeline's own process
IN_PROCESS_FITS = "in-process model fits"
#: resource of the stages that run on a Dask cluster of their own
DASK_CLUSTER = "dask cluster"


def _synthetic(settings: Settings) -> bool:
    return settings.ingest.source == "sandbox"


def stage_needs(settings: Settings) -> dict[str, frozenset[str]]:
    """Stage → the stages whose outputs it reads under ``settings`` (the table above)."""

    def enrich_if(source: str) -> set[str]:
        return {"enrich"} if source == "enrich" else set()

    real = not _synthetic(settings)
    needs: dict[str, set[str]] = {
        "ingest": set(),
        "profile": {"ingest"},
        "enrich": {"ingest"},
        "content": {"ingest"},
        "topics": {"ingest"} | enrich_if(settings.lyrics.source),
        "clusters": {"ingest"}
        | ({"enrich", "topics"} if settings.clustering.source == "enrich" else set()),
        "genres": {"ingest", "clusters"} | enrich_if(settings.genres.source),
        "train": {"ingest"} | (set(CONTENT_STAGES) if real else set()),
        "evaluate": {"ingest", "train"},
        "ablation": {"ingest", "topics", "clusters", "genres"} | ({"content"} if real else set()),
        "session": {"ingest"} | enrich_if(settings.session.features_source),
    }
    return {stage: frozenset(names) for stage, names in needs.items()}


def exclusive_resources(
    settings: Settings, *, ablation_in_process: bool
) -> dict[str, frozenset[str]]:
    """Stage → what it holds in this process while it runs; two stages holding one of them
    never run at the same time.

    ``train``, ``evaluate`` and ``session`` fit or score models in the pipeline's process
    (torch seeds and sets its one generator and thread count there), as does ``ablation``
    when ``ablation_in_process`` (its variants are not sent to worker processes:
    ``orchestration.process_workers`` 1, or a single variant). With ``task_runner: dask``,
    each Dask stage starts a cluster of its own.
    """
    out: dict[str, set[str]] = {
        name: {IN_PROCESS_FITS} for name in ("train", "evaluate", "session")
    }
    if ablation_in_process:
        out["ablation"] = {IN_PROCESS_FITS}
    orch = settings.orchestration
    if orch.task_runner == "dask":
        for name in orch.dask.stages:
            out.setdefault(name, set()).add(DASK_CLUSTER)
    return {name: frozenset(held) for name, held in out.items()}


def run_alone(settings: Settings, *, ablation_in_process: bool) -> frozenset[str]:
    """Stages that must have the process to themselves: a hyperparameter search counting
    its budget in this process's CPU (or wall) seconds would count a neighbour's work too
    and try other trials.

    ``train`` (and ``evaluate``, which re-trains from the cache) when ``recommend.tuning`` is
    on with a search space; ``ablation`` when ``ablation_in_process`` (in worker processes
    each fit has its own clock).
    """
    out: set[str] = set()
    tuning = settings.recommend.tuning
    if tuning.enabled and any(tuning.spaces.values()):
        out |= {"train", "evaluate"}
    if ablation_in_process:
        out.add("ablation")
    return frozenset(out)
