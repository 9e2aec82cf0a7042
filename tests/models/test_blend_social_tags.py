"""The friends + tags blend: no leak of held-out pairs, parts that work, weights from validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from moodrec.errors import ModelError
from moodrec.evaluation.side_info import friends_graph, item_tag_matrix, read_hetrec_side
from moodrec.experiment.tuning import tune_model
from moodrec.models.base import Recommender, SideInformation
from moodrec.models.blend_social_tags import WEIGHT_GRID, SocialTagBlend, standardise_unseen
from tests.models.planted import planted

FAST = {"factors": 4, "iterations": 5, "ials_models": 1, "lambda_": 10.0, "min_users": 1}


def test_standardise_unseen_uses_only_unseen_entries() -> None:
    rng = np.random.default_rng(0)
    s = rng.normal(size=(4, 9))
    seen = sp.csr_matrix(rng.random((4, 9)) < 0.3)
    z = standardise_unseen(s, seen)
    for r in range(4):
        unseen = ~seen[r].toarray().ravel()
        vals = s[r, unseen]
        np.testing.assert_allclose(z[r], (s[r] - vals.mean()) / vals.std(), rtol=1e-5)


def test_friends_graph_is_symmetric_binary_without_self_links() -> None:
    g = friends_graph(np.array([0, 1, 2, 2]), np.array([1, 0, 2, 3]), 4).toarray()
    np.testing.assert_array_equal(g, g.T)
    assert g[0, 1] == 1 and g[2, 3] == 1 and g[2, 2] == 0 and g.max() == 1


def test_item_tag_matrix_withholds_held_out_pairs() -> None:
    users, items, tags = np.array([0, 0, 1]), np.array([2, 2, 2]), np.array([0, 1, 1])
    withheld = sp.csr_matrix(([1.0], ([0], [2])), shape=(2, 3))  # user 0's item 2 is held out
    m = item_tag_matrix(users, items, tags, (3, 2), withheld).toarray()
    np.testing.assert_array_equal(m[2], [0, 1])  # only user 1's assignment stays
    np.testing.assert_array_equal(item_tag_matrix(users, items, tags, (3, 2)).toarray()[2], [1, 2])


def small() -> tuple[sp.csr_matrix, SideInformation]:
    """6 users × 8 items; users 0 and 1 are friends; items 5 and 6 share tag 0."""
    train = sp.csr_matrix(
        np.array(
            [
                [1, 1, 0, 0, 0, 1, 0, 0],
                [1, 0, 1, 1, 0, 0, 0, 0],
                [0, 1, 1, 0, 1, 0, 0, 0],
                [1, 0, 0, 0, 1, 0, 0, 1],
                [0, 1, 0, 1, 0, 0, 0, 1],
                [0, 0, 1, 0, 0, 0, 1, 1],
            ],
            dtype=np.float32,
        )
    )
    graph = friends_graph(np.array([0]), np.array([1]), 6)
    tags = sp.csr_matrix(([1.0, 1.0, 1.0], ([5, 6, 7], [0, 0, 1])), shape=(8, 2))
    return train, SideInformation(user_graph=graph, item_tags=tags)


def test_social_part_counts_only_friends_training_items() -> None:
    train, side = small()
    model = SocialTagBlend(search_weights=False, **FAST).fit(train, side=side)
    social = model._part_scores(np.array([0]))["social"][0]
    # friend 1 has items 0, 2, 3 in training; item 4 (not in the friend's row) ranks below
    assert social[2] > social[4] and social[3] > social[4]
    assert social[4] == social[6]


def test_tags_part_prefers_items_sharing_the_users_tags() -> None:
    train, side = small()
    model = SocialTagBlend(search_weights=False, **FAST).fit(train, side=side)
    tags = model._part_scores(np.array([0]))["tags"][0]
    assert tags[6] > tags[7] and tags[6] > tags[4]  # user 0 played item 5, tag 0 like item 6


def test_tag_rows_pull_items_sharing_a_tag_together() -> None:
    train, side = small()

    def cosine(tag_rows: float) -> float:
        model = SocialTagBlend(search_weights=False, tag_rows=tag_rows, **FAST)
        model.fit(train, side=side)
        y = model.ials[0].item_factors
        assert model.ials[0].user_factors.shape[0] == train.shape[0]  # tag rows dropped
        return float(y[5] @ y[6] / (np.linalg.norm(y[5]) * np.linalg.norm(y[6])))

    assert cosine(3.0) > cosine(0.0)


def test_without_side_information_it_is_a_pure_cf_blend() -> None:
    train, _ = small()
    model = SocialTagBlend(search_weights=False, **FAST).fit(train)
    assert set(model._part_scores(np.arange(2))) == {"ials", "ease"}


def test_parts_limit_the_blend_to_tags_and_save_load(tmp_path: Path) -> None:
    train, side = small()
    model = SocialTagBlend(search_weights=False, parts=["tags"], ease_weight=0.4, **FAST)
    model.fit(train, side=side)
    assert set(model._part_scores(np.arange(2))) == {"ials", "tags"}
    assert model.params["ease_weight"] == 0.0 and model.params["social_weight"] == 0.0
    loaded = Recommender.load(model.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded.score(np.arange(6)), model.score(np.arange(6)), atol=1e-5)
    with pytest.raises(ModelError, match="unknown part"):
        SocialTagBlend(parts=["lyrics"])


def test_side_information_of_the_wrong_shape_raises() -> None:
    train, _ = small()
    bad = SideInformation(user_graph=sp.csr_matrix((3, 3)))
    with pytest.raises(ModelError, match="user_graph"):
        SocialTagBlend(**FAST).fit(train, side=bad)


def test_save_load_keeps_the_side_parts(tmp_path: Path) -> None:
    train, side = small()
    model = SocialTagBlend(search_weights=False, **FAST).fit(train, side=side)
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    users = np.arange(6)
    np.testing.assert_allclose(loaded.score(users), model.score(users), rtol=1e-5, atol=1e-5)


def test_weights_are_chosen_on_validation_and_kept_by_tuning() -> None:
    data = planted(n_users=80, n_items=60, seed=3)
    n_users, n_items = data.train.shape
    graph = friends_graph(np.arange(0, n_users - 1, 2), np.arange(1, n_users, 2), n_users)
    tags = sp.csr_matrix(np.eye(4)[data.item_group])  # the planted group as a tag
    side = SideInformation(user_graph=graph, item_tags=sp.csr_matrix(tags.reshape(n_items, 4)))
    result = tune_model(
        "blend_social_tags",
        data.train,
        data.test,
        {},
        base_params={"weighting": "raw"} | FAST,
        side=side,
        budget_s=60,
    )
    best = result.best_params
    assert best["search_weights"] is False
    assert {best["ease_weight"], best["social_weight"], best["tags_weight"]} <= set(WEIGHT_GRID)
    assert best["tags_weight"] > 0  # the planted group is the strongest signal


def test_real_hetrec_side_information(shared_data: Path) -> None:
    from moodrec.evaluation.splits import holdout_split
    from moodrec.interactions.matrix import read_user_artists

    folder = shared_data / "hetrec2011_lastfm_2k"
    inter = read_user_artists(folder / "user_artists.dat")
    hetrec = read_hetrec_side(folder, inter.user_ids, inter.item_ids)
    assert hetrec.user_graph.shape == (inter.n_users, inter.n_users)
    assert hetrec.user_graph.nnz > 20_000 and hetrec.n_tags > 9_000
    split = holdout_split(inter.counts, 0.2, 1, 0.2)
    before = split.train.copy()
    side = hetrec.side_for(split.train, inter.counts)
    assert (split.train != before).nnz == 0  # the training matrix is not modified
    tagged = sp.csr_matrix(
        (np.ones(hetrec.tag_users.size), (hetrec.tag_users, hetrec.tag_items)),
        shape=inter.counts.shape,
    )
    held_out = sp.csr_matrix(inter.counts - split.train_full)
    held_out.eliminate_zeros()
    leaked = tagged.multiply(held_out > 0)
    assert leaked.nnz > 0  # some test pairs are tagged: withholding matters
    test_side = hetrec.side_for(split.train_full, inter.counts)
    full = item_tag_matrix(
        hetrec.tag_users, hetrec.tag_items, hetrec.tag_codes, (inter.n_items, hetrec.n_tags)
    )
    assert test_side.item_tags.sum() == full.sum() - tagged.multiply(held_out > 0).sum()
    assert side.item_tags.sum() < test_side.item_tags.sum()


def test_friend_cols_pull_friends_user_factors_together(tmp_path: Path) -> None:
    train, side = small()
    # users 0 and 5 share no item; make them friends
    side = SideInformation(
        user_graph=friends_graph(np.array([0]), np.array([5]), 6), item_tags=side.item_tags
    )
    fast = FAST | {"reg": 1.0, "iterations": 15}

    def fitted(friend_cols: float) -> SocialTagBlend:
        model = SocialTagBlend(
            search_weights=False, parts=["social", "tags"], friend_cols=friend_cols, **fast
        )
        return model.fit(train, side=side)

    def cosine(model: SocialTagBlend) -> float:
        x = model.ials[0].user_factors
        return float(x[0] @ x[5] / (np.linalg.norm(x[0]) * np.linalg.norm(x[5])))

    model = fitted(5.0)
    ials = model.ials[0]
    # the pseudo rows and columns served the fit only: the model has the real shape
    assert ials.user_factors.shape[0] == train.shape[0]
    assert ials.item_factors.shape[0] == train.shape[1] == model.score(np.arange(6)).shape[1]
    assert cosine(model) > cosine(fitted(0.0)) + 0.5
    loaded = Recommender.load(model.save(tmp_path / "m"))
    assert loaded.params["friend_cols"] == 5.0
    np.testing.assert_allclose(loaded.score(np.arange(6)), model.score(np.arange(6)), atol=1e-5)
    with pytest.raises(ModelError, match="friend_cols"):
        SocialTagBlend(friend_cols=-1.0)


def test_ease_part_only_without_tag_rows_ignores_side_information() -> None:
    """The pure-CF iALS + EASE row of the benchmark: side information given but unused."""
    train, side = small()
    params = {"search_weights": False, "parts": ["ease"], "tag_rows": 0.0, "ease_weight": 0.4}
    with_side = SocialTagBlend(**params, **FAST).fit(train, side=side)
    without = SocialTagBlend(**params, **FAST).fit(train)
    assert set(with_side._part_scores(np.arange(2))) == {"ials", "ease"}
    np.testing.assert_array_equal(with_side.score(np.arange(6)), without.score(np.arange(6)))
