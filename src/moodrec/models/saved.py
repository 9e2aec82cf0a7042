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
import zipfile
import zlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from moodrec.errors import ModelError, ModelLoadError
from moodrec.storage import atomic_path, write_json_atomic

MODEL_SCHEMA_VERSION = 1
MODEL_JSON = "model.json"
ARRAYS_NPZ = "arrays.npz"
#: prefix of the learned-state arrays in ``arrays.npz`` (the family's own arrays have none)
STATE_PREFIX = "state__"


#: the dtype kinds a saved array may have (bool, signed/unsigned int, float)
NUMERIC_KINDS = "biuf"
#: the JSON field listing every array of ``arrays.npz`` with its dtype and shape
ARRAYS_FIELD = "arrays"


def write_model_files(
    folder: Path | str,
    meta: dict[str, Any],
    arrays: dict[str, Any],
    meta_file: str = MODEL_JSON,
) -> Path:
    """Write ``arrays.npz`` then ``meta_file`` into ``folder`` (atomic renames, no pickle).

    ``meta_file`` also lists every array with its dtype and shape (``"arrays"``), so that
    loading can tell a tampered or truncated ``arrays.npz`` from the one written here.

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
    manifest = {k: {"dtype": a.dtype.str, "shape": list(a.shape)} for k, a in packed.items()}
    with atomic_path(out / ARRAYS_NPZ) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **packed)
    write_json_atomic(out / meta_file, meta | {ARRAYS_FIELD: manifest})
    return out


def read_json_object(path: Path, what: str = "the saved model") -> dict[str, Any]:
    """A model folder's JSON metadata file as a dict; :class:`ModelLoadError` naming the file
    when it cannot be read, is not JSON or is not an object."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: cannot read {what} ({exc})") from exc
    if not isinstance(meta, dict):
        raise ModelLoadError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    return meta


