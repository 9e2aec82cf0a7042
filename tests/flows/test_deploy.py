"""Deployments served by ``moodrec serve``: the typed pipeline form and the cron refresh."""

from __future__ import annotations

from moodrec.config.loader import available_profiles
from moodrec.flows.deploy import build_deployments


def test_build_deployments(config_env) -> None:
    pipeline, refresh = build_deployments("tiny")
    assert pipeline.name == "moodrec-pipeline"
    assert pipeline.parameters == {"profile": "tiny"}
    props = pipeline._parameter_openapi_schema.properties
    assert {"profile", "overrides", "options"} <= set(props)
    # the common options are flat, typed fields of their own, each with its default
    assert props["seed"]["default"] is None and props["replace"]["default"] is False
    assert props["task_runner"]["default"] is None
    assert "thread" in str(props["task_runner"]) and "dask" in str(props["task_runner"])
    assert "skip" in props
    # the profile is chosen from the profiles there are, not typed
    assert props["profile"]["enum"] == available_profiles()
    assert {"demo", "tiny", "lastfm1k"} <= set(props["profile"]["enum"])
    # the typed options render as a form: an object with its own typed fields
    definitions = pipeline._parameter_openapi_schema.definitions
    assert set(definitions["RunOptions"]["properties"]) >= {"seed", "skip", "task_runner"}
    assert refresh.name == "refresh-metadata"
    (schedule,) = refresh.schedules
    assert schedule.schedule.cron == "0 3 * * 1"
    assert schedule.schedule.timezone == "UTC"
    assert pipeline.schedules in (None, [])


def test_refresh_cron_can_be_switched_off(config_env, monkeypatch) -> None:
    monkeypatch.setenv("MOODREC_ORCHESTRATION__DEPLOYMENTS__REFRESH_CRON", "null")
    _, refresh = build_deployments("tiny")
    assert not refresh.schedules
