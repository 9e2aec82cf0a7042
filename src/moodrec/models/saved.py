"""One base for everything that is fitted, saved and served: registry, params, state, save/load.

:class:`~moodrec.models.base.Recommender` (user × item models) and
:class:`~moodrec.session.base.SessionRecommender` (next-item models) both extend
:class:`SavedModel`; each is a *family* with its own registry, metadata file and the fields
it saves besides the learned state.

Saving never pickles: a model folder holds a JSON file (class name, parameters, schema
version, the family's fields) and ``arrays.npz`` read back with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from moodrec.errors import ModelError
from moodrec.storage import atomic_path, write_json_atomic

MODEL_SCHEMA_VERSION = 1
MODEL_JSON = "model.json"
ARRAYS_NPZ = "arrays.npz"
#: prefix of the learned-state arrays in ``arrays.npz`` (the family's own arrays have none)
STATE_PREFIX = "state__"


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


class SavedModel(ABC):
    """Base of every model family that is fitted, saved and loaded.

    A family base (``Recommender``, ``SessionRecommender``) declares its own ``registry``
    dict, its ``family`` word for messages and its ``meta_file``, and implements
    :meth:`_family_fields` / :meth:`_load_family_fields`. Concrete models set ``name`` (a
    unique key in their family's registry), take their hyperparameters as keyword arguments
    (JSON-serialisable, kept in ``self.params``) and implement :meth:`_state`.
    """

    name: ClassVar[str] = ""
    #: name → class of the family; every family base sets its own dict
    registry: ClassVar[dict[str, type[SavedModel]]] = {}
    #: what the family is called in error messages
    family: ClassVar[str] = "model"
    meta_file: ClassVar[str] = MODEL_JSON
    schema_version: ClassVar[int] = MODEL_SCHEMA_VERSION

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "registry" in cls.__dict__ or not cls.name:
            return  # a family base, or an abstract intermediate class
        known = cls.registry.get(cls.name)
        if known is not None and known is not cls:
            raise ModelError(f"two {cls.family}s are named {cls.name!r}")
        cls.registry[cls.name] = cls

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)

    # -- to implement ---------------------------------------------------------------------
    @property
    @abstractmethod
    def fitted(self) -> bool:
        """Whether the model was fitted (or loaded)."""

    @abstractmethod
    def _state(self) -> dict[str, np.ndarray]:
        """The learned arrays to save (numeric only; no objects)."""

    @abstractmethod
    def _family_fields(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What the family saves besides params and state: ``(json fields, arrays)``."""

    @abstractmethod
    def _load_family_fields(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray], state: dict[str, np.ndarray]
    ) -> None:
        """Set the family's fields and the learned ``state`` of a freshly built instance."""

    # -- provided -------------------------------------------------------------------------
    def save(self, folder: Path | str) -> Path:
        """Write ``meta_file`` + ``arrays.npz`` (atomic renames); returns the folder.

        Raises
        ------
        ModelError
            If the model is not fitted.
        """
        if not self.fitted:
            raise ModelError(f"{self.name}: call fit() (or load()) first")
        fields, family_arrays = self._family_fields()
        arrays = {f"{STATE_PREFIX}{k}": v for k, v in self._state().items()} | family_arrays
        meta = {
            "model": self.name,
            "schema_version": self.schema_version,
            "params": self.params,
            **fields,
        }
        return write_model_files(folder, meta, arrays, self.meta_file)

    @classmethod
    def load(cls, folder: Path | str) -> Self:
        """Load a model written by :meth:`save`; on a family base, any class registered in it.

        The model's module must have been imported (``moodrec.models.load_models()``,
        ``moodrec.session.load_session_models()``) so that its class is registered.

        Raises
        ------
        ModelError
            If the folder is unreadable, of another schema version, names an unknown model
            or a model of another class than ``cls``.
        """
        folder = Path(folder)
        meta, arrays = read_model_files(folder, cls.schema_version, cls.meta_file)
        klass = cls.registry.get(meta.get("model", ""))
        if klass is None:
            raise ModelError(
                f"{folder / cls.meta_file}: unknown {cls.family} {meta.get('model')!r} "
                f"(registered: {sorted(cls.registry)})"
            )
        if not issubclass(klass, cls):
            raise ModelError(f"{folder}: holds a {klass.name}, not a {cls.name}")
        model = klass(**meta["params"])
        n = len(STATE_PREFIX)
        state = {k[n:]: v for k, v in arrays.items() if k.startswith(STATE_PREFIX)}
        model._load_family_fields(meta, arrays, state)
        return model


def csr_arrays(name: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A CSR matrix as plain arrays ``<name>__{data,indices,indptr,shape}`` for a ``_state``."""
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
