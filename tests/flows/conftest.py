"""One temporary Prefect API (and result store) per flow-test module."""

from __future__ import annotations

import pytest
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory):
    storage = tmp_path_factory.mktemp("prefect-results")
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}), prefect_test_harness():
        yield
