"""A two-model blend: EASE and iALS scores, standardised per user, mixed with one weight."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from moodrec.errors import ModelError
from moodrec.interactions.matrix import weight_matrix
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.ease import EASE
from moodrec.models.ials import IALS, IALSParams


def _standardise(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    sd = s.std(axis=1, keepdims=True)
    return (s - s.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)


def parts_state(parts: dict[str, Recommender]) -> dict[str, np.ndarray]:
    """The saved arrays of a blend's fitted parts, each key prefixed ``<part>__``."""
    return {f"{name}__{k}": v for name, part in parts.items() for k, v in part._state().items()}


def restore_parts(
    blend: Recommender, arrays: dict[str, np.ndarray], parts: dict[str, tuple[Recommender, str]]
) -> None:
    """Restore each part (name → (model, weighting)) of a loaded ``blend``.

    A part's training matrix is the blend's, re-weighted with the part's weighting.
    """
    seen = blend._seen_matrix()
    for prefix, (model, weighting) in parts.items():
        model.n_users, model.n_items = blend.n_users, blend.n_items
        model._seen = weight_matrix(seen, weighting)
        n = len(prefix) + 2
        model._restore({k[n:]: v for k, v in arrays.items() if k.startswith(prefix + "__")})


class EASEIALSBlend(Recommender):
    """``weight · z(EASE) + (1 − weight) · z(iALS)``, z = per-user standardisation over items.

    Fit it on raw counts (``weighting="raw"``): each part re-weights the matrix itself
    (``ease_weighting``, ``ials_weighting``). EASE parameters: ``lambda_``, ``max_items``,
    ``min_users``; every other keyword is an :class:`~moodrec.models.ials.IALS` parameter
    (``factors``, ``reg`` — default 60 here —, ``alpha``, ``iterations``, ``cg_steps``,
    ``seed``).
    """

    name = "ease_ials"
    contract_params: ClassVar[dict[str, Any]] = IALSParams.CONTRACT | {"lambda_": 1.0}

    def __init__(
        self,
        *,
        weight: float = 0.5,
        lambda_: float = 100.0,
        max_items: int | None = None,
        min_users: int = 1,
        ease_weighting: str = "binary",
        ials_weighting: str = "bm25",
        **ials_params: Any,
    ) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ModelError(f"ease_ials: weight must be in [0, 1], got {weight}")
        self.ease = EASE(lambda_=lambda_, max_items=max_items, min_users=min_users)
        self.ials = IALS(**({"reg": 60.0} | ials_params))
        super().__init__(
            weight=float(weight),
            ease_weighting=ease_weighting,
            ials_weighting=ials_weighting,
            **self.ease.params,
            **self.ials.params,
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
        return parts_state({"ease": self.ease, "ials": self.ials})

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        restore_parts(
            self,
            arrays,
            {
                "ease": (self.ease, self.params["ease_weighting"]),
                "ials": (self.ials, self.params["ials_weighting"]),
            },
        )
