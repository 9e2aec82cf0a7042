"""The one contract every recommender honours: ``fit``, ``score``, ``recommend``, ``save``/``load``.

Users and items are dense integer indices ``0..n_users-1`` / ``0..n_items-1`` (the
:class:`moodrec.interactions.matrix.InteractionData` maps them to dataset ids). The training
matrix is a ``scipy.sparse.csr_matrix`` of shape ``(n_users, n_items)`` whose values are the
interaction weights; its shape spans the whole catalogue, so items with no training
interactions (cold items) are columns of zeros that content-aware models can still score.

Saving never pickles (:class:`moodrec.models.saved.SavedModel`): a model folder holds
``model.json`` (class name, parameters, schema version, shapes) and ``arrays.npz`` (the learned
state and the training matrix) read back with ``allow_pickle=False``.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from moodrec.errors import ModelError, ModelFitError, ModelLoadError
from moodrec.interactions.ranking import check_k, exclude_items, top_k
from moodrec.models.saved import SavedModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ItemFeatures:
    """Content features of every item, row ``i`` = item index ``i``.

    Attributes
    ----------
    values
        ``(n_items, n_columns)`` float32; missing values already imputed (see ``available``).
    columns
        Column names, ``len(columns) == values.shape[1]``.
    groups
        Feature group → column names, e.g. ``{"audio": [...], "genre": [...], "topics": [...],
        "cluster": [...], "popularity": [...]}``; the ablation selects groups by name.
    available
        ``(n_items, n_groups)`` bool in the order of ``groups``: whether the item really has
        that group (False where values were imputed). Optional.
    """

    values: np.ndarray
    columns: list[str]
    groups: dict[str, list[str]] = field(default_factory=dict)
    available: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(self.columns):
            raise ModelError(
                f"ItemFeatures: values shape {self.values.shape} does not match "
                f"{len(self.columns)} columns"
            )
        unknown = {c for cols in self.groups.values() for c in cols} - set(self.columns)
        if unknown:
            raise ModelError(f"ItemFeatures: groups name unknown columns {sorted(unknown)[:5]}")

    @property
    def n_items(self) -> int:
        return int(self.values.shape[0])

    def select(self, groups: list[str] | tuple[str, ...]) -> ItemFeatures:
        """Only the named groups' columns (in the order given); unknown groups raise."""
        missing = [g for g in groups if g not in self.groups]
        if missing:
            raise ModelError(
                f"ItemFeatures: no feature group(s) {missing}; have {list(self.groups)}"
            )
        cols = [c for g in groups for c in self.groups[g]]
        index = [self.columns.index(c) for c in cols]
        avail = None
        if self.available is not None:
            order = list(self.groups)
            avail = self.available[:, [order.index(g) for g in groups]]
        return ItemFeatures(
            values=self.values[:, index],
            columns=cols,
            groups={g: list(self.groups[g]) for g in groups},
            available=avail,
        )


@dataclass(frozen=True)
class SideInformation:
    """Side information beyond the interaction matrix, for the models that use it.

    Attributes
    ----------
    user_graph
        ``(n_users, n_users)`` sparse, non-zero where two users are linked (friends).
    item_tags
        ``(n_items, n_tags)`` sparse tag counts per item. Whoever builds it must leave out
        tag assignments of held-out (user, item) pairs (see
        :func:`moodrec.evaluation.side_info.item_tag_matrix`).
    """

    user_graph: sp.csr_matrix | None = None
    item_tags: sp.csr_matrix | None = None

    def check(self, n_users: int, n_items: int, model: str) -> None:
        """Raise :class:`ModelError` when a matrix does not match the training shape."""
        if self.user_graph is not None and self.user_graph.shape != (n_users, n_users):
            raise ModelError(
                f"{model}: user_graph is {self.user_graph.shape}, expected ({n_users}, {n_users})"
            )
        if self.item_tags is not None and self.item_tags.shape[0] != n_items:
            raise ModelError(
                f"{model}: item_tags has {self.item_tags.shape[0]} rows, the matrix {n_items} items"
            )


