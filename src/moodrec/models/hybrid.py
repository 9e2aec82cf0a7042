"""Hybrid deep recommender: CF embeddings + a content tower that scores cold items: ``hybrid``.

Item ``i`` is represented by ``m_i · q_i + g(x_i)`` where ``q_i`` is a free CF embedding,
``x_i`` the item's content features (audio, genre, cluster, topics, popularity — the groups
named by the ``groups`` parameter) and ``g`` an MLP. During training ``m_i`` is 0 with
probability ``cf_dropout`` (DropoutNet, Volkovs et al. 2017), so ``g`` alone must rank
items well; at scoring time ``m_i = 1`` for warm items and 0 for items without training
interactions, which therefore get useful scores from their content alone. With no groups the
model is a plain BPR matrix factorisation (the ablation's CF-only reference).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from moodrec.errors import ModelError
from moodrec.models.base import ItemFeatures
from moodrec.models.content_input import content_matrix
from moodrec.models.deep_config import HybridConfig
from moodrec.models.factor import (
    CONTRACT_TRAINING,
    BiasedFactors,
    DotProductScores,
    PairwiseTorchModel,
    squared_norms,
)


class _HybridNet(BiasedFactors):
    """User embedding · (masked CF item embedding + content tower), plus item biases."""

    def __init__(
        self,
        n_users: int,
        n_items: int,
        factors: int,
        init_std: float,
        content: torch.Tensor | None,
        hidden: tuple,
    ) -> None:
        super().__init__(n_users, n_items, factors, init_std)
        self.register_buffer("content", content if content is not None else torch.zeros(0))
        self.tower: nn.Module | None = None
        if content is not None and content.shape[1] > 0:
            layers: list[nn.Module] = []
            width = content.shape[1]
            for h in hidden:
                layers += [nn.Linear(width, h), nn.ReLU()]
                width = h
            layers.append(nn.Linear(width, factors + 1))  # factors + a content bias
            self.tower = nn.Sequential(*layers)

    def items(self, i: torch.Tensor, keep_cf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Item vectors and biases of ``i``; ``keep_cf`` (float 0/1) masks the CF part."""
        m = keep_cf.unsqueeze(1)
        vec = m * self.item(i)
        bias = m * self.bias(i)
        if self.tower is not None:
            out = self.tower(self.content[i])
            vec = vec + out[:, :-1]
            bias = bias + out[:, -1:]
        return vec, bias.squeeze(1)


class HybridRecommender(DotProductScores, PairwiseTorchModel):
    """CF + content hybrid trained with BPR and CF-embedding dropout; scores cold items.

    Hyperparameters: the fields of :class:`~moodrec.models.deep_config.HybridConfig`
    (``factors``, ``hidden``, ``cf_dropout``, ``groups``, ``lr``, ``reg``, ``epochs`` …).
    ``fit`` needs ``item_features`` holding every group in ``groups`` (unless ``groups`` is
    empty).
    """

    name = "hybrid"
    config_class = HybridConfig
    item_key = "item_vectors"
    scores_cold_items = True
    #: a fast fit for the shared contract tests (a 12 × 12 matrix)
    contract_params: ClassVar[dict[str, Any]] = {
        **CONTRACT_TRAINING,
        "factors": 8,
        "lr": 0.05,
        "groups": ["audio"],
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._empty_factors(self.cfg.factors)

    def _content(self, item_features: ItemFeatures | None) -> np.ndarray | None:
        if not self.cfg.groups:
            return None
        if item_features is None:
            raise ModelError(
                f"{self.name}: groups {list(self.cfg.groups)} need item_features; "
                "pass groups=[] for plain CF"
            )
        # standardised values, 0 where an item lacks a group, plus missing-content flags
        return content_matrix(item_features, list(self.cfg.groups), self.name)[0]

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        cfg = self.cfg
        content = self._content(item_features)
        gen = self._seed()
        net = _HybridNet(
            self.n_users,
            self.n_items,
            cfg.factors,
            cfg.init_std,
            torch.from_numpy(content) if content is not None else None,
            tuple(cfg.hidden),
        )
        warm = np.diff(train.tocsc().indptr) > 0
        net.to(self.device)
        warm_t = torch.from_numpy(warm.astype(np.float32)).to(self.device)
        drop = cfg.cf_dropout if net.tower is not None else 0.0

        def pair(
            u: torch.Tensor, i: torch.Tensor, j: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            # one dropout draw per item occurrence: the positive and the negative separately
            keep = (torch.rand(2, u.shape[0], generator=gen, device=u.device) >= drop).float()
            pu = net.user(u)
            vi, bi = net.items(i, keep[0])
            vj, bj = net.items(j, keep[1])
            si = (pu * vi).sum(1) + bi
            sj = (pu * vj).sum(1) + bj
            return torch.stack([si, sj], 1), cfg.reg * squared_norms(pu, net.item(i), net.item(j))

        def all_items() -> tuple[torch.Tensor, torch.Tensor]:
            vecs, biases = [], []
            for start in range(0, self.n_items, 65536):
                idx = torch.arange(start, min(start + 65536, self.n_items), device=self.device)
                v, b = net.items(idx, warm_t[idx])
                vecs.append(v)
                biases.append(b)
            return torch.cat(vecs), torch.cat(biases)

        def score_users(users: np.ndarray) -> np.ndarray:
            v, b = all_items()
            u = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
            return (net.user.weight[u] @ v.T + b).detach().cpu().numpy()

        self._train(net, pair, train, validation, score_users, f"hybrid{list(cfg.groups)}")
        with torch.no_grad():
            v, b = all_items()
        self.user_factors = net.user.weight.detach().cpu().numpy().copy()
        self.item_vectors = v.cpu().numpy().copy()
        self.item_bias = b.cpu().numpy().copy()
        if net.tower is None:
            # plain CF: cold items have untrained embeddings; give them a neutral score
            self.item_vectors[~warm] = 0.0
            self.item_bias[~warm] = 0.0
