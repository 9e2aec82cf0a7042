"""Item-based k-nearest-neighbours with cosine similarity (optionally on BM25 weights)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from moodrec.errors import InputDataError, ModelError
from moodrec.interactions.matrix import weight_matrix
from moodrec.models.base import ItemFeatures, Recommender

SIMILARITIES = ("cosine", "bm25")


class ItemKNN(Recommender):
    """Item–item cosine kNN: ``score(u) = x_u · S`` with ``S`` pruned to ``k`` neighbours.

    ``S_ij = x_i·x_j / (‖x_i‖‖x_j‖ + shrink)`` over the item columns of the training matrix
    (re-weighted by BM25 first when ``similarity="bm25"``); the diagonal is zero; each item
    keeps only its ``k`` most similar neighbours (ties by lower index). The co-occurrence
    matrix ``XᵀX`` is computed sparse, so memory follows the number of co-occurring pairs.

    Parameters
    ----------
    k
        Neighbours kept per item.
    shrink
        Added to the cosine denominator (damps similarities supported by few users).
    similarity
        ``cosine`` or ``bm25``.
    """

    name = "itemknn"

    def __init__(self, *, k: int = 100, shrink: float = 0.0, similarity: str = "cosine") -> None:
        if similarity not in SIMILARITIES:
            raise ModelError(f"itemknn: similarity {similarity!r} not in {SIMILARITIES}")
        if k < 1:
            raise ModelError(f"itemknn: k must be >= 1, got {k}")
        super().__init__(k=int(k), shrink=float(shrink), similarity=similarity)
        self.similarity: sp.csr_matrix | None = None

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        x = train
        if self.params["similarity"] == "bm25":
            try:
                x = weight_matrix(train, "bm25")
            except InputDataError as exc:  # pragma: no cover - weighting names are fixed
                raise ModelError(str(exc)) from exc
        xc = sp.csc_matrix(x, dtype=np.float32)
        norms = np.sqrt(np.asarray(xc.multiply(xc).sum(axis=0)).ravel())
        n_items = x.shape[1]
        # co-occurrence is sparse (pairs of items sharing a user): one sparse product
        g = sp.csc_matrix(xc.T @ xc, dtype=np.float32)
        g.setdiag(0.0)
        g.eliminate_zeros()
        g.sort_indices()
        cols = np.repeat(np.arange(n_items), np.diff(g.indptr))
        denom = norms[g.indices] * norms[cols] + self.params["shrink"]
        g.data = np.where(denom > 0, g.data / np.where(denom > 0, denom, 1.0), 0.0).astype(
            np.float32
        )
        keep = g.data > 0
        k = self.params["k"]
        # prune each column (item j) to its k most similar rows, ties by the lower row index
        for j in np.flatnonzero(np.diff(g.indptr) > k):
            lo, hi = g.indptr[j], g.indptr[j + 1]
            order = np.lexsort((g.indices[lo:hi], -g.data[lo:hi]))
            keep[lo + order[k:]] = False
        rows_k, cols_k = g.indices[keep], cols[keep]
        s = sp.csr_matrix(
            (g.data[keep], (rows_k, cols_k)), shape=(n_items, n_items), dtype=np.float32
        )
        s.sort_indices()
        self.similarity = s

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        if self.similarity is None:
            raise ModelError("itemknn: no similarity matrix")
        u = np.atleast_1d(np.asarray(users, dtype=np.int64))
        s = self.similarity if items is None else self.similarity[:, np.asarray(items)]
        return np.asarray((self._seen_matrix()[u] @ s).todense(), dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        s = self.similarity
        if s is None:
            raise ModelError("itemknn: nothing to save")
        return {"sim_indptr": s.indptr, "sim_indices": s.indices, "sim_data": s.data}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        n = self.n_items
        self.similarity = sp.csr_matrix(
            (arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]), shape=(n, n)
        )
