"""Recommenders behind one ``Recommender`` contract (fit, recommend, score, save, load).

Every model module is listed in :data:`MODEL_MODULES`; importing it registers its classes in
``Recommender.registry`` by ``name``. Adding a model = adding its module here (one line): the
contract tests (``tests/models/test_contract.py``), the flows and the benchmark pick it up.
Saved models go to ``data/<profile>/models``, never into this package.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

MODEL_MODULES: tuple[str, ...] = (
    "moodrec.models.popularity",
    "moodrec.models.itemknn",
    "moodrec.models.ease",
    "moodrec.models.ials",
    "moodrec.models.rp3beta",
    "moodrec.models.blend",
    "moodrec.models.blend_social_tags",
    "moodrec.models.bpr",
    "moodrec.models.neumf",
    "moodrec.models.hybrid",
    "moodrec.models.lightfm",
    "moodrec.models.cb2cf",
    "moodrec.models.rating",
)


@functools.cache
def _import_model_modules() -> None:
    for module in MODEL_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


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
