"""Most-popular baseline: every user gets the items with the most training users."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from moodrec.models.base import ItemFeatures, Recommender


class Popularity(Recommender):
    """Scores each item by how many training users interacted with it (ties: lower index).

    Parameters
    ----------
    weighted
        Sum the interaction weights instead of counting users.
    """

    name = "popularity"

    def __init__(self, *, weighted: bool = False) -> None:
        super().__init__(weighted=weighted)
        self.item_scores = np.zeros(0, dtype=np.float32)

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        if self.params["weighted"]:
            scores = np.asarray(train.sum(axis=0)).ravel()
        else:
            scores = np.bincount(train.indices, minlength=train.shape[1])
        self.item_scores = scores.astype(np.float32)

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        s = self.item_scores if items is None else self.item_scores[np.asarray(items)]
        return np.broadcast_to(s, (np.atleast_1d(users).size, s.size)).copy()

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.item_scores = arrays["item_scores"]
