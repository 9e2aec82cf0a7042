"""Running checkpoint tasks: re-run a cache hit whose files changed, record the manifest,
fingerprint raw inputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from prefect import Task, task
from prefect.cache_policies import TASK_SOURCE

from moodrec.catalogue import Catalogue
from moodrec.errors import CatalogueError, InputDataError
from moodrec.storage import DatasetRef, fingerprint_file
from moodrec.tasks.cache_policy import ContentKey, shared_by_stages, with_file_stat

R = TypeVar("R")


def refs_intact(refs: dict[str, DatasetRef]) -> bool:
    """True when every referenced file exists and still has the recorded content."""
    for ref in refs.values():
        path = Path(ref.path)
        if not path.is_file() or fingerprint_file(path) != ref.fingerprint:
            return False
    return True


def refs_in_result(result: Mapping[str, Any]) -> dict[str, DatasetRef]:
    """The ``refs`` of a checkpoint task's result (``{"refs": ..., "summary": ...}``)."""
    return result["refs"]


def result_is_refs(result: dict[str, DatasetRef]) -> dict[str, DatasetRef]:
    """For checkpoint tasks that return their refs mapping itself."""
    return result


def run_checkpoint_task(
    checkpoint_task: Task[..., R],
    *args: Any,
    data_dir: str,
    refs_of: Callable[[Any], dict[str, DatasetRef]] = refs_in_result,
) -> R:
    """Run a cached checkpoint task; re-run it when a cache hit points at changed files.

    A cache hit returns the references the task produced back then. If those files were
    deleted or overwritten since (another seed, a manual edit), the hit is stale: the task
    runs again with ``refresh_cache=True``. Either way the manifest ends up describing
    exactly the files this run used. ``refs_of`` finds the refs in the task's result
    (default :func:`refs_in_result`; :func:`result_is_refs` when the result is the refs).
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
    cache_policy=shared_by_stages(ContentKey(key_inputs=with_file_stat) + TASK_SOURCE),
    persist_result=True,
)
def register_raw_input(name: str, path: str, data_dir: str) -> DatasetRef:
    """Fingerprint a user-supplied raw file (never modified) and record it in the manifest.

    Cached on the file's size and modification time (:func:`with_file_stat`): raw inputs are
    immutable, and reading a large log again only to learn it did not change is the very
    work the cache saves.
    """
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"{name}: input file {p} does not exist")
    return Catalogue(data_dir).register(name, p)
