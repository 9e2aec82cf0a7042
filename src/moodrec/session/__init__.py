"""The ephemeral recommender: listening sessions, mood signals, next-track recommendation.

Every session-model module is listed in :data:`SESSION_MODEL_MODULES`; importing it registers
its classes in ``SessionRecommender.registry`` by ``name`` (as :mod:`moodrec.models` does for
the user × item recommenders). Adding a session model = adding its module here (one line): the
contract tests (``tests/session/test_contract.py``, mixin in ``tests/contract.py``) and the
session stage pick it up.
"""

from __future__ import annotations

import importlib
from typing import Any

SESSION_MODEL_MODULES: tuple[str, ...] = (
    "moodrec.session.models",
    "moodrec.session.sequence",
)


def load_session_models() -> dict[str, type]:
    """Import every module of :data:`SESSION_MODEL_MODULES`; returns the registry (name → class)."""
    from moodrec.session.base import SessionRecommender

    for module in SESSION_MODEL_MODULES:
        importlib.import_module(module)
    return dict(SessionRecommender.registry)


def create_session_model(name: str, **params: Any) -> Any:
    """A new, unfitted session recommender by registry name.

    Raises
    ------
    moodrec.errors.ModelError
        If no session model is registered under ``name``.
    """
    from moodrec.errors import ModelError

    registry = load_session_models()
    if name not in registry:
        raise ModelError(f"unknown session model {name!r} (known: {', '.join(sorted(registry))})")
    return registry[name](**params)
