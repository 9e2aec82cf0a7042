"""The one contract every recommender honours: ``fit``, ``score``, ``recommend``, ``save``/``load``.

Users and items are dense integer indices ``0..n_users-1`` / ``0..n_items-1`` (the
:class:`moodrec.evaluation.interactions.InteractionData` maps them to dataset ids). The training
matrix is a ``scipy.sparse.csr_matrix`` of shape ``(n_users, n_items)`` whose values are the
interaction weights; its shape spans the whole catalogue, so items with no training
interactions (cold items) are columns of zeros that content-aware models can still score.

Saving never pickles: a model folder holds ``model.json`` (class name, parameters, schema
version, shapes) and ``arrays.npz`` read back with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from moodrec.errors import MoodrecError
from moodrec.storage import atomic_path, write_json_atomic

logger = logging.getLogger(__name__)

MODEL_SCHEMA_VERSION = 1
MODEL_JSON = "model.json"
ARRAYS_NPZ = "arrays.npz"


class ModelError(MoodrecError):
    """A recommender was misused (not fitted, wrong shapes) or a saved model is unreadable."""


class ModelFitError(ModelError):
    """Training diverged (NaN/inf parameters) or could not run on the given data."""


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


def _candidates(row: np.ndarray, k: int) -> np.ndarray:
    """Indices of every entry >= the k-th largest value's lower bound (a superset of the top k).

    Large rows: split into ``m >= k`` chunks; the k-th largest chunk maximum ``t`` is a lower
    bound of the k-th largest value (k chunks each hold a value >= t), so ``row >= t`` keeps
    the whole top k plus every tie at its boundary — two vectorised passes, no partition.
    """
    n = row.size
    n_chunks = min(n, max(4 * k, 1024))
    width = n // n_chunks
    if width < 4:
        part = np.argpartition(row, n - k)[n - k :]
        return np.flatnonzero(row >= row[part].min())
    maxima = row[: n_chunks * width].reshape(n_chunks, width).max(axis=1)
    if n_chunks * width < n:
        maxima = np.append(maxima, row[n_chunks * width :].max())
    threshold = np.partition(maxima, maxima.size - k)[maxima.size - k]
    return np.flatnonzero(row >= threshold)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` highest scores per row, ties broken by lower index.

    Two vectorised passes per row find a small candidate superset of the top ``k`` (see
    :func:`_candidates`), so a 1M-item row takes about a millisecond; the exact tie rule
    (lower item id first) is applied among all candidates, the boundary ties included. Scores of
    ``-inf`` are never returned: rows with fewer finite scores than ``k`` are padded with
    index ``-1`` and value ``-inf``.

    Parameters
    ----------
    scores
        ``(n_rows, n_items)`` or ``(n_items,)`` float array.
    k
        How many to return per row, ``k >= 1``.

    Returns
    -------
    (indices, values)
        Both ``(n_rows, k)`` (or ``(k,)`` for a 1-D input), best first.
    """
    if k < 1:
        raise ModelError(f"top_k: k must be >= 1, got {k}")
    one_d = scores.ndim == 1
    s = np.atleast_2d(scores)
    n_rows, n_items = s.shape
    kk = min(k, n_items)
    out_i = np.full((n_rows, k), -1, dtype=np.int64)
    out_v = np.full((n_rows, k), -np.inf, dtype=np.float64)
    if kk == 0:
        return (out_i[0], out_v[0]) if one_d else (out_i, out_v)
    for r in range(n_rows):
        row = s[r]
        cand = _candidates(row, kk) if kk < n_items else np.arange(n_items)
        # best first; among equal scores the lower index first (lexsort: last key primary)
        order = np.lexsort((cand, -row[cand]))
        cand = cand[order][:kk]
        cand = cand[row[cand] > -np.inf]
        out_i[r, : cand.size] = cand
        out_v[r, : cand.size] = row[cand]
    return (out_i[0], out_v[0]) if one_d else (out_i, out_v)


