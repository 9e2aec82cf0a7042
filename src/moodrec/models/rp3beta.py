"""RP3beta (Paudel et al. 2017): a three-step random walk user → item → user → item, with the
arrival item's popularity discounted by ``pop^beta``; item–item, sparse, top-k pruned."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from moodrec.errors import ModelError
from moodrec.models.base import ItemFeatures, Recommender


def _row_normalise(m: sp.csr_matrix, power: float) -> sp.csr_matrix:
    out = sp.csr_matrix(m, dtype=np.float64, copy=True)
    out.data = np.power(out.data, power)
    sums = np.asarray(out.sum(axis=1)).ravel()
    rows = np.repeat(np.arange(out.shape[0]), np.diff(out.indptr))
    out.data = out.data / np.where(sums[rows] > 0, sums[rows], 1.0)
    return out


class RP3beta(Recommender):
    """``W_ij = (P_iu P_ui)_ij / pop_j^beta``, each item's row pruned to its ``k`` largest
    weights (ties by lower index); ``score(u) = P_ui[u] · W``.

    Parameters
    ----------
    alpha
        Exponent applied to the interaction values before row normalisation.
    beta
        Popularity penalty of the arrival item.
    k
        Neighbours kept per item.
    """

    name = "rp3beta"
    contract_params: ClassVar[dict[str, Any]] = {"k": 10}

    def __init__(self, *, alpha: float = 1.0, beta: float = 0.5, k: int = 200) -> None:
        if k < 1:
            raise ModelError(f"rp3beta: k must be >= 1, got {k}")
        super().__init__(alpha=float(alpha), beta=float(beta), k=int(k))
        self.weights: sp.csr_matrix | None = None
        self._p_ui: sp.csr_matrix | None = None

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        p_ui = _row_normalise(train, self.params["alpha"])
        p_iu = _row_normalise(sp.csr_matrix(train.T), self.params["alpha"])
        pop = np.bincount(train.indices, minlength=train.shape[1]).astype(np.float64)
        w = sp.csr_matrix(p_iu @ p_ui)
        w.setdiag(0.0)
        w.eliminate_zeros()
        w.sort_indices()
        cols = w.indices
        w.data = w.data / np.power(np.maximum(pop[cols], 1.0), self.params["beta"])
        keep = np.ones(w.nnz, dtype=bool)
        k = self.params["k"]
        for i in np.flatnonzero(np.diff(w.indptr) > k):
            lo, hi = w.indptr[i], w.indptr[i + 1]
            order = np.lexsort((w.indices[lo:hi], -w.data[lo:hi]))
            keep[lo + order[k:]] = False
        rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
        self.weights = sp.csr_matrix(
            (w.data[keep].astype(np.float32), (rows[keep], cols[keep])), shape=w.shape
        )
        self.weights.sort_indices()
        self._p_ui = None

    def _user_rows(self, users: np.ndarray) -> sp.csr_matrix:
        if self._p_ui is None:
            self._p_ui = _row_normalise(self._seen_matrix(), self.params["alpha"])
        return self._p_ui[users]

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        if self.weights is None:
            raise ModelError("rp3beta: no weights")
        u = np.atleast_1d(np.asarray(users, dtype=np.int64))
        w = self.weights if items is None else self.weights[:, np.asarray(items)]
        return np.asarray((self._user_rows(u) @ w).todense(), dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        if self.weights is None:
            raise ModelError("rp3beta: nothing to save")
        w = self.weights
        return {"w_indptr": w.indptr, "w_indices": w.indices, "w_data": w.data}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        n = self.n_items
        self.weights = sp.csr_matrix(
            (arrays["w_data"], arrays["w_indices"], arrays["w_indptr"]), shape=(n, n)
        )
        self._p_ui = None
