"""Shallow matrix factorisation in torch trained with BPR (Rendle et al. 2009): ``bpr``."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.deep_config import BPRConfig
from moodrec.models.torch_utils import seed_torch, train_pairwise

logger = logging.getLogger(__name__)


class _MF(nn.Module):
    """User and item factors plus an item bias; score = ``p_u · q_i + b_i``."""

    def __init__(self, n_users: int, n_items: int, factors: int) -> None:
        super().__init__()
        self.user = nn.Embedding(n_users, factors, sparse=True)
        self.item = nn.Embedding(n_items, factors, sparse=True)
        self.bias = nn.Embedding(n_items, 1, sparse=True)
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.item.weight, std=0.1)
        nn.init.zeros_(self.bias.weight)

    def pair(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor, reg: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pu, qi, qj = self.user(u), self.item(i), self.item(j)
        si = (pu * qi).sum(1) + self.bias(i).squeeze(1)
        sj = (pu * qj).sum(1) + self.bias(j).squeeze(1)
        penalty = reg * (pu.pow(2).sum(1) + qi.pow(2).sum(1) + qj.pow(2).sum(1)).mean()
        return torch.stack([si, sj], 1), penalty


class BPRMF(Recommender):
    """Matrix factorisation with the BPR loss, Adam, early stopping on validation NDCG.

    Hyperparameters are the fields of :class:`~moodrec.models.deep_config.BPRConfig`
    (``factors``, ``lr``, ``reg``, ``epochs``, ``batch_size``, ``patience``, ``seed`` …).
    Items without training interactions get zero factors (the model cannot score them).
    """

    name = "bpr"
    #: a fast fit for the shared contract tests (a 12 × 12 matrix)
    contract_params: ClassVar[dict[str, Any]] = {
        "factors": 8,
        "epochs": 60,
        "batch_size": 8,
        "lr": 0.05,
        "reg": 0.001,
        "patience": 60,
    }

    def __init__(self, **params: Any) -> None:
        self.cfg = BPRConfig(**params)
        super().__init__(**self.cfg.model_dump(mode="json"))
        self.user_factors = np.zeros((0, self.cfg.factors), dtype=np.float32)
        self.item_factors = np.zeros((0, self.cfg.factors), dtype=np.float32)
        self.item_bias = np.zeros(0, dtype=np.float32)
        self.fit_info: dict[str, Any] = {}

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        seed_torch(self.cfg.seed, self.cfg.threads)
        module = _MF(self.n_users, self.n_items, self.cfg.factors)

        def score_users(users: np.ndarray) -> np.ndarray:
            u = module.user.weight[torch.from_numpy(users)]
            s = u @ module.item.weight.T + module.bias.weight.T
            return s.detach().numpy()

        self.fit_info = train_pairwise(
            self.name,
            module,
            lambda u, i, j: module.pair(u, i, j, self.cfg.reg),
            train,
            validation,
            score_users,
            self.cfg,
        )
        warm = np.diff(train.tocsc().indptr) > 0
        self.user_factors = module.user.weight.detach().numpy().copy()
        self.item_factors = module.item.weight.detach().numpy().copy()
        self.item_bias = module.bias.weight.detach().numpy()[:, 0].copy()
        self.item_factors[~warm] = 0.0
        self.item_bias[~warm] = 0.0
        logger.info("bpr: %s", {k: v for k, v in self.fit_info.items() if k != "history"})

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """``p_u · q_i + b_i`` for every (user, item), ``(len(users), n_items or len(items))``."""
        self._check_fitted()
        u = self.user_factors[np.asarray(users, dtype=np.int64)]
        if items is None:
            return u @ self.item_factors.T + self.item_bias
        it = np.asarray(items, dtype=np.int64)
        return u @ self.item_factors[it].T + self.item_bias[it]

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors,
            "item_factors": self.item_factors,
            "item_bias": self.item_bias,
        }

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = arrays["user_factors"]
        self.item_factors = arrays["item_factors"]
        self.item_bias = arrays["item_bias"]
