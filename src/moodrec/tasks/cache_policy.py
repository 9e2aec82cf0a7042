"""The cache key of every moodrec task: inputs by content, never by pickled bytes.

One policy class, :class:`ContentKey`; what differs between tasks is the function that picks
what of the inputs counts (:func:`with_file_stat`, a report's refs, an enrich config's
answer-shaping settings …), passed as ``key_inputs``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect.cache_policies import TASK_SOURCE, CachePolicy
from prefect.locking.memory import MemoryLockManager
from pydantic import BaseModel

from moodrec.storage import DatasetRef

#: inputs → what of them the key covers (``None``: no key, the task runs)
KeyInputs = Callable[[dict[str, Any]], dict[str, Any] | None]


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
class ContentKey(CachePolicy):
    """Cache key over task inputs: configs by value, datasets by content fingerprint.

    Prefect's default ``INPUTS`` policy falls back to cloudpickle for pydantic models, whose
    bytes are not guaranteed stable across processes; this policy hashes a canonical JSON form.
    Inputs named in ``exclude`` are left out of the key; ``key_inputs``, when given, maps
    the remaining inputs to what the key covers (returning ``None`` means "no key: run").
    """

    exclude: tuple[str, ...] = ()
    key_inputs: KeyInputs | None = None

    def compute_key(
        self,
        task_ctx: Any,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        keyed: dict[str, Any] | None = {
            k: v for k, v in (inputs or {}).items() if k not in self.exclude
        }
        if self.key_inputs is not None:
            keyed = self.key_inputs(keyed)
            if keyed is None:
                return None
        payload = json.dumps(_stable(keyed), sort_keys=True, default=str)
        return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def with_file_stat(inputs: dict[str, Any]) -> dict[str, Any] | None:
    """The inputs plus the size and modification time of the file named by the ``path``
    input: the key of a task whose work *is* reading that file (fingerprinting a raw input),
    so that an unchanged file is not read again; an edited one is. ``None`` (no key: run,
    and raise the task's own error) when there is no such file."""
    path = Path(str(inputs.get("path", "")))
    if not path.is_file():
        return None
    st = path.stat()
    return {**inputs, "__stat__": [st.st_size, st.st_mtime_ns]}


#: content of inputs + the task's own source code (a code change invalidates the cache)
CHECKPOINT_CACHE = ContentKey() + TASK_SOURCE


def shared_by_stages(policy: CachePolicy) -> CachePolicy:
    """``policy`` for a task that stages running side by side may call with the same inputs
    (the sandbox world, a raw input several stages fingerprint): a second caller waits for
    the first one's result (one lock per cache key in this process, ``SERIALIZABLE``) instead
    of computing it again and writing the same result record at the same time."""
    return policy.configure(isolation_level="SERIALIZABLE", lock_manager=MemoryLockManager())


#: publishing artifacts of checkpoints: keyed on the checkpoints (by fingerprint) and the
#: task's source, not on a stage summary (it holds per-run counters such as requests sent):
#: an unchanged re-run publishes nothing new, a changed checkpoint publishes a new version
PUBLISH_CACHE = ContentKey(exclude=("summary",)) + TASK_SOURCE
