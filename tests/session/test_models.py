"""Each session recommender finds the planted right answer (the contract: test_contract.py)."""

from __future__ import annotations

import numpy as np
import pytest

from moodrec.errors import ModelError
from moodrec.session import create_session_model, load_session_models
from moodrec.session.base import SessionRecommender
from moodrec.session.evaluate import split_last_sessions
from tests.session.conftest import CALM, ENERGETIC

MODELS = ["pop", "spop", "sr", "sknn", "vsknn", "gru4rec", "mood"]


@pytest.fixture(scope="module")
def fitted(world) -> dict[str, SessionRecommender]:
    split = split_last_sessions(world, 1)
    train = world.subset(split.train)
    models = {}
    for name in MODELS:
        params = load_session_models()[name].contract_params
        models[name] = create_session_model(name, **params).fit(train)
    return models


def test_unknown_models_raise() -> None:
    with pytest.raises(ModelError, match="unknown session model"):
        create_session_model("nope")


@pytest.mark.parametrize("name", ["sr", "sknn", "vsknn", "gru4rec", "mood"])
def test_sequence_models_learn_the_planted_successor(fitted, name: str) -> None:
    # in the mood world item i is followed by i + 1 within its mood block; popularity finds
    # it by chance only; the blends (gru4rec, mood) need not be perfect but must learn it
    def hits(model_name: str) -> int:
        found = 0
        for start in range(0, 19):
            idx, _ = fitted[model_name].recommend_next([start, start + 1], user=0, k=5)
            found += int(start + 2 in idx)
        return found

    need = 15 if name in ("sr", "sknn", "vsknn") else 10
    assert hits(name) >= need > hits("pop"), f"{name} found the successor {hits(name)}/19"


def test_popularity_ignores_the_session(fitted) -> None:
    a = fitted["pop"].recommend_next([0], k=5)[0]
    b = fitted["pop"].recommend_next([25, 26], k=5)[0]
    assert a.tolist() == b.tolist()


def test_mood_model_infers_and_obeys_the_mood(fitted, world) -> None:
    model = fitted["mood"]
    ve = world.mood.ve
    calm = model.states.index("state_0") if model.states.labels[0] == "state_0" else 0
    # the state nearer to the calm centre
    calm = int(np.argmin(((model.states.centres - np.asarray(CALM)) ** 2).sum(axis=1)))
    energetic = 1 - calm
    post = model.mood_posterior(np.array([21, 22]), user=0)
    assert post[energetic] > 0.99
    rec_calm, _ = model.recommend_next([], user=3, k=10, target_mood=calm)
    rec_en, _ = model.recommend_next([], user=3, k=10, target_mood=energetic)
    d = lambda rec, c: np.sqrt(((ve[rec] - np.asarray(c)) ** 2).sum(axis=1)).mean()  # noqa: E731
    assert d(rec_calm, CALM) < 0.15 and d(rec_en, ENERGETIC) < 0.15
    with pytest.raises(ModelError, match="target_mood"):
        model.recommend_next([], user=0, target_mood=5)


def test_mood_model_reaches_cold_items_through_content(world) -> None:
    # item 39 is never played in training: only the content kernel can rank it
    keep = np.array([39 not in world.session(s) for s in range(world.n_sessions)])
    train = world.subset(np.flatnonzero(keep))
    model = create_session_model(
        "mood", n_states=2, w_content=1.0, w_user_mood=0, w_user=0, w_artist=0, w_session=0
    ).fit(train)
    scores = model.score_next(np.array([30, 31]), user=0)
    assert scores[39] > 0
    sknn = create_session_model("sknn").fit(train)
    assert sknn.score_next(np.array([30, 31]))[39] == 0


def test_gru_is_seeded(world) -> None:
    params = {"epochs": 1, "embedding_dim": 8, "hidden_dim": 8, "seed": 3}
    a = create_session_model("gru4rec", **params).fit(world)
    b = create_session_model("gru4rec", **params).fit(world)
    np.testing.assert_array_equal(a.score_next(np.array([1, 2])), b.score_next(np.array([1, 2])))


def test_mood_model_without_features_runs_on_ids(world) -> None:
    import dataclasses

    ids_only = dataclasses.replace(world, mood=None)
    model = create_session_model("mood").fit(ids_only)
    assert model.states is None and model.n_states == 1
    idx, _ = model.recommend_next([3, 4], user=0, k=5)
    assert (idx >= 0).all()


def test_mood_model_uses_a_registered_long_term_recommender(world) -> None:
    model = create_session_model("mood", n_states=2, long_term_model="ials").fit(world)
    assert model.long_term.shape == (world.n_users, world.n_items)
    assert np.allclose(model.long_term.sum(axis=1), 1.0, atol=1e-4)
    with pytest.raises(ModelError, match="long_term_model"):
        create_session_model("mood", long_term_model="no-such-model").fit(world)
