"""The pipeline's native thread pools: limited inside, restored outside."""

from __future__ import annotations

import os

import numpy as np  # loads OpenBLAS before the limit, as moodrec's own imports do
import pytest
from threadpoolctl import threadpool_info

from moodrec.orchestration.config import OrchestrationConfig
from moodrec.orchestration.threads import THREAD_ENV_VARS, limit_native_threads


def _blas_threads() -> set[int]:
    return {d["num_threads"] for d in threadpool_info() if d["internal_api"] == "openblas"}


def test_limit_applies_inside_and_restores_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in THREAD_ENV_VARS:
        monkeypatch.delenv(key, raising=False)
    assert np.ones(2).sum() == 2
    before = _blas_threads()
    with limit_native_threads(1):
        assert {os.environ[k] for k in THREAD_ENV_VARS} == {"1"}
        assert _blas_threads() == {1}
    assert all(k not in os.environ for k in THREAD_ENV_VARS)
    assert _blas_threads() == before


def test_none_changes_nothing_and_explicit_env_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    with limit_native_threads(None):
        assert os.environ["OMP_NUM_THREADS"] == "2"
    with limit_native_threads(1):
        assert os.environ["OMP_NUM_THREADS"] == "2"  # the user's setting is kept
    assert OrchestrationConfig().native_threads == 1
    with pytest.raises(ValueError):
        OrchestrationConfig(native_threads=0)
