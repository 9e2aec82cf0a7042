"""NeuMF: learns the planted tastes, reproducible, saves its network without pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from moodrec.evaluation.ablation import rank_metrics
from moodrec.models import neumf
from moodrec.models.base import Recommender
from moodrec.models.neumf import NeuMF
from tests.models.planted import planted

FAST = {"batch_size": 64, "epochs": 30}


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def model(data):
    return NeuMF(**FAST).fit(data.train)


def _beats_popularity_twice(model: NeuMF, data) -> bool:
    """Warm-item NDCG@10 of ``model`` is more than twice that of popularity."""
    n_users, n_items = data.train.shape
    warm = np.setdiff1d(np.arange(n_items), data.cold_items)
    pop = np.tile(np.asarray(data.train.sum(0)).ravel(), (n_users, 1))

    def ndcg(s: np.ndarray) -> float:
        return float(rank_metrics(s, data.test, data.train, warm, 10)["ndcg"].mean())

    return ndcg(model.score(np.arange(n_users))) > 2 * ndcg(pop)


def test_neumf_beats_popularity_on_planted_tastes(data, model) -> None:
    assert _beats_popularity_twice(model, data)


def test_neumf_scores_subsets_consistently(data, model) -> None:
    items = np.array([3, 1, 50])
    full = model.score(np.arange(4))
    sub = model.score(np.arange(4), items)
    warm = np.isin(items, data.cold_items, invert=True)
    np.testing.assert_allclose(sub[:, warm], full[:, items][:, warm], rtol=1e-5)


def test_neumf_save_load_and_seed(data, model, tmp_path: Path) -> None:
    model.save(tmp_path / "n")
    loaded = Recommender.load(tmp_path / "n")
    assert isinstance(loaded, NeuMF)
    np.testing.assert_allclose(loaded.score(np.arange(6)), model.score(np.arange(6)), rtol=1e-6)
    again = NeuMF(**FAST).fit(data.train)
    np.testing.assert_array_equal(again.score(np.arange(3)), model.score(np.arange(3)))


@pytest.mark.parametrize("layers", [[16, 8], []])
def test_neumf_grid_scores_equal_the_pairwise_forward(data, layers) -> None:
    m = NeuMF(batch_size=64, epochs=2, mlp_layers=layers).fit(data.train)
    net = m._net
    users, items = torch.arange(5), torch.tensor([0, 7, 3, 150])
    with torch.no_grad():
        grid = net.score_grid(users, items).numpy()
        pairs = net(users.repeat_interleave(4), items.repeat(5)).numpy().reshape(5, 4)
    np.testing.assert_allclose(grid, pairs, rtol=1e-5, atol=1e-6)


def test_neumf_can_start_as_a_gmf_dot_product(data) -> None:
    m = NeuMF(batch_size=64, epochs=1, start_as_gmf=True, lr=1e-9).fit(data.train)
    net = m._net
    users, items = torch.arange(4), torch.arange(6)
    with torch.no_grad():
        dot = net.gmf_user(users) @ net.gmf_item(items).T
        np.testing.assert_allclose(net.score_grid(users, items).numpy(), dot.numpy(), atol=1e-5)
    assert _beats_popularity_twice(NeuMF(**FAST, start_as_gmf=True).fit(data.train), data)


def test_neumf_grid_scores_in_small_blocks_equal_one_block(data, monkeypatch) -> None:
    m = NeuMF(batch_size=64, epochs=2, mlp_layers=[16, 8]).fit(data.train)
    users, items = torch.arange(7), torch.arange(data.train.shape[1])
    with torch.no_grad():
        whole = m._net.score_grid(users, items).numpy()
        # blocks of 5 pairs: several users per block when few items, item blocks otherwise
        monkeypatch.setattr(neumf, "_MLP_BLOCK", 5)
        blocks = m._net.score_grid(users, items).numpy()
        few = m._net.score_grid(users, items[:2]).numpy()
    np.testing.assert_allclose(blocks, whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(few, whole[:, :2], rtol=1e-5, atol=1e-6)
