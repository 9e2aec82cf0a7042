"""Recommenders behind one ``Recommender`` contract (fit, recommend, score, save, load).

Every model is listed in :data:`MODEL_MODULES` by its registry name, with the module whose
import registers its class in ``Recommender.registry``. Adding a model = adding its line here:
the contract tests (``tests/models/test_contract.py``), the flows and the benchmark pick it up.
A flow imports only the modules of the models it is configured with (:func:`model_classes`),
so that a stage of classical models never imports torch.
Saved models go to ``data/<profile>/models``, never into this package.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: registry name → the module that registers it
MODEL_MODULES: dict[str, str] = {
    "popularity": "moodrec.models.popularity",
    "itemknn": "moodrec.models.itemknn",
    "ease": "moodrec.models.ease",
    "ials": "moodrec.models.ials",
    "rp3beta": "moodrec.models.rp3beta",
    "ease_ials": "moodrec.models.blend",
    "blend_social_tags": "moodrec.models.blend_social_tags",
    "bpr": "moodrec.models.bpr",
    "neumf": "moodrec.models.neumf",
    "hybrid": "moodrec.models.hybrid",
    "lightfm": "moodrec.models.lightfm",
    "cb2cf": "moodrec.models.cb2cf",
    "rating_mf": "moodrec.models.rating",
    "rating_deep": "moodrec.models.rating",
}


def _import_module(module: str) -> None:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise


@functools.cache
def _import_model_modules() -> None:
    for module in dict.fromkeys(MODEL_MODULES.values()):
        _import_module(module)


def model_classes(names: Iterable[str]) -> dict[str, type]:
    """The classes of the registered models ``names`` (name → class), importing only their
    modules (a stage of classical models does not import torch).

    Raises
    ------
    moodrec.errors.ModelError
        When a name is not in :data:`MODEL_MODULES`.
    """
    from moodrec.errors import ModelError
    from moodrec.models.base import Recommender

    names = list(names)
    unknown = [n for n in names if n not in MODEL_MODULES]
    if unknown:
        raise ModelError(f"unknown models {unknown}; registered {sorted(MODEL_MODULES)}")
    for name in names:
        _import_module(MODEL_MODULES[name])
    missing = [n for n in names if n not in Recommender.registry]
    if missing:
        raise ModelError(f"models {missing}: their modules registered no such class")
    return {n: Recommender.registry[n] for n in names}


def load_models() -> dict[str, type]:
    """Import every module of :data:`MODEL_MODULES` (once); returns the registry (name → class).

    A module that is missing (not written yet) is skipped; any other import error raises.
    """
    from moodrec.models.base import Recommender

    _import_model_modules()
    return dict(Recommender.registry)


def load_model(folder: Path | str) -> Any:
    """A saved recommender of any registered class (see ``Recommender.save``)."""
    from moodrec.models.base import Recommender

    _import_model_modules()
    return Recommender.load(folder)


def create_model(name: str, **params: Any) -> Any:
    """A new, unfitted recommender by registry name.

    Raises
    ------
    moodrec.models.base.ModelError
        When no model is registered under ``name``.
    """
    from moodrec.errors import ModelError

    registry = load_models()
    if name not in registry:
        raise ModelError(f"unknown model {name!r}; registered: {sorted(registry)}")
    return registry[name](**params)
