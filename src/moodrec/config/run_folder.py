"""Run folders: outputs of different configurations never share a data folder silently.

A profile whose ``paths.data_dir`` contains ``{run_id}`` (the shipped sandbox profiles:
``data/tiny/runs/{run_id}``) gets one folder per configuration: the run id names the
sandbox seed and a fingerprint of every setting that can change a result, so a run with
another seed or config writes beside the earlier one, and an unchanged re-run lands in the
same folder (its Prefect caches and checkpoints still hit). A ``data_dir`` without the
placeholder is used as given; ``moodrec.runs.check_data_folder`` then refuses to mix another
configuration's outputs into it unless told to replace them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from moodrec.config.schema import PathsConfig, Settings

#: placeholder in ``paths.data_dir`` replaced by :func:`run_id`
RUN_ID_PLACEHOLDER = "{run_id}"

#: sections that never change a result: where files go, how the run is scheduled, secrets
_NOT_FINGERPRINTED = frozenset({"profile", "paths", "orchestration", "secrets"})


def effective_config(settings: Settings) -> dict[str, Any]:
    """The settings as JSON-ready values, secrets masked (for reports and ``run.json``)."""
    data = settings.model_dump(mode="json")
    data["secrets"] = {
        name: ("set" if value else None) for name, value in data.get("secrets", {}).items()
    }
    return data


def config_fingerprint(settings: Settings) -> str:
    """12 hex digits over every setting that can change a result (not paths, scheduling,
    secrets or the profile's name), stable across processes and key order."""
    data = {
        k: v for k, v in settings.model_dump(mode="json").items() if k not in _NOT_FINGERPRINTED
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()


def run_id(settings: Settings) -> str:
    """``seed<N>-<fingerprint>``: the sandbox seed a person sets plus the config fingerprint."""
    return f"seed{settings.sandbox.seed}-{config_fingerprint(settings)}"


def expand_run_folder(settings: Settings) -> Settings:
    """``settings`` with ``{run_id}`` in ``paths.data_dir`` replaced by :func:`run_id`
    (unchanged when there is no placeholder)."""
    template = str(settings.paths.data_dir)
    if RUN_ID_PLACEHOLDER not in template:
        return settings
    folder = Path(template.replace(RUN_ID_PLACEHOLDER, run_id(settings)))
    return settings.model_copy(update={"paths": PathsConfig(data_dir=folder)})
