"""The contract every session recommender honours: ``fit``, ``recommend_next``, ``save``/``load``.

A session recommender learns from training sessions (:class:`~moodrec.session.data.SessionData`)
and, given the prefix of a running session (item indices, oldest first), scores every item
as the next play. Ranking uses :func:`moodrec.models.base.top_k` (ties: lower index first).

Saving never pickles: a model folder holds ``session_model.json`` (class name, parameters,
schema version, JSON extras) and ``arrays.npz`` read back with ``allow_pickle=False``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from moodrec.models.base import ModelError, read_model_files, top_k, write_model_files
from moodrec.session.data import SessionData

SESSION_SCHEMA_VERSION = 1
MODEL_JSON = "session_model.json"
ARRAYS_NPZ = "arrays.npz"
#: weight of the global-popularity backfill every model adds (fills ties and empty lists)
BACKFILL = 1e-9


class SessionRecommender(ABC):
    """Base of every session recommender.

    Subclasses set ``name`` (unique registry key), take hyperparameters as keyword
    arguments (JSON-serialisable, stored in ``self.params``), and implement :meth:`_fit`,
    :meth:`score_next`, :meth:`_state` and :meth:`_restore`.
    """

    name: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[SessionRecommender]]] = {}
    #: whether the model uses who the user is (personalised)
    personalised: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in SessionRecommender.registry and (
                SessionRecommender.registry[cls.name] is not cls
            ):
                raise ModelError(f"two session recommenders are named {cls.name!r}")
            SessionRecommender.registry[cls.name] = cls

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
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
            List length.
        exclude
            Item indices never to recommend (e.g. the prefix itself).
        target_mood
            Mood-state index that overrides the inferred mood (mood-aware models).

        Returns
        -------
        (indices, scores)
            ``(k,)`` each; padded with ``-1`` / ``-inf`` if fewer items remain.
        """
        p = self._check(prefix)
        s = np.asarray(self.score_next(p, user, target_mood), dtype=np.float64)
        s = s + BACKFILL * self.popularity
        if exclude is not None:
            s = s.copy()
            s[np.asarray(exclude, dtype=np.int64)] = -np.inf
        return top_k(s, k)

    def save(self, folder: Path | str) -> Path:
        """Write ``session_model.json`` + ``arrays.npz`` (atomic renames); returns the folder."""
        if not self._fitted:
            raise ModelError(f"{self.name}: call fit() first")
        arrays = {f"state__{k}": v for k, v in self._state().items()}
        arrays["popularity"] = self.popularity
        meta = {
            "model": self.name,
            "schema_version": SESSION_SCHEMA_VERSION,
            "params": self.params,
            "n_items": self.n_items,
            "n_users": self.n_users,
            "extra": self._extra(),
        }
        return write_model_files(folder, meta, arrays, MODEL_JSON)

    @classmethod
    def load(cls, folder: Path | str) -> SessionRecommender:
        """Load a model written by :meth:`save` (any registered class on the base).

        Raises
        ------
        ModelError
            If the folder is unreadable, of another schema version or an unknown model.
        """
        folder = Path(folder)
        meta, arrays = read_model_files(folder, SESSION_SCHEMA_VERSION, MODEL_JSON)
        _register(str(meta.get("model", "")))
        klass = SessionRecommender.registry.get(meta.get("model", ""))
        if klass is None:
            raise ModelError(f"{folder / MODEL_JSON}: unknown session model {meta.get('model')!r}")
        if cls is not SessionRecommender and not issubclass(klass, cls):
            raise ModelError(f"{folder}: holds a {klass.name}, not a {cls.name}")
        model = klass(**meta["params"])
        model.n_items, model.n_users = int(meta["n_items"]), int(meta["n_users"])
        model.popularity = arrays["popularity"]
        prefix = "state__"
        model._restore(
            {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)},
            meta.get("extra", {}),
        )
        model._fitted = True
        return model


def csr_arrays(name: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A CSR matrix as plain arrays for :meth:`SessionRecommender._state`."""
    return {
        f"{name}__data": m.data,
        f"{name}__indices": m.indices,
        f"{name}__indptr": m.indptr,
        f"{name}__shape": np.asarray(m.shape, dtype=np.int64),
    }


def csr_from(name: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    """Inverse of :func:`csr_arrays`."""
    shape = tuple(int(x) for x in arrays[f"{name}__shape"])
    return sp.csr_matrix(
        (arrays[f"{name}__data"], arrays[f"{name}__indices"], arrays[f"{name}__indptr"]),
        shape=shape,
    )


def make_session_model(name: str, **params: Any) -> SessionRecommender:
    """A new, unfitted session recommender by registry name.

    Raises
    ------
    ModelError
        If no model has that name.
    """
    _register(name)
    klass = SessionRecommender.registry.get(name)
    if klass is None:
        known = ", ".join(sorted(SessionRecommender.registry))
        raise ModelError(f"unknown session model {name!r} (known: {known})")
    return klass(**params)


def _register(name: str) -> None:
    """Import the module defining ``name`` (torch only for the sequence model)."""
    import moodrec.session.models

    if name == "gru4rec":
        import moodrec.session.sequence  # noqa: F401
