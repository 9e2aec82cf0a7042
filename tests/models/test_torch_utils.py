"""The shared torch training pieces: negative sampling, hard negatives, the factor mixin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from pydantic import ValidationError

from moodrec.models.bpr import BPRMF
from moodrec.models.deep_config import SEARCH_SPACES, BPRConfig, HybridConfig, NeuMFConfig
from moodrec.models.factor import BiasedFactors, squared_norms
from moodrec.models.hybrid import HybridRecommender
from moodrec.models.saved import read_model_files
from moodrec.models.torch_utils import (
    bpr_batches,
    hardest_negatives,
    ndcg_at_k,
    negative_weights,
)
from tests.models.planted import planted


def _matrix() -> sp.csr_matrix:
    # item 0: 4 users, item 1: 1 user, item 2: 0 users (cold), item 3: 2 users
    rows = [0, 1, 2, 3, 0, 1, 2]
    cols = [0, 0, 0, 0, 1, 3, 3]
    return sp.csr_matrix((np.ones(7, np.float32), (rows, cols)), shape=(4, 4))


def test_negative_weights_follow_popularity_to_the_power_alpha() -> None:
    train = _matrix()
    candidates = np.array([0, 1, 3])
    assert negative_weights(train, candidates, 0.0) is None
    w = negative_weights(train, candidates, 1.0)
    np.testing.assert_allclose(w, np.array([4, 1, 2]) / 7)
    half = negative_weights(train, candidates, 0.5)
    np.testing.assert_allclose(half, np.sqrt([4, 1, 2]) / np.sqrt([4, 1, 2]).sum())


def test_bpr_batches_draw_negatives_from_candidates_by_weight() -> None:
    users = np.zeros(20_000, dtype=np.int64)
    items = np.zeros(20_000, dtype=np.int64)
    candidates = np.array([1, 3])
    weights = np.array([0.2, 0.8])
    rng = np.random.default_rng(0)
    negs = np.concatenate(
        [j.numpy() for _, _, j in bpr_batches(users, items, candidates, 4096, 1, rng, weights)]
    )
    assert negs.size == users.size
    assert set(np.unique(negs)) == {1, 3}
    assert abs(np.mean(negs == 3) - 0.8) < 0.02


def test_bpr_batches_with_a_pool_yield_a_candidate_matrix() -> None:
    users = np.arange(10, dtype=np.int64)
    rng = np.random.default_rng(0)
    batches = list(bpr_batches(users, users, np.arange(5), 4, 2, rng, pool=3))
    assert [tuple(j.shape) for _, _, j in batches] == [(4, 3), (4, 3), (4, 3), (4, 3), (4, 3)]
    # every positive appears once per negative round
    seen = np.sort(np.concatenate([u.numpy() for u, _, _ in batches]))
    np.testing.assert_array_equal(seen, np.repeat(np.arange(10), 2))


def test_hardest_negatives_pick_the_highest_scored_candidate() -> None:
    item_score = torch.tensor([0.0, 5.0, -1.0, 2.0])

    def pair(u: torch.Tensor, i: torch.Tensor, j: torch.Tensor):
        # user 1 prefers the reverse order of items
        sign = torch.where(u == 1, -1.0, 1.0)
        return torch.stack([item_score[i], sign * item_score[j]], 1), torch.tensor(0.0)

    pool = torch.tensor([[0, 2, 3], [1, 2, 3], [0, 1, 3]])
    got = hardest_negatives(pair, torch.tensor([0, 1, 0]), torch.tensor([0, 0, 0]), pool)
    np.testing.assert_array_equal(got.numpy(), [3, 2, 1])


def test_squared_norms_and_biased_factor_pairs() -> None:
    a = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
    assert float(squared_norms(a)) == pytest.approx((5 + 1) / 2)
    assert float(squared_norms(a, 2 * a)) == pytest.approx(5 * 6 / 2)
    torch.manual_seed(0)
    net = BiasedFactors(3, 4, 2, init_std=0.1)
    u, i, j = torch.tensor([0, 2]), torch.tensor([1, 3]), torch.tensor([0, 0])
    s, pen = net.pair(u, i, j, reg=0.5)
    full = net.score_users(np.array([0, 2]))
    np.testing.assert_allclose(s[:, 0].detach().numpy(), full[[0, 1], [1, 3]], rtol=1e-6)
    np.testing.assert_allclose(s[:, 1].detach().numpy(), full[[0, 1], [0, 0]], rtol=1e-6)
    expected = 0.5 * squared_norms(net.user(u), net.item(i), net.item(j))
    assert float(pen.detach()) == pytest.approx(float(expected.detach()))
    pool = torch.tensor([[0, 1, 2], [3, 2, 1]])
    direct = net.negative_scores(u, pool).detach().numpy()
    np.testing.assert_allclose(direct, np.take_along_axis(full, pool.numpy(), 1), rtol=1e-6)
    generic = hardest_negatives(lambda a, b, c: net.pair(a, b, c, 0.0), u, i, pool)
    fast = hardest_negatives(
        lambda a, b, c: net.pair(a, b, c, 0.0), u, i, pool, net.negative_scores
    )
    np.testing.assert_array_equal(generic.numpy(), fast.numpy())
    _, with_bias = net.pair(u, i, j, reg=0.5, bias_reg=1.0)
    assert float(with_bias.detach()) >= float(pen.detach())


def test_pairwise_configs_share_and_validate_the_sampling_fields() -> None:
    for config in (BPRConfig, NeuMFConfig, HybridConfig):
        cfg = config(negative_pool=4, negative_alpha=0.5)
        assert (cfg.negative_pool, cfg.negative_alpha) == (4, 0.5)
        with pytest.raises(ValidationError):
            config(negative_pool=0)
        with pytest.raises(ValidationError):
            config(init_std=0.0)


@pytest.mark.parametrize(
    ("model", "item_key"),
    [
        (BPRMF(batch_size=64, epochs=3), "item_factors"),
        (HybridRecommender(batch_size=64, epochs=3, groups=[]), "item_vectors"),
    ],
)
def test_factor_models_keep_their_saved_array_names(model, item_key, tmp_path: Path) -> None:
    data = planted()
    model.fit(data.train)
    model.save(tmp_path / "m")
    _, arrays = read_model_files(tmp_path / "m", 1)
    assert {"state__user_factors", f"state__{item_key}", "state__item_bias"} <= set(arrays)
    np.testing.assert_array_equal(arrays[f"state__{item_key}"], model.item_vectors)


def test_hard_negatives_and_popularity_sampling_still_learn_planted_tastes() -> None:
    data = planted()
    fast = {"batch_size": 64, "epochs": 15, "negative_pool": 4, "negative_alpha": 0.5}
    model = BPRMF(**fast).fit(data.train)
    again = BPRMF(**fast).fit(data.train)
    np.testing.assert_array_equal(model.score(np.arange(5)), again.score(np.arange(5)))
    # users rank the items of their own planted group first
    scores = model.score(np.arange(data.train.shape[0]))
    warm = np.flatnonzero(np.diff(data.train.tocsc().indptr) > 0)
    same = data.user_group[:, None] == data.item_group[None, warm]
    own = (scores[:, warm] * same).sum(1) / same.sum(1)
    other = (scores[:, warm] * ~same).sum(1) / (~same).sum(1)
    assert np.mean(own > other) > 0.9


def test_search_spaces_name_valid_values_with_the_defaults_first() -> None:
    configs = {"bpr": BPRConfig, "neumf": NeuMFConfig}
    assert set(SEARCH_SPACES) == set(configs)
    for name, space in SEARCH_SPACES.items():
        default = configs[name]()
        for field, values in space.items():
            assert values[0] == getattr(default, field), (name, field)
            for v in values:
                configs[name](**{field: v})  # raises on an unknown field or invalid value


def _ndcg_by_full_sort(scores, truth, seen, k):
    """NDCG@k the slow, obvious way: sort every row by (-score, index)."""
    s = np.array(scores, dtype=np.float64)
    s[np.isnan(s)] = -np.inf
    if seen is not None:
        s[seen.toarray() != 0] = -np.inf
    kk = min(k, s.shape[1])
    disc = 1.0 / np.log2(np.arange(2, kk + 2))
    out = np.full(s.shape[0], np.nan)
    for r in range(s.shape[0]):
        rel = truth.indices[truth.indptr[r] : truth.indptr[r + 1]]
        if rel.size:
            top = np.lexsort((np.arange(s.shape[1]), -s[r]))[:kk]
            top = top[np.isfinite(s[r, top])]
            out[r] = (np.isin(top, rel) * disc[: top.size]).sum() / disc[: min(kk, rel.size)].sum()
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ndcg_at_k_ranks_ties_by_the_lower_index_like_a_full_sort(dtype) -> None:
    rng = np.random.default_rng(3)
    for trial in range(40):
        n, m, k = int(rng.integers(1, 12)), int(rng.integers(1, 40)), int(rng.integers(1, 15))
        # few distinct values: ties everywhere, at the top-k boundary included
        scores = rng.integers(0, 4, (n, m)).astype(dtype)
        scores[rng.random((n, m)) < 0.1] = -np.inf
        scores[rng.random((n, m)) < 0.05] = np.nan
        truth = sp.random(n, m, density=0.3, format="csr", random_state=trial)
        seen = sp.random(n, m, density=0.3, format="csr", random_state=100 + trial)
        for s in (seen, None):
            np.testing.assert_allclose(
                ndcg_at_k(scores, truth, s, k), _ndcg_by_full_sort(scores, truth, s, k)
            )
