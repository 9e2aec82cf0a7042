"""Every registered recommender honours the saved-model and recommender contracts.

Models are collected from ``Recommender.registry`` after importing every module of
``moodrec.models.MODEL_MODULES``, so a new model is tested as soon as its module is listed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from moodrec.models import load_models
from tests.contract import N_ITEMS, RecommenderContract, block_matrix

NAMES = sorted(load_models())


class TestRecommenderContract(RecommenderContract):
    @pytest.fixture(scope="class", params=NAMES)
    @classmethod
    def name(cls, request: pytest.FixtureRequest) -> str:
        return request.param

    @pytest.fixture(scope="class")
    @classmethod
    def data(cls) -> sp.csr_matrix:
        return block_matrix()[0]


def test_the_classical_models_are_registered() -> None:
    assert {"popularity", "itemknn", "ease", "ials"} <= set(NAMES)


def test_popularity_ranks_by_listeners_ties_by_lower_index() -> None:
    m, _ = block_matrix()
    model: Any = load_models()["popularity"]().fit(m)
    idx, scores = model.recommend([0], 12, exclude_seen=False)
    counts = np.bincount(m.indices, minlength=N_ITEMS)
    expected = np.lexsort((np.arange(N_ITEMS), -counts))
    np.testing.assert_array_equal(idx[0], expected)
    np.testing.assert_array_equal(scores[0], counts[expected])
