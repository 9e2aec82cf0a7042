"""What the BPR-trained torch recommenders share.

* :class:`BiasedFactors`: user and item embeddings plus an item bias (the ``bpr`` model, and the
  CF part of ``hybrid``).
* :class:`PairwiseTorchModel`: a :class:`~moodrec.models.base.Recommender` whose
  hyperparameters are one :class:`~moodrec.models.deep_config.TrainingConfig` subclass and
  whose training loop is :func:`~moodrec.models.torch_utils.train_pairwise` (``bpr``,
  ``neumf``, ``hybrid``).
* :class:`DotProductScores`: scoring ``p_u · v_i + b_i`` from numpy arrays and saving them
  (``bpr``, ``hybrid``), so a loaded model needs no torch network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from moodrec.models.base import Recommender
from moodrec.models.deep_config import PairwiseConfig
from moodrec.models.mips import FactorIndex, search_users
from moodrec.models.torch_utils import resolve_device, seed_torch, train_pairwise

logger = logging.getLogger(__name__)

#: the training settings every torch model's contract test fit uses (a 12 × 12 matrix)
CONTRACT_TRAINING: dict[str, Any] = {"epochs": 60, "batch_size": 8, "reg": 0.001, "patience": 60}

PairScores = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def squared_norms(*embeddings: torch.Tensor) -> torch.Tensor:
    """Batch mean of the summed squared row norms of ``embeddings`` (each ``(n, d)``)."""
    total = embeddings[0].pow(2).sum(1)
    for e in embeddings[1:]:
        total = total + e.pow(2).sum(1)
    return total.mean()


class BiasedFactors(nn.Module):
    """User and item factors plus an item bias; ``score = p_u · q_i + b_i``.

    Parameters
    ----------
    n_users, n_items, factors
        Embedding table sizes.
    init_std
        Standard deviation of the normal initialisation of the factors (biases start at 0).
    """

    def __init__(self, n_users: int, n_items: int, factors: int, init_std: float) -> None:
        super().__init__()
        self.user = nn.Embedding(n_users, factors, sparse=True)
        self.item = nn.Embedding(n_items, factors, sparse=True)
        self.bias = nn.Embedding(n_items, 1, sparse=True)
        nn.init.normal_(self.user.weight, std=init_std)
        nn.init.normal_(self.item.weight, std=init_std)
        nn.init.zeros_(self.bias.weight)

    def pair(
        self, u: torch.Tensor, i: torch.Tensor, j: torch.Tensor, reg: float, bias_reg: float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(n, 2)`` scores of positives ``i`` and negatives ``j``, and the L2 penalty."""
        pu, qi, qj = self.user(u), self.item(i), self.item(j)
        bi, bj = self.bias(i), self.bias(j)
        si = (pu * qi).sum(1) + bi.squeeze(1)
        sj = (pu * qj).sum(1) + bj.squeeze(1)
        penalty = reg * squared_norms(pu, qi, qj)
        if bias_reg:
            penalty = penalty + bias_reg * squared_norms(bi, bj)
        return torch.stack([si, sj], 1), penalty

    def negative_scores(self, u: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
        """``(n, m)`` scores of the candidate items ``pool`` (``(n, m)``) for users ``u``."""
        q = self.item(pool)  # (n, m, factors)
        return torch.einsum("nf,nmf->nm", self.user(u), q) + self.bias(pool).squeeze(2)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        """``(len(users), n_items)`` numpy scores of every item."""
        with torch.no_grad():
            w = self.user.weight
            u = w[torch.from_numpy(np.asarray(users, dtype=np.int64)).to(w.device)]
            return (u @ self.item.weight.T + self.bias.weight.T).cpu().numpy()


class PairwiseTorchModel(Recommender):
    """Base of the torch models trained with the BPR loss by ``train_pairwise``.

    Subclasses set ``config_class`` (the :class:`~moodrec.models.deep_config.PairwiseConfig`
    subclass whose fields are the model's hyperparameters) and implement ``_fit`` with
    :meth:`_train`.
    """

    config_class: ClassVar[type[PairwiseConfig]] = PairwiseConfig

    def __init__(self, **params: Any) -> None:
        self.cfg: Any = self.config_class(**params)
        super().__init__(**self.cfg.model_dump(mode="json"))
        self.fit_info: dict[str, Any] = {}
        self.device = torch.device("cpu")

    def _seed(self) -> torch.Generator:
        """Seed torch for this model (call before building the network); resolves
        ``cfg.device`` into ``self.device`` and returns a generator on it."""
        self.device = resolve_device(self.cfg.device)
        return seed_torch(self.cfg.seed, self.cfg.threads, self.device)

    def _train(
        self,
        module: nn.Module,
        pair_scores: PairScores,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        score_users: Callable[[np.ndarray], np.ndarray],
        label: str | None = None,
        negative_scores: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        """Run :func:`train_pairwise` on ``self.device`` with the model's config; keep and log
        ``fit_info``. The module stays on the device; callers copy what they keep to the CPU."""
        module.to(self.device)
        self.fit_info = train_pairwise(
            self.name,
            module,
            pair_scores,
            train,
            validation,
            score_users,
            self.cfg,
            negative_scores=negative_scores,
        )
        logger.info(
            "%s: %s",
            label or self.name,
            {k: v for k, v in self.fit_info.items() if k != "history"},
        )
        self.fit_info["device"] = str(self.device)


class DotProductScores:
    """Scores ``p_u · v_i + b_i`` from numpy arrays, and saves/restores those arrays.

    Mixed into a :class:`~moodrec.models.base.Recommender`; ``item_key`` is the name the item
    vectors are saved under (``item_factors`` for ``bpr``, ``item_vectors`` for ``hybrid``: the
    saved formats predate this class).

    At ``index_min_items`` items or more, ``recommend`` over the whole catalogue searches a
    :class:`~moodrec.models.mips.FactorIndex` of ``[v_i, b_i]`` with ``[p_u, 1]`` (the same
    score as one inner product) instead of scoring every item.
    """

    item_key: ClassVar[str] = "item_factors"
    #: catalogues at least this large use the index (below it one matrix product is faster)
    index_min_items: ClassVar[int] = 50_000
    user_factors: np.ndarray
    item_vectors: np.ndarray
    item_bias: np.ndarray
    #: ``(item_vectors, item_bias, index)``: the arrays the index was built from
    _index: tuple[np.ndarray, np.ndarray, FactorIndex] | None = None

    def factor_index(self) -> FactorIndex:
        """The norm-ordered index of ``[v_i, b_i]``, rebuilt when either array is replaced
        (a refit or a load; arrays are never changed in place)."""
        built = self._index
        if built is None or built[0] is not self.item_vectors or built[1] is not self.item_bias:
            augmented = np.hstack([self.item_vectors, self.item_bias[:, None]])
            built = (self.item_vectors, self.item_bias, FactorIndex(augmented.astype(np.float32)))
            self._index = built
        return built[2]

    def prepare_serving(self) -> None:
        if self.item_vectors.shape[0] >= self.index_min_items:
            self.factor_index()

    def _exact_top_k(
        self, users: np.ndarray, k: int, exclude_seen: bool
    ) -> tuple[np.ndarray, np.ndarray] | None:
        if self.item_vectors.shape[0] < self.index_min_items:
            return None
        seen = self._seen_matrix() if exclude_seen else None  # type: ignore[attr-defined]
        ones = np.ones((users.size, 1), dtype=np.float32)
        vectors = np.hstack([self.user_factors[users], ones]).astype(np.float32)
        return search_users(self.factor_index(), vectors, users, k, seen)

    def _empty_factors(self, factors: int) -> None:
        self.user_factors = np.zeros((0, factors), dtype=np.float32)
        self.item_vectors = np.zeros((0, factors), dtype=np.float32)
        self.item_bias = np.zeros(0, dtype=np.float32)

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """``p_u · v_i + b_i``, ``(len(users), n_items)`` or ``(len(users), len(items))``."""
        self._check_fitted()
        u = self.user_factors[np.asarray(users, dtype=np.int64)]
        if items is None:
            return u @ self.item_vectors.T + self.item_bias
        it = np.asarray(items, dtype=np.int64)
        return u @ self.item_vectors[it].T + self.item_bias[it]

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors,
            self.item_key: self.item_vectors,
            "item_bias": self.item_bias,
        }

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = arrays["user_factors"]
        self.item_vectors = arrays[self.item_key]
        self.item_bias = arrays["item_bias"]
