"""``pipeline_flow``: the whole pipeline, one stage flow after another, then the report.

Stages run in the order of ``moodrec.orchestration.config.STAGE_NAMES``; each one listed in
``orchestration.skip`` is left out (its report section says so). Adding a stage is one line
in ``STAGE_FLOWS``: its flow takes ``(profile, overrides)`` and returns
``{"data_dir", "synthetic", "refs", "summary"}``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from prefect import flow

from moodrec.flows.common import stage_settings
from moodrec.flows.report import report_flow
from moodrec.orchestration.config import STAGE_NAMES
from moodrec.orchestration.params import RunOptions, options_overrides
from moodrec.tasks.runners import task_runner_for

logger = logging.getLogger(__name__)

#: stage name → ``module:flow`` (imported when the stage runs); order comes from STAGE_NAMES
STAGE_FLOWS: dict[str, str] = {
    "ingest": "moodrec.flows.ingest:ingest_flow",
    "profile": "moodrec.flows.logs:profile_flow",
    "enrich": "moodrec.flows.enrich:enrich_flow",
    "topics": "moodrec.flows.topics:topics_flow",
    # clusters before genres: the genre stage's song map is coloured by cluster
    "clusters": "moodrec.flows.genres:clusters_flow",
    "genres": "moodrec.flows.genres:genres_flow",
}


def stage_flow(name: str) -> Callable[..., dict[str, Any]]:
    """The flow object of a registered stage."""
    module, _, attr = STAGE_FLOWS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def planned_stages(skip: list[str]) -> tuple[list[str], dict[str, str]]:
    """Stages to run (in order) and, for each one that will not run, the reason."""
    run: list[str] = []
    not_run: dict[str, str] = {}
    for name in STAGE_NAMES:
        if name == "report":
            continue
        if name in skip:
            not_run[name] = "skipped by orchestration.skip"
        elif name not in STAGE_FLOWS:
            not_run[name] = "not part of this pipeline yet"
        else:
            run.append(name)
    return run, not_run


@flow(name="moodrec-pipeline", log_prints=False)
def pipeline_flow(
    profile: str = "demo",
    overrides: dict[str, Any] | None = None,
    options: RunOptions | None = None,
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

    Returns
    -------
    dict
        Stage name → that stage flow's result, plus ``"report"`` (the report's refs) unless
        the report is skipped.
    """
    overrides = options_overrides(options, overrides)
    settings, _ = stage_settings(profile, overrides)
    orch = settings.orchestration
    run, not_run = planned_stages(orch.skip)
    results: dict[str, Any] = {}
    for name in run:
        stage = stage_flow(name)
        runner = task_runner_for(name, orch)
        if runner is not None:
            stage = stage.with_options(task_runner=runner)
        logger.info("stage %s", name)
        results[name] = stage(profile, overrides)
    if orch.runs("report"):
        results["report"] = report_flow(profile, overrides, stages=results, not_run=not_run)
    return results