def _read_meta(path: Path, schema_version: int) -> dict[str, Any]:
    if not path.is_file():
        raise ModelLoadError(f"{path}: missing (not a saved model folder?)")
    meta = read_json_object(path)
    if meta.get("schema_version") != schema_version:
        raise ModelLoadError(
            f"{path}: schema_version {meta.get('schema_version')!r}, expected {schema_version}"
        )
    if not isinstance(meta.get("model"), str):
        raise ModelLoadError(f"{path}: 'model' must be a model name, got {meta.get('model')!r}")
    if not isinstance(meta.get("params"), dict):
        raise ModelLoadError(f"{path}: 'params' must be an object, got {meta.get('params')!r}")
    manifest = meta.get(ARRAYS_FIELD)
    if manifest is not None and not isinstance(manifest, dict):
        raise ModelLoadError(f"{path}: {ARRAYS_FIELD!r} must be an object")
    return meta


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ModelLoadError(f"{path}: missing (the model's arrays)")
    if path.stat().st_size == 0:
        raise ModelLoadError(f"{path}: empty file (0 bytes)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ModelLoadError(f"{path}: not an .npz archive (a single array)")
            # reading every member here: a truncated or corrupt member fails now, not later
            arrays = {k: npz[k] for k in npz.files}
    except ModelLoadError:
        raise
    # BadZipFile, zlib.error and EOFError are what truncated / corrupt archives raise;
    # ValueError is numpy refusing a pickled (object) array or a bad header
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise ModelLoadError(
            f"{path}: cannot read the saved arrays ({type(exc).__name__}: {exc})"
        ) from exc
    return arrays


def check_finite(
    path: Path, arrays: dict[str, np.ndarray], may_hold_nan: frozenset[str] = frozenset()
) -> None:
    """Refuse float arrays holding NaN or inf (except NaN in the arrays named in ``may_hold_nan``).

    Raises
    ------
    ModelLoadError
        Naming ``path``, the array and how many values are not finite.
    """
    for key, a in arrays.items():
        if a.dtype.kind != "f":
            continue
        bad = np.isinf(a) if key in may_hold_nan else ~np.isfinite(a)
        if bad.any():
            raise ModelLoadError(
                f"{path}: array {key!r} holds {int(bad.sum())} non-finite value(s) (NaN/inf)"
            )


def check_arrays(
    path: Path, arrays: dict[str, np.ndarray], manifest: dict[str, Any] | None
) -> None:
    """Refuse non-numeric arrays and any difference from ``manifest`` (names, dtypes, shapes).

    Raises
    ------
    ModelLoadError
        Naming ``path``, the array and what is wrong with it.
    """
    for key, a in arrays.items():
        if a.dtype.kind not in NUMERIC_KINDS:
            raise ModelLoadError(f"{path}: array {key!r} has non-numeric dtype {a.dtype}")
    if manifest is None:
        return  # written before the manifest existed: the family checks still apply
    missing = sorted(set(manifest) - set(arrays))
    if missing:
        raise ModelLoadError(f"{path}: missing array(s) {missing}")
    for key, want in manifest.items():
        a = arrays[key]
        if not isinstance(want, dict):
            raise ModelLoadError(f"{path}: manifest entry {key!r} is not an object")
        if np.dtype(a.dtype).str != want.get("dtype"):
            raise ModelLoadError(
                f"{path}: array {key!r} is {a.dtype.str}, the model was saved with "
                f"{want.get('dtype')}"
            )
        if list(a.shape) != want.get("shape"):
            raise ModelLoadError(
                f"{path}: array {key!r} has shape {list(a.shape)}, the model was saved with "
                f"{want.get('shape')}"
            )


def read_model_files(
    folder: Path | str, schema_version: int, meta_file: str = MODEL_JSON
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read ``meta_file`` (checking ``schema_version``) and ``arrays.npz`` (no pickle).

    Every array is read and checked (numeric, as listed in ``meta_file``); finiteness is
    checked by :meth:`SavedModel.load`, which knows which arrays may hold NaN.

    Raises
    ------
    ModelLoadError
        If the folder is unreadable, holds another schema version, or a file is missing,
        truncated, corrupt or inconsistent with the other (the message names the file).
    """
    folder = Path(folder)
    meta = _read_meta(folder / meta_file, schema_version)
    arrays = _read_arrays(folder / ARRAYS_NPZ)
    check_arrays(folder / ARRAYS_NPZ, arrays, meta.get(ARRAYS_FIELD))
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
    #: learned-state arrays where NaN means "missing" (e.g. tracks without audio features);
    #: every other float array must be finite to load
    may_hold_nan: ClassVar[frozenset[str]] = frozenset()

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
        ModelLoadError
            If the folder is missing, unreadable, corrupt, of another schema version,
            names an unknown model, or its arrays do not fit the model's parameters.
        ModelError
            If it holds a model of another class than ``cls``.
        """
        folder = Path(folder)
        meta, arrays = read_model_files(folder, cls.schema_version, cls.meta_file)
        klass = cls.registry.get(meta["model"])
        if klass is None:
            raise ModelLoadError(
                f"{folder / cls.meta_file}: unknown {cls.family} {meta.get('model')!r} "
                f"(registered: {sorted(cls.registry)})"
            )
        if not issubclass(klass, cls):
            raise ModelError(f"{folder}: holds a {klass.name}, not a {cls.name}")
        try:
            model = klass(**meta["params"])
        except (TypeError, ValueError, ModelError) as exc:
            raise ModelLoadError(
                f"{folder / cls.meta_file}: params do not fit {klass.name} ({exc})"
            ) from exc
        n = len(STATE_PREFIX)
        check_finite(
            folder / ARRAYS_NPZ,
            arrays,
            frozenset(f"{STATE_PREFIX}{key}" for key in klass.may_hold_nan),
        )
        state = {k[n:]: v for k, v in arrays.items() if k.startswith(STATE_PREFIX)}
        try:
            model._load_family_fields(meta, arrays, state)
            model._check_loaded()
        # what a tampered folder raises inside a model's restore (a missing key, a shape or
        # a dtype the arithmetic refuses; torch's load_state_dict raises RuntimeError): a
        # wrong folder is a load error naming it, not a traceback
        except (KeyError, ValueError, TypeError, IndexError, RuntimeError, ModelError) as exc:
            what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ModelLoadError(
                f"{folder}: {cls.meta_file} and {ARRAYS_NPZ} do not make a valid "
                f"{klass.name} ({type(exc).__name__}: {what})"
            ) from exc
        return model

    def _check_loaded(self) -> None:
        """Raise when the state just loaded is inconsistent (the family checks shapes).

        Called by :meth:`load` after :meth:`_load_family_fields`; ``KeyError``,
        ``ValueError``, ``TypeError``, ``IndexError``, ``RuntimeError`` and ``ModelError``
        raised here become a :class:`ModelLoadError` naming the folder and its files.
        """
        return None


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
