"""What every moodrec task shares: a stable content-based cache policy and output checks."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from prefect import Task, task
from prefect.cache_policies import TASK_SOURCE, CachePolicy
from pydantic import BaseModel

from moodrec.catalogue import Catalogue
from moodrec.errors import CatalogueError, InputDataError
from moodrec.storage import DatasetRef, fingerprint_file

R = TypeVar("R")


def _stable(value: Any) -> Any:
    """A JSON-able, process-independent form of a task input for hashing."""
    if isinstance(value, BaseModel):
        return {"__model__": type(value).__qualname__, **value.model_dump(mode="json")}
    if isinstance(value, DatasetRef):
        # content, not location timestamps: the fingerprint is what matters
        return {"__ref__": value.name, "path": value.path, "fingerprint": value.fingerprint}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _stable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_stable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


@dataclasses.dataclass
class ContentInputs(CachePolicy):
    """Cache key over task inputs: configs by value, datasets by content fingerprint.

    Prefect's default ``INPUTS`` policy falls back to cloudpickle for pydantic models, whose
    bytes are not guaranteed stable across processes; this policy hashes a canonical JSON form.
    Inputs named in ``exclude`` are left out of the key.
    """

    exclude: tuple[str, ...] = ()

    def compute_key(
        self,
        task_ctx: Any,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        keyed = {k: v for k, v in (inputs or {}).items() if k not in self.exclude}
        payload = json.dumps(_stable(keyed), sort_keys=True, default=str)
        return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


@dataclasses.dataclass
class FileStat(ContentInputs):
    """Like :class:`ContentInputs`, plus the size and modification time of the file named by
    the ``path`` input: the key of a task whose work *is* reading that file (fingerprinting
    a raw input), so that an unchanged file is not read again; an edited one is."""

    def compute_key(
        self,
        task_ctx: Any,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        path = Path(str((inputs or {}).get("path", "")))
        if not path.is_file():
            return None  # nothing to key on: run (and raise the task's own error)
        st = path.stat()
        keyed = {**inputs, "__stat__": [st.st_size, st.st_mtime_ns]}
        return super().compute_key(task_ctx, keyed, flow_parameters, **kwargs)


#: content of inputs + the task's own source code (a code change invalidates the cache)
CHECKPOINT_CACHE = ContentInputs() + TASK_SOURCE

#: publishing artifacts of checkpoints: keyed on the checkpoints (by fingerprint) and the
#: task's source, not on a stage summary (it holds per-run counters such as requests sent):
#: an unchanged re-run publishes nothing new, a changed checkpoint publishes a new version
PUBLISH_CACHE = ContentInputs(exclude=("summary",)) + TASK_SOURCE


def refs_intact(refs: dict[str, DatasetRef]) -> bool:
    """True when every referenced file exists and still has the recorded content."""
    for ref in refs.values():
        path = Path(ref.path)
        if not path.is_file() or fingerprint_file(path) != ref.fingerprint:
            return False
    return True


def run_checkpoint_task(
    checkpoint_task: Task[..., R],
    *args: Any,
    refs_of: Callable[[R], dict[str, DatasetRef]],
    data_dir: str,
) -> R:
    """Run a cached checkpoint task; re-run it when a cache hit points at changed files.

    A cache hit returns the references the task produced back then. If those files were
    deleted or overwritten since (another seed, a manual edit), the hit is stale: the task
    runs again with ``refresh_cache=True``. Either way the manifest ends up describing
    exactly the files this run used.
    """
    result = checkpoint_task(*args)
    if not refs_intact(refs_of(result)):
        result = checkpoint_task.with_options(refresh_cache=True)(*args)
        if not refs_intact(refs_of(result)):
            raise CatalogueError(f"{checkpoint_task.name}: outputs changed while it ran")
    Catalogue(data_dir).manifest.record(list(refs_of(result).values()))
    return result


@task(
    name="register-raw-input",
    cache_policy=FileStat() + TASK_SOURCE,
    persist_result=True,
)
def register_raw_input(name: str, path: str, data_dir: str) -> DatasetRef:
    """Fingerprint a user-supplied raw file (never modified) and record it in the manifest.

    Cached on the file's size and modification time (:class:`FileStat`): raw inputs are
    immutable, and reading a large log again only to learn it did not change is the very
    work the cache saves.
    """
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"{name}: input file {p} does not exist")
    return Catalogue(data_dir).register(name, p)
