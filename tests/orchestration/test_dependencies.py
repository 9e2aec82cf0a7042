"""The stage dependency table: only earlier stages, and the sources decide what is read."""

from __future__ import annotations

from typing import Any

import pytest

from moodrec.config.loader import available_profiles, load_settings
from moodrec.orchestration.config import STAGE_NAMES
from moodrec.orchestration.dependencies import (
    DASK_CLUSTER,
    IN_PROCESS_FITS,
    exclusive_resources,
    run_alone,
    stage_needs,
)
from moodrec.orchestration.schedule import check_order

PIPELINE = [s for s in STAGE_NAMES if s != "report"]


def _settings(profile: str = "demo", **overrides: Any) -> Any:
    return load_settings(profile, environ={}, overrides=overrides)


@pytest.mark.parametrize("profile", sorted(available_profiles()))
def test_every_profile_needs_only_earlier_known_stages(config_env, profile: str) -> None:
    needs = stage_needs(_settings(profile))
    assert set(needs) == set(PIPELINE)
    assert all(set(n) <= set(PIPELINE) for n in needs.values())
    check_order(PIPELINE, needs)  # a sequential run in pipeline order stays valid
    assert all("ingest" in n for s, n in needs.items() if s != "ingest")


def test_sandbox_sources_need_only_the_ingest_and_what_they_read(config_env) -> None:
    needs = stage_needs(_settings("demo"))
    assert needs["session"] == {"ingest"}  # features from the sandbox truth
    assert needs["topics"] == {"ingest"}
    assert needs["genres"] == {"ingest", "clusters"}  # the song map's cluster colours
    assert needs["train"] == {"ingest"}
    assert needs["evaluate"] == {"ingest", "train"}
    assert needs["ablation"] == {"ingest", "topics", "clusters", "genres"}


def test_enrich_sources_need_the_enrich_stage(config_env) -> None:
    needs = stage_needs(
        _settings(
            "demo",
            session={"features_source": "enrich"},
            lyrics={"source": "enrich"},
            clustering={"source": "enrich"},
            genres={"source": "enrich"},
        )
    )
    assert needs["session"] == {"ingest", "enrich"}
    assert needs["topics"] == {"ingest", "enrich"}
    assert needs["clusters"] == {"ingest", "enrich", "topics"}
    assert needs["genres"] == {"ingest", "clusters", "enrich"}


def test_a_real_log_reads_content_from_the_content_stages(config_env) -> None:
    needs = stage_needs(_settings("lastfm1k"))
    assert {"content", "topics", "clusters", "genres"} <= needs["train"]
    assert {"content", "topics", "clusters", "genres"} <= needs["ablation"]


def test_in_process_fits_never_share_the_process(config_env) -> None:
    s = _settings("demo")
    held = exclusive_resources(s, ablation_in_process=False)
    assert {n for n, r in held.items() if IN_PROCESS_FITS in r} == {"train", "evaluate", "session"}
    assert run_alone(s, ablation_in_process=False) == frozenset()
    held = exclusive_resources(s, ablation_in_process=True)
    assert IN_PROCESS_FITS in held["ablation"]
    # its search budget counts this process's CPU seconds: nothing may run beside it
    assert run_alone(s, ablation_in_process=True) == {"ablation"}


def test_a_cpu_budgeted_search_runs_alone(config_env) -> None:
    tuned = _settings(
        "demo", recommend={"tuning": {"enabled": True, "spaces": {"ials": {"reg": [1.0, 10.0]}}}}
    )
    assert run_alone(tuned, ablation_in_process=False) == {"train", "evaluate"}


def test_dask_stages_each_start_their_own_cluster_one_at_a_time(config_env) -> None:
    s = _settings("demo", orchestration={"task_runner": "dask"})
    held = exclusive_resources(s, ablation_in_process=False)
    assert {n for n, r in held.items() if DASK_CLUSTER in r} == set(s.orchestration.dask.stages)