class Recommender(SavedModel):
    """Base of every recommender.

    Subclasses set ``name`` (a unique registry key), implement :meth:`fit`,
    :meth:`score`, :meth:`_state` and :meth:`_restore`, and take their hyperparameters as
    keyword arguments of ``__init__`` (stored in ``self.params``, JSON-serialisable, including
    ``seed`` where randomness is involved).
    """

    registry: ClassVar[dict[str, type[SavedModel]]] = {}
    family: ClassVar[str] = "recommender"
    #: whether the model can score items with no training interactions (via content)
    scores_cold_items: ClassVar[bool] = False
    #: whether ``fit(side=...)`` is used (friends graph, item tags)
    uses_side_information: ClassVar[bool] = False
    #: parameters for a fast fit on a tiny matrix (used by the shared contract tests)
    contract_params: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.n_users = 0
        self.n_items = 0
        self._seen: sp.csr_matrix | None = None
        self._side: SideInformation | None = None

    # -- to implement ---------------------------------------------------------------------
    @abstractmethod
    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        """Learn from ``train`` (and optionally early-stop on ``validation``)."""

    @abstractmethod
    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Scores, ``(len(users), n_items)`` or ``(len(users), len(items))``; higher = better."""

    @abstractmethod
    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Set the learned state from arrays written by :meth:`_state`."""

    # -- provided -------------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        return self._seen is not None

    def fit(
        self,
        train: sp.csr_matrix,
        *,
        validation: sp.csr_matrix | None = None,
        item_features: ItemFeatures | None = None,
        side: SideInformation | None = None,
    ) -> Self:
        """Fit on a ``(n_users, n_items)`` CSR matrix; returns ``self``.

        ``side`` (friends graph, item tags) is kept in ``self._side`` for the models that use
        it (:attr:`uses_side_information`); the others ignore it.
        """
        train = sp.csr_matrix(train, dtype=np.float32)
        if train.nnz == 0:
            raise ModelFitError(f"{self.name}: the training matrix has no interactions")
        if item_features is not None and item_features.n_items != train.shape[1]:
            raise ModelError(
                f"{self.name}: item_features has {item_features.n_items} rows, "
                f"the matrix {train.shape[1]} items"
            )
        self.n_users, self.n_items = (int(x) for x in train.shape)
        if side is not None:
            side.check(self.n_users, self.n_items, self.name)
        self._side = side
        self._seen = train
        self._fit(train, validation, item_features)
        return self

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise ModelError(f"{self.name}: call fit() (or load()) first")

    def _seen_matrix(self) -> sp.csr_matrix:
        """The training matrix the model was fitted on (items each user has seen)."""
        if self._seen is None:
            raise ModelError(f"{self.name}: call fit() (or load()) first")
        return self._seen

    def recommend(
        self,
        users: np.ndarray | list[int] | int,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores per user (ties: lower item index first).

        ``exclude_seen`` drops the user's training items; ``items`` restricts the candidates
        (indices into the catalogue). Returns ``(indices, scores)``, each
        ``(len(users), min(k, n_items))`` (``k`` is capped at the catalogue, so a huge ``k``
        costs no more than ``n_items``), padded with ``-1`` / ``-inf`` when fewer candidates
        remain.

        Raises
        ------
        ModelError
            Unfitted model, ``k < 1``, a user out of range, or NaN scores.
        """
        self._check_fitted()
        k = check_k(k, self.n_items)
        u = np.atleast_1d(np.asarray(users, dtype=np.int64))
        if u.size and (u.min() < 0 or u.max() >= self.n_users):
            raise ModelError(f"{self.name}: user index out of range 0..{self.n_users - 1}")
        if items is None:
            fast = self._exact_top_k(u, k, exclude_seen)
            if fast is not None:
                if np.isnan(fast[1]).any():
                    raise ModelError(f"{self.name}: NaN scores (the model's state is broken)")
                return fast
        s = np.asarray(self.score(u, None), dtype=np.float64)
        if np.isnan(s).any():
            raise ModelError(
                f"{self.name}: NaN scores for {int(np.isnan(s).any(axis=1).sum())} of "
                f"{u.size} user(s) (the model's state is broken)"
            )
        if exclude_seen:
            exclude_items(s, self._seen_matrix()[u])
        if items is not None:
            mask = np.ones(self.n_items, dtype=bool)
            mask[np.asarray(items, dtype=np.int64)] = False
            s[:, mask] = -np.inf
        return top_k(s, k)

    def _exact_top_k(
        self, users: np.ndarray, k: int, exclude_seen: bool
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """A faster exact path of :meth:`recommend` over the whole catalogue, or ``None``.

        Models with an index (factor models at large catalogues, see
        :class:`moodrec.models.mips.FactorIndex`) override this; the result must equal the
        brute-force one (same items, order and tie rule). ``None`` = use brute force.
        """
        return None

    def selected_params(self) -> dict[str, Any]:
        """Hyperparameters the model chose itself on the validation matrix during ``fit``.

        Tuning merges them into the best parameters so that the refit on all training data
        (which has no validation matrix) reuses them. Default: none.
        """
        return {}

    def prepare_serving(self) -> None:
        """Build whatever makes :meth:`recommend` fast (an index), ahead of the first request.

        The default does nothing; factor models build their :class:`FactorIndex` here.
        """
        return None

    def _family_fields(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The shapes, and the training matrix (what each user has seen)."""
        seen = self._seen_matrix()
        arrays = {
            "seen__indptr": seen.indptr,
            "seen__indices": seen.indices,
            "seen__data": seen.data,
        }
        return {"n_users": self.n_users, "n_items": self.n_items}, arrays

    def _load_family_fields(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray], state: dict[str, np.ndarray]
    ) -> None:
        self.n_users, self.n_items = int(meta["n_users"]), int(meta["n_items"])
        if self.n_users < 1 or self.n_items < 1:
            raise ModelLoadError(
                f"{self.name}: n_users={self.n_users}, n_items={self.n_items} (must be >= 1)"
            )
        self._seen = sp.csr_matrix(
            (arrays["seen__data"], arrays["seen__indices"], arrays["seen__indptr"]),
            shape=(self.n_users, self.n_items),
        )
        self._seen.check_format(full_check=True)
        self._restore(state)

    def _check_loaded(self) -> None:
        """The learned state must score every item of the catalogue, and no score is NaN."""
        probe = np.asarray(self.score(np.array([0], dtype=np.int64), None))
        if probe.shape != (1, self.n_items):
            raise ModelLoadError(
                f"{self.name}: the saved state scores {probe.shape[-1]} items, "
                f"the model has n_items={self.n_items}"
            )
        if np.isnan(probe).any():
            raise ModelLoadError(f"{self.name}: the saved state gives NaN scores")
