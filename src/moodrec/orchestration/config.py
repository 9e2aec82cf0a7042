"""Configuration of how the pipeline runs: stages to skip, task runner, deployments, report."""

from __future__ import annotations

import re
from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from moodrec.errors import ConfigError
from moodrec.stage_config import StageConfig

#: every stage of the full pipeline, in the order the pipeline runs them
StageName = Literal[
    "ingest",
    "profile",
    "enrich",
    "content",
    "topics",
    "clusters",
    "genres",
    "train",
    "evaluate",
    "ablation",
    "session",
    "report",
]
STAGE_NAMES: tuple[str, ...] = get_args(StageName)

#: stages whose tasks are submitted concurrently and so gain from a Dask cluster
PARALLEL_STAGES: tuple[str, ...] = ("enrich", "topics", "clusters")

_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?LW#]+$")


def _known_stages(names: list[str], field: str) -> list[str]:
    unknown = sorted(set(names) - set(STAGE_NAMES))
    if unknown:
        raise ValueError(
            f"{field}: unknown stage(s) {', '.join(unknown)} (known: {', '.join(STAGE_NAMES)})"
        )
    return names


class DaskConfig(StageConfig):
    """A Dask cluster for the parallel stages: an existing scheduler, or a local cluster."""

    #: ``tcp://host:8786`` of a running scheduler; ``None`` starts a ``LocalCluster``
    address: str | None = None
    n_workers: int = Field(default=2, ge=1)
    threads_per_worker: int = Field(default=1, ge=1)
    #: ``False`` runs the local workers as threads in this process (fast start, tests)
    processes: bool = True
    #: which stages run on the Dask task runner (the others keep the thread runner)
    stages: list[str] = Field(default_factory=lambda: list(PARALLEL_STAGES))

    @field_validator("stages")
    @classmethod
    def _stages_known(cls, v: list[str]) -> list[str]:
        return _known_stages(v, "orchestration.dask.stages")

    @field_validator("address")
    @classmethod
    def _address_scheme(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^(tcp|tls|inproc|ws|wss)://", v):
            raise ValueError(f"dask address {v!r} must start with tcp://, tls://, ws:// or wss://")
        return v


class DeploymentsConfig(StageConfig):
    """What ``moodrec serve`` (``flow.serve``) and ``prefect.yaml`` deploy."""

    pipeline_name: str = Field(default="moodrec-pipeline", min_length=1)
    #: cron schedule of ``refresh_metadata_flow`` (UTC); ``None`` deploys it unscheduled
    refresh_cron: str | None = "0 3 * * 1"
    refresh_name: str = Field(default="refresh-metadata", min_length=1)
    timezone: str = "UTC"
    work_pool: str = Field(default="moodrec-process", min_length=1)
    tags: list[str] = Field(default_factory=lambda: ["moodrec"])

    @field_validator("refresh_cron")
    @classmethod
    def _cron_shape(cls, v: str | None) -> str | None:
        if v is None:
            return v
        fields = v.split()
        if len(fields) not in (5, 6) or not all(_CRON_FIELD.match(f) for f in fields):
            raise ValueError(f"refresh_cron {v!r} is not a 5-field cron expression")
        return v


class ReportConfig(StageConfig):
    """The per-run report: one self-contained HTML file plus Markdown artifacts."""

    title: str = "moodrec run report"
    #: Parquet checkpoints with at most this many rows are shown in full as tables
    max_table_rows: int = Field(default=40, ge=1)
    #: at most this many flattened summary values per section
    max_summary_rows: int = Field(default=40, ge=1)
    #: longest cell text shown in a table (longer values are cut with an ellipsis)
    max_cell_chars: int = Field(default=80, ge=8)
    #: inline plotly.js once in the HTML so interactive maps work without a network
    inline_plotly: bool = True
    #: also publish one Markdown artifact per section (stable keys ``<profile>-report-<stage>``)
    markdown_artifacts: bool = True


class OrchestrationConfig(StageConfig):
    """Which stages run, on which task runner, and how deployments are scheduled."""

    #: stages not to run (their report section says "not run")
    skip: list[str] = Field(default_factory=list)
    task_runner: Literal["thread", "dask"] = "thread"
    #: threads per native pool (OpenMP, BLAS, torch) in the pipeline's process: the task
    #: runner gives the parallelism, one thread each avoids oversubscribed, spinning cores;
    #: ``None`` keeps the libraries' defaults (one thread per core each)
    native_threads: int | None = Field(default=1, ge=1)
    #: worker processes of a stage that fits independent models side by side (the
    #: ablation's variants, each fit in one process with ``native_threads`` threads);
    #: ``None`` = the cores this process may use, 1 = one after another in the flow's process
    process_workers: int | None = Field(default=None, ge=1)
    #: run stages whose inputs do not depend on each other at the same time (threads of the
    #: pipeline's process, :mod:`moodrec.orchestration.schedule`); ``False`` runs them one
    #: after another in pipeline order. Same outputs either way.
    concurrent_stages: bool = True
    #: with ``concurrent_stages``, at most this many stages at a time (the earliest ready in
    #: pipeline order first); ``None`` = the cores this process may use. More stages than
    #: cores slow the longest chain of stages (topics → clusters → genres → ablation) by as
    #: much as the others gain (GIL and cores shared); measured in benchmarks/results/pipeline.md
    max_concurrent_stages: int | None = Field(default=None, ge=1)
    dask: DaskConfig = DaskConfig()
    deployments: DeploymentsConfig = DeploymentsConfig()
    report: ReportConfig = ReportConfig()

    @field_validator("skip")
    @classmethod
    def _skip_known(cls, v: list[str]) -> list[str]:
        return _known_stages(v, "orchestration.skip")

    @model_validator(mode="after")
    def _ingest_needed(self) -> OrchestrationConfig:
        # every later stage reads the ingest checkpoints; skipping ingest alone is allowed
        # (its checkpoints may exist already), but skipping everything is surely a mistake
        if set(self.skip) >= set(STAGE_NAMES):
            raise ValueError("orchestration.skip lists every stage: nothing would run")
        return self

    def runs(self, stage: str) -> bool:
        """True when ``stage`` is a known stage and not skipped."""
        if stage not in STAGE_NAMES:
            raise ConfigError(f"unknown stage {stage!r} (known: {', '.join(STAGE_NAMES)})")
        return stage not in self.skip
