"""The seed study's rating-regression view: MSE on the per-user rescaled rating.

``plays.rating`` (``log(1 + plays)`` rescaled per user to [3, 10]) is regressed by a biased
matrix factorisation (``rating_mf``) and by the seed's deep model, an MLP over concatenated
user and item embeddings (``rating_deep``). Both are reported with RMSE for continuity with
the seed; they also rank (by predicted rating) through the common contract, which is what
the seed's evaluation got wrong. The training matrix's stored values are the ratings.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from moodrec.errors import ModelError
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.deep_config import RatingConfig
from moodrec.models.torch_utils import EarlyStopping, check_finite, positive_pairs, seed_torch

logger = logging.getLogger(__name__)


class _BiasedMF(nn.Module):
    """``mu + b_u + b_i + p_u · q_i``."""

    def __init__(self, n_users: int, n_items: int, factors: int, mu: float) -> None:
        super().__init__()
        self.user = nn.Embedding(n_users, factors)
        self.item = nn.Embedding(n_items, factors)
        self.ub = nn.Embedding(n_users, 1)
        self.ib = nn.Embedding(n_items, 1)
        for e in (self.user, self.item):
            nn.init.normal_(e.weight, std=0.05)
        for e in (self.ub, self.ib):
            nn.init.zeros_(e.weight)
        self.mu = nn.Parameter(torch.tensor(float(mu)), requires_grad=False)

    def forward(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        dot = (self.user(u) * self.item(i)).sum(1)
        return self.mu + self.ub(u).squeeze(1) + self.ib(i).squeeze(1) + dot

    def penalty(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return (self.user(u).pow(2).sum(1) + self.item(i).pow(2).sum(1)).mean()


class _DeepRating(nn.Module):
    """The seed's deep model: MLP over ``[p_u, q_i]`` → rating."""

    def __init__(
        self, n_users: int, n_items: int, factors: int, hidden: tuple[int, ...], mu: float
    ) -> None:
        super().__init__()
        self.user = nn.Embedding(n_users, factors)
        self.item = nn.Embedding(n_items, factors)
        for e in (self.user, self.item):
            nn.init.normal_(e.weight, std=0.05)
        layers: list[nn.Module] = []
        width = 2 * factors
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)
        self.mu = nn.Parameter(torch.tensor(float(mu)), requires_grad=False)

    def forward(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return self.mu + self.mlp(torch.cat([self.user(u), self.item(i)], 1)).squeeze(1)

    def penalty(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return (self.user(u).pow(2).sum(1) + self.item(i).pow(2).sum(1)).mean()


class _RatingModel(Recommender):
    """Shared training loop (MSE, Adam, early stopping on validation RMSE) and scoring."""

    #: a fast fit for the shared contract tests (a 12 × 12 matrix)
    contract_params: ClassVar[dict[str, Any]] = {
        "factors": 4,
        "hidden": [8],
        "epochs": 10,
        "batch_size": 8,
    }

    def __init__(self, **params: Any) -> None:
        self.cfg = RatingConfig(**params)
        super().__init__(**self.cfg.model_dump(mode="json"))
        self._net: nn.Module | None = None
        self.mu = 0.0
        self.fit_info: dict[str, Any] = {}

    def _build(self, mu: float) -> nn.Module:
        raise NotImplementedError  # pragma: no cover - subclasses define it

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        cfg = self.cfg
        users, items = positive_pairs(train)
        ratings = train.tocoo().data.astype(np.float32)
        self.mu = float(ratings.mean())
        seed_torch(cfg.seed, cfg.threads)
        net = self._build(self.mu)
        self._net = net
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        rng = np.random.default_rng(cfg.seed)
        has_val = validation is not None and validation.nnz > 0
        stopper = EarlyStopping(cfg.patience, higher_is_better=False)
        start = time.perf_counter()
        u_t, i_t, r_t = (torch.from_numpy(a) for a in (users, items, ratings))
        epoch = 0
        for epoch in range(cfg.epochs):
            net.train()
            order = torch.from_numpy(rng.permutation(users.size))
            total = 0.0
            for s in range(0, users.size, cfg.batch_size):
                idx = order[s : s + cfg.batch_size]
                u, i, r = u_t[idx], i_t[idx], r_t[idx]
                mse = (net(u, i) - r).pow(2).mean()
                loss = mse + cfg.reg * net.penalty(u, i)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(mse.detach()) * idx.numel()
            net.eval()
            check_finite(self.name, net)
            value = self.rmse(validation) if has_val else float(np.sqrt(total / users.size))
            if stopper.update(value, epoch, net):
                break
            if cfg.time_budget_s and time.perf_counter() - start > cfg.time_budget_s:
                break
        stopper.restore(net)
        net.eval()
        self.fit_info = {
            "epochs": epoch + 1,
            "best_epoch": stopper.best_epoch,
            "history": stopper.history,
            "seconds": time.perf_counter() - start,
            "best_rmse": stopper.best,
        }
        logger.info("%s: %s", self.name, {k: v for k, v in self.fit_info.items() if k != "history"})

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings of aligned ``(users[k], items[k])`` pairs."""
        if self._net is None:
            raise ModelError(f"{self.name}: call fit() (or load()) first")
        with torch.no_grad():
            u = torch.from_numpy(np.asarray(users, dtype=np.int64))
            i = torch.from_numpy(np.asarray(items, dtype=np.int64))
            return self._net(u, i).numpy().astype(np.float64)

    def rmse(self, matrix: sp.csr_matrix) -> float:
        """RMSE of the predicted ratings on the stored entries of ``matrix`` (the truth)."""
        coo = sp.coo_matrix(matrix)
        if coo.nnz == 0:
            raise ModelError(f"{self.name}: RMSE of an empty matrix")
        pred = self.predict(coo.row, coo.col)
        return float(np.sqrt(np.mean((pred - coo.data) ** 2)))

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Predicted rating of every (user, item), ``(len(users), n_items or len(items))``."""
        self._check_fitted()
        u = np.asarray(users, dtype=np.int64)
        it = np.arange(self.n_items) if items is None else np.asarray(items, dtype=np.int64)
        return self.predict(np.repeat(u, it.size), np.tile(it, u.size)).reshape(u.size, it.size)

    def _state(self) -> dict[str, np.ndarray]:
        if self._net is None:  # pragma: no cover - save() checks fitted first
            return {}
        return {k: v.detach().numpy() for k, v in self._net.state_dict().items()}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        mu = float(arrays["mu"])
        net = self._build(mu)
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()})
        net.eval()
        self.mu = mu
        self._net = net


class RatingMF(_RatingModel):
    """Biased matrix factorisation regressing the rating (the seed's shallow MF)."""

    name = "rating_mf"

    def _build(self, mu: float) -> nn.Module:
        return _BiasedMF(self.n_users, self.n_items, self.cfg.factors, mu)


class RatingDeep(_RatingModel):
    """MLP over user and item embeddings regressing the rating (the seed's deep CF)."""

    name = "rating_deep"

    def _build(self, mu: float) -> nn.Module:
        return _DeepRating(self.n_users, self.n_items, self.cfg.factors, self.cfg.hidden, mu)
