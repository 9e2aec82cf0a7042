"""The contract every registered recommender honours, on a matrix whose right answer is known.

Models are collected from ``Recommender.registry`` after importing every module of
``moodrec.models.MODEL_MODULES``, so a new model is tested as soon as its module is listed.
Models may set ``contract_params`` for a fast fit here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from moodrec.errors import ModelError
from moodrec.models import load_models
from moodrec.models.base import ItemFeatures, Recommender

REGISTRY = load_models()
NAMES = sorted(REGISTRY)
#: models not expected to find the missing item: a global ranking, and the rating regressors
#: (every value here is 1, so there is nothing to regress)
NON_PERSONAL = {"popularity", "rating_mf", "rating_deep"}

N_BLOCK_USERS, BLOCK_ITEMS, N_COLD = 6, 5, 2
N_ITEMS = 2 * BLOCK_ITEMS + N_COLD


def block_matrix() -> tuple[sp.csr_matrix, np.ndarray]:
    """Two taste blocks; each user has played 4 of their block's 5 items (a rotating one is
    missing) and nothing outside it; items 10 and 11 are cold. The right top-1 for every user
    is the missing block item."""
    rows, cols, missing = [], [], []
    for block in range(2):
        for j in range(N_BLOCK_USERS):
            u = block * N_BLOCK_USERS + j
            miss = block * BLOCK_ITEMS + j % BLOCK_ITEMS
            missing.append(miss)
            for i in range(block * BLOCK_ITEMS, (block + 1) * BLOCK_ITEMS):
                if i != miss:
                    rows.append(u)
                    cols.append(i)
    data = np.ones(len(rows), dtype=np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(2 * N_BLOCK_USERS, N_ITEMS))
    return m, np.asarray(missing)


GROUPS = ("audio", "genre", "cluster", "topics", "popularity")


def item_features() -> ItemFeatures:
    """One column per content group; the audio column separates the two blocks."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(N_ITEMS, len(GROUPS))).astype(np.float32)
    values[:, 0] = np.repeat([1.0, -1.0, 0.0], [BLOCK_ITEMS, BLOCK_ITEMS, N_COLD])
    return ItemFeatures(values, list(GROUPS), {g: [g] for g in GROUPS})


def make(name: str, seed: int = 0) -> Recommender:
    klass = REGISTRY[name]
    params = dict(klass.contract_params)
    model = klass(**params)
    if "seed" in model.params:
        model = klass(**(params | {"seed": seed}))
    return model


@pytest.fixture(scope="module")
def fitted() -> dict[str, Recommender]:
    m, _ = block_matrix()
    return {name: make(name).fit(m, item_features=item_features()) for name in NAMES}


def test_the_classical_models_are_registered() -> None:
    assert {"popularity", "itemknn", "ease", "ials"} <= set(REGISTRY)


@pytest.mark.parametrize("name", NAMES)
def test_unfitted_model_refuses_to_score(name: str) -> None:
    with pytest.raises(ModelError, match="fit"):
        make(name).recommend([0], 3)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in NON_PERSONAL])
def test_recommends_the_missing_block_item_first(name: str, fitted) -> None:
    _, missing = block_matrix()
    idx, _ = fitted[name].recommend(np.arange(2 * N_BLOCK_USERS), 1, exclude_seen=True)
    assert (idx[:, 0] == missing).mean() >= 0.75, idx[:, 0]


def test_popularity_ranks_by_listeners_ties_by_lower_index(fitted) -> None:
    idx, scores = fitted["popularity"].recommend([0], 12, exclude_seen=False)
    m, _ = block_matrix()
    counts = np.bincount(m.indices, minlength=N_ITEMS)
    expected = np.lexsort((np.arange(N_ITEMS), -counts))
    np.testing.assert_array_equal(idx[0], expected)
    np.testing.assert_array_equal(scores[0], counts[expected])


@pytest.mark.parametrize("name", NAMES)
def test_exclude_seen_and_candidate_restriction(name: str, fitted) -> None:
    m, _ = block_matrix()
    model = fitted[name]
    users = np.arange(m.shape[0])
    idx, scores = model.recommend(users, N_ITEMS, exclude_seen=True)
    for u in users:
        got = idx[u][idx[u] >= 0]
        assert not set(got) & set(m[u].indices)
        assert len(got) == N_ITEMS - m[u].nnz  # every unseen item ranked, seen ones padded
        assert np.all(np.diff(scores[u][: len(got)]) <= 0)
    idx_all, _ = model.recommend(users, N_ITEMS, exclude_seen=False)
    assert np.all(idx_all >= 0)
    cand = np.array([1, 7, 11])
    idx_c, _ = model.recommend([0, 6], 5, exclude_seen=False, items=cand)
    assert set(idx_c[idx_c >= 0].tolist()) <= set(cand.tolist())
    assert np.all(idx_c[:, 3:] == -1)


@pytest.mark.parametrize("name", NAMES)
def test_score_shapes(name: str, fitted) -> None:
    model = fitted[name]
    assert model.score(np.array([0, 3]), None).shape == (2, N_ITEMS)
    assert model.score(np.array([0, 3]), np.array([2, 5, 11])).shape == (2, 3)
    np.testing.assert_allclose(
        model.score(np.array([4]), np.array([2, 5]))[0],
        model.score(np.array([4]), None)[0, [2, 5]],
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip_keeps_scores(name: str, fitted, tmp_path: Path) -> None:
    model = fitted[name]
    model.save(tmp_path / name)
    loaded = Recommender.load(tmp_path / name)
    assert type(loaded) is type(model) and loaded.params == model.params
    users = np.arange(2 * N_BLOCK_USERS)
    np.testing.assert_allclose(loaded.score(users), model.score(users), rtol=1e-6, atol=1e-6)
    a, _ = model.recommend(users, 4)
    b, _ = loaded.recommend(users, 4)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_scores(name: str) -> None:
    m, _ = block_matrix()
    a = make(name, seed=3).fit(m, item_features=item_features()).score(np.arange(4))
    b = make(name, seed=3).fit(m, item_features=item_features()).score(np.arange(4))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_loading_a_corrupt_model_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match=r"model\.json"):
        Recommender.load(tmp_path)


def test_empty_training_matrix_is_a_fit_error() -> None:
    from moodrec.errors import ModelFitError

    with pytest.raises(ModelFitError):
        make("ials").fit(sp.csr_matrix((3, 4), dtype=np.float32))