def write_model_files(
    folder: Path | str,
    meta: dict[str, Any],
    arrays: dict[str, Any],
    meta_file: str = MODEL_JSON,
) -> Path:
    """Write ``arrays.npz`` then ``meta_file`` into ``folder`` (atomic renames, no pickle).

    Raises
    ------
    ModelError
        If an array has dtype ``object`` (it could only be stored by pickling).
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    packed = {key: np.asarray(value) for key, value in arrays.items()}
    for key, a in packed.items():
        if a.dtype == object:
            raise ModelError(f"{meta.get('model')}: refusing to save object array {key!r}")
    with atomic_path(out / ARRAYS_NPZ) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **packed)
    write_json_atomic(out / meta_file, meta)
    return out


def read_model_files(
    folder: Path | str, schema_version: int, meta_file: str = MODEL_JSON
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read ``meta_file`` (checking ``schema_version``) and ``arrays.npz`` (no pickle).

    Raises
    ------
    ModelError
        If the folder is unreadable or holds another schema version.
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / meta_file).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{folder / meta_file}: cannot read the saved model ({exc})") from exc
    if meta.get("schema_version") != schema_version:
        raise ModelError(
            f"{folder / meta_file}: schema_version {meta.get('schema_version')!r}, "
            f"expected {schema_version}"
        )
    try:
        with np.load(folder / ARRAYS_NPZ, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder / ARRAYS_NPZ}: cannot read the saved arrays ({exc})") from exc
    return meta, arrays


class Recommender(ABC):
    """Base of every recommender.

    Subclasses set ``name`` (a unique registry key), implement :meth:`fit`,
    :meth:`score`, :meth:`_state` and :meth:`_restore`, and take their hyperparameters as
    keyword arguments of ``__init__`` (stored in ``self.params``, JSON-serialisable, including
    ``seed`` where randomness is involved).
    """

    name: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[Recommender]]] = {}
    #: whether the model can score items with no training interactions (via content)
    scores_cold_items: ClassVar[bool] = False
    #: whether ``fit(side=...)`` is used (friends graph, item tags)
    uses_side_information: ClassVar[bool] = False
    #: parameters for a fast fit on a tiny matrix (used by the shared contract tests)
    contract_params: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in Recommender.registry and Recommender.registry[cls.name] is not cls:
                raise ModelError(f"two recommenders are named {cls.name!r}")
            Recommender.registry[cls.name] = cls

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
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
    def _state(self) -> dict[str, np.ndarray]:
        """The learned arrays to save (numeric only; no objects)."""

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
        (indices into the catalogue). Returns ``(indices, scores)``, each ``(len(users), k)``,
        padded with ``-1`` / ``-inf`` when fewer candidates remain.
        """
        self._check_fitted()
        u = np.atleast_1d(np.asarray(users, dtype=np.int64))
        if u.size and (u.min() < 0 or u.max() >= self.n_users):
            raise ModelError(f"{self.name}: user index out of range 0..{self.n_users - 1}")
        if items is None:
            fast = self._exact_top_k(u, k, exclude_seen)
            if fast is not None:
                return fast
        s = np.asarray(self.score(u, None), dtype=np.float64)
        if exclude_seen:
            seen = self._seen_matrix()[u]
            rows = np.repeat(np.arange(u.size), np.diff(seen.indptr))
            s[rows, seen.indices] = -np.inf
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

    def save(self, folder: Path | str) -> Path:
        """Write ``model.json`` + ``arrays.npz`` (atomic renames); returns the folder."""
        self._check_fitted()
        seen = self._seen_matrix()
        arrays = {f"state__{k}": v for k, v in self._state().items()}
        arrays |= {
            "seen__indptr": seen.indptr,
            "seen__indices": seen.indices,
            "seen__data": seen.data,
        }
        meta = {
            "model": self.name,
            "schema_version": MODEL_SCHEMA_VERSION,
            "params": self.params,
            "n_users": self.n_users,
            "n_items": self.n_items,
        }
        return write_model_files(folder, meta, arrays)

    @classmethod
    def load(cls, folder: Path | str) -> Recommender:
        """Load a model saved by :meth:`save` (any registered class when called on the base)."""
        folder = Path(folder)
        meta, arrays = read_model_files(folder, MODEL_SCHEMA_VERSION)
        klass = Recommender.registry.get(meta.get("model", ""))
        if klass is None:
            raise ModelError(f"{folder / MODEL_JSON}: unknown model {meta.get('model')!r}")
        if cls is not Recommender and not issubclass(klass, cls):
            raise ModelError(f"{folder}: holds a {klass.name}, not a {cls.name}")
        model = klass(**meta["params"])
        model.n_users, model.n_items = int(meta["n_users"]), int(meta["n_items"])
        model._seen = sp.csr_matrix(
            (arrays["seen__data"], arrays["seen__indices"], arrays["seen__indptr"]),
            shape=(model.n_users, model.n_items),
        )
        prefix = "state__"
        model._restore({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
        return model
