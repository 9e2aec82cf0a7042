"""Neural collaborative filtering, NeuMF (He et al. 2017) trained with BPR: ``neumf``.

A GMF branch (element-wise product of user and item embeddings) and an MLP branch over
their concatenation are fused by one linear layer. Kept as the deep-CF reference; Rendle et
al. (2020) show a tuned dot product (:mod:`moodrec.models.bpr`) usually beats it.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.deep_config import NeuMFConfig
from moodrec.models.torch_utils import seed_torch, train_pairwise

logger = logging.getLogger(__name__)

#: (user, item) pairs scored per forward pass when scoring whole rows
_SCORE_CHUNK = 262_144


class _NeuMFNet(nn.Module):
    def __init__(
        self, n_users: int, n_items: int, factors: int, layers: tuple[int, ...], dropout: float
    ) -> None:
        super().__init__()
        self.gmf_user = nn.Embedding(n_users, factors, sparse=True)
        self.gmf_item = nn.Embedding(n_items, factors, sparse=True)
        self.mlp_user = nn.Embedding(n_users, factors, sparse=True)
        self.mlp_item = nn.Embedding(n_items, factors, sparse=True)
        for emb in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(emb.weight, std=0.1)
        mlp: list[nn.Module] = []
        width = 2 * factors
        for h in layers:
            mlp += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        self.mlp = nn.Sequential(*mlp)
        self.out = nn.Linear(factors + width, 1)

    def forward(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        gmf = self.gmf_user(u) * self.gmf_item(i)
        mlp = self.mlp(torch.cat([self.mlp_user(u), self.mlp_item(i)], 1))
        return self.out(torch.cat([gmf, mlp], 1)).squeeze(1)

    def penalty(self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        return (
            self.gmf_user(u).pow(2).sum(1)
            + self.mlp_user(u).pow(2).sum(1)
            + self.gmf_item(i).pow(2).sum(1)
            + self.mlp_item(i).pow(2).sum(1)
            + self.gmf_item(j).pow(2).sum(1)
            + self.mlp_item(j).pow(2).sum(1)
        ).mean()


class NeuMF(Recommender):
    """NeuMF with the BPR loss; hyperparameters are the fields of ``NeuMFConfig``.

    Scoring runs the network on every requested (user, item) pair, so the fitted torch
    weights are what is saved (as numpy arrays).
    """

    name = "neumf"
    #: a fast fit for the shared contract tests (a 12 × 12 matrix)
    contract_params: ClassVar[dict[str, Any]] = {
        "factors": 8,
        "mlp_layers": [16, 8],
        "epochs": 60,
        "batch_size": 8,
        "lr": 0.02,
        "reg": 0.001,
        "patience": 60,
    }

    def __init__(self, **params: Any) -> None:
        self.cfg = NeuMFConfig(**params)
        super().__init__(**self.cfg.model_dump(mode="json"))
        self._net: _NeuMFNet | None = None
        self._warm = np.zeros(0, dtype=bool)
        self.fit_info: dict[str, Any] = {}

    def _new_net(self) -> _NeuMFNet:
        seed_torch(self.cfg.seed, self.cfg.threads)
        return _NeuMFNet(
            self.n_users, self.n_items, self.cfg.factors, tuple(self.cfg.mlp_layers), 0.0
        )

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        seed_torch(self.cfg.seed, self.cfg.threads)
        net = _NeuMFNet(
            self.n_users,
            self.n_items,
            self.cfg.factors,
            tuple(self.cfg.mlp_layers),
            self.cfg.dropout,
        )
        self._net = net
        self._warm = np.diff(train.tocsc().indptr) > 0

        def pair(
            u: torch.Tensor, i: torch.Tensor, j: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            s = torch.stack([net(u, i), net(u, j)], 1)
            return s, self.cfg.reg * net.penalty(u, i, j)

        self.fit_info = train_pairwise(
            self.name, net, pair, train, validation, self._score_net, self.cfg
        )
        logger.info("neumf: %s", {k: v for k, v in self.fit_info.items() if k != "history"})

    def _score_net(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        net = self._net
        if net is None:
            raise RuntimeError("neumf: no network")  # pragma: no cover - guarded by callers
        net.eval()
        it = np.arange(self.n_items) if items is None else np.asarray(items, dtype=np.int64)
        out = np.empty((len(users), it.size), dtype=np.float32)
        rows_per_chunk = max(1, _SCORE_CHUNK // max(it.size, 1))
        it_t = torch.from_numpy(it)
        with torch.no_grad():
            for start in range(0, len(users), rows_per_chunk):
                block = np.asarray(users[start : start + rows_per_chunk], dtype=np.int64)
                uu = torch.from_numpy(np.repeat(block, it.size))
                ii = it_t.repeat(block.size)
                out[start : start + block.size] = net(uu, ii).numpy().reshape(block.size, -1)
        return out

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Network output for every (user, item); items without training data score lowest."""
        self._check_fitted()
        s = self._score_net(np.asarray(users, dtype=np.int64), items)
        warm = self._warm if items is None else self._warm[np.asarray(items, dtype=np.int64)]
        s[:, ~warm] = np.float32(s.min() - 1.0) if s.size else 0.0
        return s

    def _state(self) -> dict[str, np.ndarray]:
        if self._net is None:  # pragma: no cover - save() checks fitted first
            return {}
        state = {k: v.detach().numpy() for k, v in self._net.state_dict().items()}
        return {**state, "warm": self._warm}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self._warm = arrays["warm"].astype(bool)
        net = self._new_net()
        net.load_state_dict(
            {k: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k != "warm"}
        )
        net.eval()
        self._net = net
