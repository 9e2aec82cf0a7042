"""Flow tests share the session's one temporary Prefect API: the ``harness`` fixture of
``tests/conftest.py``; and one finished run of the whole tiny pipeline (:func:`tiny_run`)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from tests.conftest import REPO


@dataclass(frozen=True)
class TinyRun:
    """One finished run of the tiny pipeline, stages side by side (the default), with the
    small settings of ``tests.flows.test_kill_pipeline.FAST``."""

    #: the run's own data folder: only a test that re-runs the pipeline there (with
    #: :attr:`overrides`, so that every task's cache key is the same) may write in it
    data_dir: Path
    #: a copy of :attr:`data_dir` taken as the run ended: read it, never write it
    snapshot: Path
    overrides: dict[str, Any]
    flow_run_id: UUID
    #: the pipeline flow's return value (its refs point into :attr:`data_dir`)
    results: dict[str, Any]


@pytest.fixture(scope="session")
def tiny_run(harness, tmp_path_factory: pytest.TempPathFactory) -> TinyRun:
    """The tiny pipeline run once per session, by the first test that asks for it.

    A whole tiny run costs ~15 s of CPU; the tests that only read a finished run's outputs
    (or re-run it to check its cache) share this one instead of each computing the same.
    """
    from moodrec.flows.pipeline import pipeline_flow
    from tests.flows.test_kill_pipeline import FAST

    root = tmp_path_factory.mktemp("tiny-run")
    data_dir = root / "data"
    overrides = {"paths": {"data_dir": str(data_dir)}, **FAST}
    with pytest.MonkeyPatch.context() as patch:  # what the config_env fixture does
        patch.setenv("MOODREC_CONFIG_DIR", str(REPO / "config"))
        state = pipeline_flow(profile="tiny", overrides=overrides, return_state=True)
    if not state.is_completed():
        pytest.fail(f"the shared tiny pipeline run ended {state.type.value}: {state.message}")
    results = state.result()
    snapshot = root / "snapshot"
    shutil.copytree(data_dir, snapshot, symlinks=True)
    return TinyRun(
        data_dir=data_dir,
        snapshot=snapshot,
        overrides=overrides,
        flow_run_id=state.state_details.flow_run_id,
        results=results,
    )
