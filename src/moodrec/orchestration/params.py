"""The typed run parameters a deployment shows as a form in the Prefect UI.

Kept pure (pydantic only): the flow converts them to the nested ``overrides`` every stage
flow takes, so the UI form, the CLI and the tests all end in the same validated settings.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from moodrec.orchestration.config import StageName


class RunOptions(BaseModel):
    """Common knobs of a pipeline run, typed so the Prefect UI renders them as a form.

    Every field left empty keeps the profile's value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int | None = Field(default=None, ge=0, description="sandbox world seed")
    skip: list[StageName] | None = Field(
        default=None, description="stages not to run (their report section says 'not run')"
    )
    task_runner: Literal["thread", "dask"] | None = Field(
        default=None, description="run the parallel stages on threads or on a Dask cluster"
    )
    dask_address: str | None = Field(
        default=None, description="scheduler address (tcp://host:8786); empty = local cluster"
    )
    report_title: str | None = Field(default=None, description="title of the HTML report")


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def options_overrides(
    options: RunOptions | None, overrides: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Nested settings overrides for ``options`` on top of ``overrides`` (options win).

    Returns ``None`` when neither sets anything, so an option-less run keeps the very same
    stage parameters (and cache keys) as a plain ``pipeline_flow(profile)`` call.
    """
    extra: dict[str, Any] = {}
    if options is not None:
        orch: dict[str, Any] = {}
        if options.seed is not None:
            extra["sandbox"] = {"seed": options.seed}
        if options.skip is not None:
            orch["skip"] = list(options.skip)
        if options.task_runner is not None:
            orch["task_runner"] = options.task_runner
        if options.dask_address:
            orch["dask"] = {"address": options.dask_address}
        if options.report_title:
            orch["report"] = {"title": options.report_title}
        if orch:
            extra["orchestration"] = orch
    merged = _merge(overrides or {}, extra)
    return merged or None
