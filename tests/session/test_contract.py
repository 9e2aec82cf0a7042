"""Every registered session recommender honours the saved-model and session contracts."""

from __future__ import annotations

import pytest

from moodrec.session import load_session_models
from moodrec.session.data import SessionData
from moodrec.session.evaluate import split_last_sessions
from tests.contract import SessionRecommenderContract
from tests.session.conftest import mood_world

NAMES = sorted(load_session_models())


class TestSessionRecommenderContract(SessionRecommenderContract):
    @pytest.fixture(scope="class", params=NAMES)
    @classmethod
    def name(cls, request: pytest.FixtureRequest) -> str:
        return request.param

    @pytest.fixture(scope="class")
    @classmethod
    def data(cls) -> SessionData:
        world = mood_world()
        return world.subset(split_last_sessions(world, 1).train)


def test_the_session_models_are_registered() -> None:
    assert {"pop", "spop", "sr", "sknn", "vsknn", "gru4rec", "mood"} <= set(NAMES)
