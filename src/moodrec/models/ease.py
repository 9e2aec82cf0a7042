"""EASE^R (Steck 2019): closed-form item–item ``B = I - P / diag(P)``, ``P = (XᵀX+λI)⁻¹``."""

from __future__ import annotations

import logging

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from moodrec.errors import ModelError, ModelFitError
from moodrec.models.base import ItemFeatures, Recommender

logger = logging.getLogger(__name__)

#: beyond this many items the dense Gram matrix (n² float32) is too large for one machine
EASE_MAX_ITEMS = 30_000


class EASE(Recommender):
    """Embarrassingly shallow autoencoder, dense closed form.

    The Gram matrix is dense ``n × n``; with more than ``max_items`` items in the catalogue
    the model keeps only the ``max_items`` most popular (training users) and the rest score
    below every kept item (ordered by popularity) — they are still ranked, never dropped.
    ``max_items`` itself may not exceed :data:`EASE_MAX_ITEMS` (30 000, ~3.6 GB of float32
    Gram matrix); larger values raise :class:`ModelError`.

    Parameters
    ----------
    lambda_
        L2 regularisation λ added to the diagonal.
    max_items
        Items kept (most popular first); ``None`` = all up to the hard limit.
    min_users
        Keep only items with at least this many training users (``1`` = every item up to
        ``max_items``, even those nobody played); the others rank below the kept ones.
    """

    name = "ease"

    def __init__(
        self, *, lambda_: float = 100.0, max_items: int | None = None, min_users: int = 1
    ) -> None:
        if max_items is not None and not 1 <= max_items <= EASE_MAX_ITEMS:
            raise ModelError(f"ease: max_items must be in 1..{EASE_MAX_ITEMS}, got {max_items}")
        if min_users < 1:
            raise ModelError(f"ease: min_users must be >= 1, got {min_users}")
        super().__init__(lambda_=float(lambda_), max_items=max_items, min_users=int(min_users))
        self.kept = np.zeros(0, dtype=np.int64)
        self.weights = np.zeros((0, 0), dtype=np.float32)
        self.fallback = np.zeros(0, dtype=np.float32)

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        n_items = train.shape[1]
        pop = np.bincount(train.indices, minlength=n_items)
        limit = self.params["max_items"] or EASE_MAX_ITEMS
        min_users = self.params.get("min_users", 1)
        eligible = np.flatnonzero(pop >= min_users) if min_users > 1 else np.arange(n_items)
        if eligible.size == 0:
            raise ModelFitError(f"ease: no item has {min_users} or more training users")
        if eligible.size > limit:
            order = eligible[np.lexsort((eligible, -pop[eligible]))]
            kept = np.sort(order[:limit])
            logger.info("ease: %d items > limit %d, keeping the most popular", eligible.size, limit)
        else:
            kept = eligible
        x = sp.csc_matrix(train)[:, kept].astype(np.float64)
        g = np.asarray((x.T @ x).todense(), dtype=np.float64)
        g[np.diag_indices_from(g)] += self.params["lambda_"]
        # G is symmetric positive definite: Cholesky inverse (potrf + potri), ~3x cheaper than LU
        c, info = la.lapack.dpotrf(g, lower=False, overwrite_a=True)
        if info == 0:
            p, info = la.lapack.dpotri(c, lower=False, overwrite_c=True)
        if info != 0:
            raise ModelFitError(f"ease: Gram matrix not positive definite (LAPACK info {info})")
        p = np.triu(p) + np.triu(p, 1).T
        b = -p / np.diag(p)[None, :]
        b[np.diag_indices_from(b)] = 0.0
        if not np.all(np.isfinite(b)):
            raise ModelFitError("ease: weights are not finite (raise lambda_)")
        self.kept = kept.astype(np.int64)
        self.weights = b.astype(np.float32)
        # items outside the kept set: below any kept item, by popularity then index
        self.fallback = (pop / max(pop.max(), 1) - 2.0).astype(np.float32)

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        u = np.atleast_1d(np.asarray(users, dtype=np.int64))
        x = sp.csr_matrix(self._seen_matrix()[u][:, self.kept])
        kept_scores = np.asarray(x @ self.weights, dtype=np.float32)
        if self.kept.size == self.n_items:
            out = kept_scores
        else:
            floor = kept_scores.min(axis=1, keepdims=True) if kept_scores.size else 0.0
            out = np.broadcast_to(self.fallback + floor, (u.size, self.n_items)).copy()
            out[:, self.kept] = kept_scores
        return out if items is None else out[:, np.asarray(items)]

    def _state(self) -> dict[str, np.ndarray]:
        return {"kept": self.kept, "weights": self.weights, "fallback": self.fallback}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.kept = arrays["kept"]
        self.weights = arrays["weights"]
        self.fallback = arrays["fallback"]
