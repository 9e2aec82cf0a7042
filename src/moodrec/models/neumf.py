"""Neural collaborative filtering, NeuMF (He et al. 2017) trained with BPR: ``neumf``.

A GMF branch (element-wise product of user and item embeddings) and an MLP branch over
their concatenation are fused by one linear layer. Kept as the deep-CF reference; Rendle et
al. (2020) show a tuned dot product (:mod:`moodrec.models.bpr`) usually beats it, and so it
does here. By default the fusion starts as the GMF dot product (``start_as_gmf``, in place of
He et al.'s separate pre-training) and trains on hard negatives like ``bpr``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from moodrec.models.base import ItemFeatures
from moodrec.models.deep_config import NeuMFConfig
from moodrec.models.factor import CONTRACT_TRAINING, PairwiseTorchModel, squared_norms
from moodrec.models.torch_utils import seed_torch

#: (user, item) pairs whose MLP activations are computed at once when scoring a grid: small
#: enough that the hidden activations (pairs × width floats) stay in the CPU cache; at 262 144
#: pairs they did not, and validation scoring took 90 % of a NeuMF fit on HetRec (issue 18)
_MLP_BLOCK = 32_768
#: scores (users × items) per ``score_grid`` call when scoring whole rows: the item side of
#: the network is computed once per call, so a call should cover many users
_SCORE_ROWS = 4_000_000


class _NeuMFNet(nn.Module):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        factors: int,
        layers: tuple[int, ...],
        dropout: float,
        init_std: float,
        start_as_gmf: bool = False,
    ) -> None:
        super().__init__()
        self.gmf_user = nn.Embedding(n_users, factors, sparse=True)
        self.gmf_item = nn.Embedding(n_items, factors, sparse=True)
        self.mlp_user = nn.Embedding(n_users, factors, sparse=True)
        self.mlp_item = nn.Embedding(n_items, factors, sparse=True)
        for emb in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(emb.weight, std=init_std)
        mlp: list[nn.Module] = []
        width = 2 * factors
        for h in layers:
            mlp += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        self.mlp = nn.Sequential(*mlp)
        self.out = nn.Linear(factors + width, 1)
        if start_as_gmf:
            # the fusion starts as the plain dot product of the GMF embeddings; the MLP's
            # share grows from zero as training finds it useful
            with torch.no_grad():
                self.out.weight.zero_()
                self.out.weight[0, :factors] = 1.0
                self.out.bias.zero_()

    def forward(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        gmf = self.gmf_user(u) * self.gmf_item(i)
        mlp = self.mlp(torch.cat([self.mlp_user(u), self.mlp_item(i)], 1))
        return self.out(torch.cat([gmf, mlp], 1)).squeeze(1)

    def score_grid(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        """``(len(u), len(i))`` outputs for every (user, item) pair, in eval mode.

        The same function as :meth:`forward` rearranged for a grid: the GMF branch is one
        matrix product, and the MLP's first layer is split into a user part and an item part
        computed once each, so per pair only the deeper (narrower) layers run.
        """
        f = self.gmf_user.embedding_dim
        w = self.out.weight[0]
        gmf = (self.gmf_user(u) * w[:f]) @ self.gmf_item(i).T
        mu, mi = self.mlp_user(u), self.mlp_item(i)
        if len(self.mlp) == 0:
            width = mu.shape[1]
            mlp = (mu @ w[f : f + width])[:, None] + (mi @ w[f + width :])[None, :]
            return gmf + mlp + self.out.bias
        first = self.mlp[0]
        if not isinstance(first, nn.Linear):  # pragma: no cover - built by __init__
            raise TypeError("neumf: the MLP must start with a Linear layer")
        a = mu @ first.weight[:, :f].T + first.bias
        b = mi @ first.weight[:, f:].T
        out = gmf + self.out.bias
        # the pairwise part in blocks of about _MLP_BLOCK pairs: rows of users × columns of items
        cols = max(1, min(len(i), _MLP_BLOCK))
        rows = max(1, _MLP_BLOCK // cols)
        for r in range(0, len(u), rows):
            for c in range(0, len(i), cols):
                ab = a[r : r + rows, None, :] + b[None, c : c + cols, :]
                hidden = self._mlp_tail(ab.reshape(-1, a.shape[1]))
                out[r : r + rows, c : c + cols] += (hidden @ w[f:]).reshape(ab.shape[:2])
        return out

    def _mlp_tail(self, hidden: torch.Tensor) -> torch.Tensor:
        """The MLP after its first ``Linear``, in place where that saves a pass over the
        activations (``hidden`` is a fresh tensor of the caller's)."""
        for layer in self.mlp[1:]:
            if isinstance(layer, nn.ReLU):
                hidden = hidden.relu_()
            elif isinstance(layer, nn.Linear):
                hidden = torch.addmm(layer.bias, hidden, layer.weight.T)
            else:
                hidden = layer(hidden)
        return hidden

    def penalty(self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        return squared_norms(
            self.gmf_user(u),
            self.mlp_user(u),
            self.gmf_item(i),
            self.mlp_item(i),
            self.gmf_item(j),
            self.mlp_item(j),
        )


class NeuMF(PairwiseTorchModel):
    """NeuMF with the BPR loss; hyperparameters are the fields of ``NeuMFConfig``.

    Scoring runs the network on every requested (user, item) pair, so the fitted torch
    weights are what is saved (as numpy arrays).
    """

    name = "neumf"
    config_class = NeuMFConfig
    #: a fast fit for the shared contract tests (a 12 × 12 matrix)
    contract_params: ClassVar[dict[str, Any]] = {
        **CONTRACT_TRAINING,
        "factors": 8,
        "mlp_layers": [16, 8],
        "lr": 0.02,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._net: _NeuMFNet | None = None
        self._warm = np.zeros(0, dtype=bool)

    def _new_net(self, dropout: float = 0.0, training: bool = False) -> _NeuMFNet:
        if training:
            self._seed()  # resolves the training device too
        else:
            seed_torch(self.cfg.seed, self.cfg.threads)  # a loaded net scores on the CPU
        cfg = self.cfg
        return _NeuMFNet(
            self.n_users,
            self.n_items,
            cfg.factors,
            tuple(cfg.mlp_layers),
            dropout,
            cfg.init_std,
            cfg.start_as_gmf,
        )

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        net = self._new_net(self.cfg.dropout, training=True)
        self._net = net
        self._warm = np.diff(train.tocsc().indptr) > 0

        def pair(
            u: torch.Tensor, i: torch.Tensor, j: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            s = torch.stack([net(u, i), net(u, j)], 1)
            return s, self.cfg.reg * net.penalty(u, i, j)

        self._train(net, pair, train, validation, self._score_net)
        net.to("cpu")  # scoring and saving run on the CPU

    def _score_net(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        net = self._net
        if net is None:
            raise RuntimeError("neumf: no network")  # pragma: no cover - guarded by callers
        net.eval()
        it = np.arange(self.n_items) if items is None else np.asarray(items, dtype=np.int64)
        out = np.empty((len(users), it.size), dtype=np.float32)
        rows_per_chunk = max(1, _SCORE_ROWS // max(it.size, 1))
        dev = next(net.parameters()).device
        it_t = torch.from_numpy(it).to(dev)
        with torch.no_grad():
            for start in range(0, len(users), rows_per_chunk):
                block = torch.from_numpy(
                    np.asarray(users[start : start + rows_per_chunk], dtype=np.int64)
                ).to(dev)
                out[start : start + block.numel()] = net.score_grid(block, it_t).cpu().numpy()
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
        state = {k: v.detach().cpu().numpy() for k, v in self._net.state_dict().items()}
        return {**state, "warm": self._warm}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self._warm = arrays["warm"].astype(bool)
        net = self._new_net()
        net.load_state_dict(
            {k: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k != "warm"}
        )
        net.eval()
        self._net = net
