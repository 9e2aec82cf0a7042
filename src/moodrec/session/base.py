"""The contract every session recommender honours: ``fit``, ``recommend_next``, ``save``/``load``.

A session recommender learns from training sessions (:class:`~moodrec.session.data.SessionData`)
and, given the prefix of a running session (item indices, oldest first), scores every item
as the next play. Ranking uses :func:`moodrec.interactions.ranking.top_k` (ties: lower index
first). The registry of session models is :mod:`moodrec.session` (``load_session_models``).

Saving never pickles (:class:`moodrec.models.saved.SavedModel`): a model folder holds
``session_model.json`` (class name, parameters, schema version, JSON extras) and
``arrays.npz`` read back with ``allow_pickle=False``.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Self

import numpy as np

from moodrec.errors import ModelError, ModelLoadError
from moodrec.interactions.ranking import check_k, top_k
from moodrec.models.saved import SavedModel
from moodrec.session.data import SessionData

MODEL_JSON = "session_model.json"
#: weight of the global-popularity backfill every model adds (fills ties and empty lists)
BACKFILL = 1e-9


class SessionRecommender(SavedModel):
    """Base of every session recommender.

    Subclasses set ``name`` (unique registry key), take hyperparameters as keyword
    arguments (JSON-serialisable, stored in ``self.params``), and implement :meth:`_fit`,
    :meth:`score_next`, :meth:`_state` and :meth:`_restore`.
    """

    registry: ClassVar[dict[str, type[SavedModel]]] = {}
    family: ClassVar[str] = "session model"
    meta_file: ClassVar[str] = MODEL_JSON
    #: whether the model uses who the user is (personalised)
    personalised: ClassVar[bool] = False
    #: parameters for a fast fit on a tiny world (used by the shared contract tests)
    contract_params: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.n_items = 0
        self.n_users = 0
        self.popularity = np.zeros(0)
        self._fitted = False

    # -- to implement ---------------------------------------------------------------------
    @abstractmethod
    def _fit(self, train: SessionData) -> None:
        """Learn from the training sessions."""

    @abstractmethod
    def score_next(
        self, prefix: np.ndarray, user: int | None = None, target_mood: int | None = None
    ) -> np.ndarray:
        """``(n_items,)`` scores of every item as the next play after ``prefix``."""

    def _state(self) -> dict[str, np.ndarray]:
        """Learned arrays to save (numeric only)."""
        return {}

    def _restore(self, arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        """Set the learned state from :meth:`_state` arrays and :meth:`_extra` JSON."""
        return None

    def _extra(self) -> dict[str, Any]:
        """JSON-able learned state besides arrays (labels ...)."""
        return {}

    # -- provided -------------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        return self._fitted

    def fit(self, train: SessionData) -> Self:
        """Fit on training sessions; returns ``self``.

        Raises
        ------
        ModelError
            If there are no training plays.
        """
        if train.items.size == 0:
            raise ModelError(f"{self.name}: no training sessions")
        self.n_items, self.n_users = int(train.n_items), int(train.n_users)
        counts = np.bincount(train.items, minlength=self.n_items).astype(np.float64)
        self.popularity = counts / counts.sum()
        self._fit(train)
        self._fitted = True
        return self

    def _check(self, prefix: np.ndarray) -> np.ndarray:
        if not self._fitted:
            raise ModelError(f"{self.name}: call fit() (or load()) first")
        p = np.asarray(prefix, dtype=np.int64).ravel()
        if p.size and (p.min() < 0 or p.max() >= self.n_items):
            raise ModelError(f"{self.name}: prefix item outside 0..{self.n_items - 1}")
        return p

    def recommend_next(
        self,
        prefix: np.ndarray | list[int],
        user: int | None = None,
        k: int = 10,
        *,
        exclude: np.ndarray | list[int] | None = None,
        target_mood: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` next items after ``prefix`` and their scores, best first.

        Parameters
        ----------
        prefix
            Item indices of the session so far, oldest first (may be empty).
        user
            User index (used by personalised models; others ignore it).
        k
            List length, ``>= 1``; capped at ``n_items`` (a huge ``k`` costs no more).
        exclude
            Item indices never to recommend (e.g. the prefix itself).
        target_mood
            Mood-state index that overrides the inferred mood (mood-aware models).

        Returns
        -------
        (indices, scores)
            ``(min(k, n_items),)`` each; padded with ``-1`` / ``-inf`` if fewer items remain.

        Raises
        ------
        ModelError
            Unfitted, a prefix item out of range, ``k < 1`` or NaN scores.
        """
        p = self._check(prefix)
        k = check_k(k, self.n_items)
        s = np.asarray(self.score_next(p, user, target_mood), dtype=np.float64)
        if np.isnan(s).any():
            raise ModelError(f"{self.name}: NaN scores (the model's state is broken)")
        s = s + BACKFILL * self.popularity
        if exclude is not None:
            s = s.copy()
            s[np.asarray(exclude, dtype=np.int64)] = -np.inf
        return top_k(s, k)

    def _family_fields(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The shapes and JSON extras; the training popularity (the backfill)."""
        fields = {"n_items": self.n_items, "n_users": self.n_users, "extra": self._extra()}
        return fields, {"popularity": self.popularity}

    def _load_family_fields(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray], state: dict[str, np.ndarray]
    ) -> None:
        self.n_items, self.n_users = int(meta["n_items"]), int(meta["n_users"])
        if self.n_items < 1 or self.n_users < 0:
            raise ModelLoadError(
                f"{self.name}: n_items={self.n_items}, n_users={self.n_users} (n_items >= 1)"
            )
        self.popularity = arrays["popularity"]
        if self.popularity.shape != (self.n_items,):
            raise ModelLoadError(
                f"{self.name}: popularity has shape {self.popularity.shape}, "
                f"the model has n_items={self.n_items}"
            )
        extra = meta.get("extra", {})
        if not isinstance(extra, dict):
            raise ModelLoadError(f"{self.name}: 'extra' must be an object, got {extra!r}")
        self._restore(state, extra)
        self._fitted = True

    def _check_loaded(self) -> None:
        """The learned state must score every item after an empty prefix, finitely."""
        user = 0 if self.n_users > 0 else None
        probe = np.asarray(self.score_next(np.zeros(0, dtype=np.int64), user))
        if probe.shape != (self.n_items,):
            raise ModelLoadError(
                f"{self.name}: the saved state scores {probe.shape} items, "
                f"the model has n_items={self.n_items}"
            )
        if np.isnan(probe).any():
            raise ModelLoadError(f"{self.name}: the saved state gives NaN scores")
