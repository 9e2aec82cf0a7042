"""The leaf every stage config extends.

It imports nothing from moodrec, so each stage package can own its config model
(``ingest/config.py``, ``enrich/config.py`` …) and the root ``Settings`` in ``moodrec.config``
only assembles them: configuration is a leaf of the import graph, never a hub.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StageConfig(BaseModel):
    """Base for every stage config: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")
