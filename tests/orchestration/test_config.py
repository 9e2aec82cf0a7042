"""Orchestration settings: stages to skip, task runner, deployments, run options."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from moodrec.config.loader import load_settings
from moodrec.errors import ConfigError
from moodrec.orchestration.config import (
    STAGE_NAMES,
    DaskConfig,
    DeploymentsConfig,
    OrchestrationConfig,
)
from moodrec.orchestration.params import RunOptions, options_overrides


def test_defaults_run_every_stage_on_threads() -> None:
    cfg = OrchestrationConfig()
    assert cfg.task_runner == "thread"
    assert all(cfg.runs(s) for s in STAGE_NAMES)
    assert cfg.deployments.refresh_cron == "0 3 * * 1"


def test_skip_is_checked_against_known_stages(config_env) -> None:
    cfg = OrchestrationConfig(skip=["enrich", "session"])
    assert not cfg.runs("enrich") and cfg.runs("topics")
    with pytest.raises(ValidationError, match="unknown stage"):
        OrchestrationConfig(skip=["lyrics"])
    with pytest.raises(ValidationError, match="nothing would run"):
        OrchestrationConfig(skip=list(STAGE_NAMES))
    with pytest.raises(ConfigError, match="unknown stage"):
        cfg.runs("nope")
    # through the loader the message names the field
    with pytest.raises(ConfigError, match="orchestration"):
        load_settings("tiny", overrides={"orchestration": {"skip": ["lyrics"]}})


def test_dask_and_deployment_fields_are_validated() -> None:
    assert DaskConfig(address="tcp://scheduler:8786").address == "tcp://scheduler:8786"
    with pytest.raises(ValidationError, match="must start with"):
        DaskConfig(address="scheduler:8786")
    with pytest.raises(ValidationError, match="unknown stage"):
        DaskConfig(stages=["sweeps"])
    assert DeploymentsConfig(refresh_cron=None).refresh_cron is None
    with pytest.raises(ValidationError, match="cron"):
        DeploymentsConfig(refresh_cron="every monday")
    with pytest.raises(ValidationError):
        OrchestrationConfig(task_runner="ray")
    with pytest.raises(ValidationError):
        OrchestrationConfig(unknown=1)


def test_run_options_become_overrides(config_env) -> None:
    assert options_overrides(None) is None
    assert options_overrides(RunOptions()) is None
    assert options_overrides(None, {"sandbox": {"seed": 1}}) == {"sandbox": {"seed": 1}}
    opts = RunOptions(
        seed=5, skip=["enrich"], task_runner="dask", dask_address="tcp://h:8786", report_title="t"
    )
    merged = options_overrides(opts, {"sandbox": {"profile": "tiny"}, "paths": {"data_dir": "x"}})
    assert merged == {
        "sandbox": {"profile": "tiny", "seed": 5},
        "paths": {"data_dir": "x"},
        "orchestration": {
            "skip": ["enrich"],
            "task_runner": "dask",
            "dask": {"address": "tcp://h:8786"},
            "report": {"title": "t"},
        },
    }
    settings = load_settings("tiny", overrides=merged)
    assert settings.orchestration.dask.address == "tcp://h:8786"
    assert settings.sandbox.seed == 5
    with pytest.raises(ValidationError):
        RunOptions(skip=["lyrics"])


def test_run_options_schema_is_a_form() -> None:
    """The Prefect UI renders an object schema with typed properties as a form."""
    schema = RunOptions.model_json_schema()
    assert set(schema["properties"]) == {
        "seed",
        "skip",
        "task_runner",
        "dask_address",
        "report_title",
    }
    skip = schema["properties"]["skip"]["anyOf"][0]
    assert skip["type"] == "array" and skip["items"]["enum"] == list(STAGE_NAMES)
