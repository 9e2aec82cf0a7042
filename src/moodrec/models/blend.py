"""A two-model blend: EASE and iALS scores, standardised per user, mixed with one weight."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from moodrec.evaluation.interactions import weight_matrix
from moodrec.models.base import ItemFeatures, ModelError, Recommender
from moodrec.models.ease import EASE
from moodrec.models.ials import IALS


def _standardise(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    sd = s.std(axis=1, keepdims=True)
    return (s - s.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)


class EASEIALSBlend(Recommender):
    """``weight · z(EASE) + (1 − weight) · z(iALS)``, z = per-user standardisation over items.

    Fit it on raw counts (``weighting="raw"``): each part re-weights the matrix itself
    (``ease_weighting``, ``ials_weighting``). EASE parameters: ``lambda_``, ``max_items``;
    iALS parameters: ``factors``, ``reg``, ``alpha``, ``iterations``, ``seed``.
    """

    name = "ease_ials"
    contract_params: ClassVar[dict[str, Any]] = {
        "factors": 2,
        "reg": 0.01,
        "iterations": 30,
        "lambda_": 1.0,
    }

    def __init__(
        self,
        *,
        weight: float = 0.5,
        lambda_: float = 100.0,
        max_items: int | None = None,
        factors: int = 64,
        reg: float = 60.0,
        alpha: float = 1.0,
        iterations: int = 15,
        seed: int = 0,
        ease_weighting: str = "binary",
        ials_weighting: str = "bm25",
    ) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ModelError(f"ease_ials: weight must be in [0, 1], got {weight}")
        super().__init__(
            weight=float(weight),
            lambda_=float(lambda_),
            max_items=max_items,
            factors=int(factors),
            reg=float(reg),
            alpha=float(alpha),
            iterations=int(iterations),
            seed=int(seed),
            ease_weighting=ease_weighting,
            ials_weighting=ials_weighting,
        )
        p = self.params
        self.ease = EASE(lambda_=p["lambda_"], max_items=p["max_items"])
        self.ials = IALS(
            factors=p["factors"],
            reg=p["reg"],
            alpha=p["alpha"],
            iterations=p["iterations"],
            seed=p["seed"],
        )

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        self.ease.fit(weight_matrix(train, self.params["ease_weighting"]))
        self.ials.fit(weight_matrix(train, self.params["ials_weighting"]))

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        w = self.params["weight"]
        s = w * _standardise(self.ease.score(users)) + (1.0 - w) * _standardise(
            self.ials.score(users)
        )
        return s if items is None else s[:, np.asarray(items)]

    def _state(self) -> dict[str, np.ndarray]:
        parts = {"ease": self.ease._state(), "ials": self.ials._state()}
        return {f"{p}__{k}": v for p, state in parts.items() for k, v in state.items()}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        seen = self._seen_matrix()
        for prefix, model, weighting in (
            ("ease", self.ease, self.params["ease_weighting"]),
            ("ials", self.ials, self.params["ials_weighting"]),
        ):
            model.n_users, model.n_items = self.n_users, self.n_items
            model._seen = weight_matrix(seen, weighting)
            n = len(prefix) + 2
            model._restore({k[n:]: v for k, v in arrays.items() if k.startswith(prefix + "__")})
