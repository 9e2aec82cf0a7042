"""Progress events: what pure code and flows tell whoever watches a run (the terminal view).

Pure code must not import Prefect, so long loops (training epochs, LDA sweep chunks, enrich
batches, users ranked per evaluated model) report through this small protocol instead:
:func:`step` emits a :class:`ProgressEvent`, and :class:`Steps` reports a sequence of named
steps (the genres stage: graph, super-genres, shortest paths, MDS/UMAP, song map); the flows
emit stage events; ``moodrec run``'s terminal view
(``moodrec.terminal``) listens. With no listener an event costs one lock and a loop over an
empty list. Listeners run in the emitting thread and must be quick and never raise.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

logger = logging.getLogger(__name__)

EventKind = Literal["stage", "step"]
StageStatus = Literal["waiting", "running", "done", "failed", "skipped"]


@dataclass(frozen=True)
class ProgressEvent:
    """One thing that moved.

    ``kind="stage"``: stage ``name`` changed to ``status`` (``detail``: why skipped, or the
    stage's key number when done). ``kind="step"``: ``done`` of ``total`` units of the long
    piece of work ``name`` (e.g. ``"train bpr: epochs"``) inside the running stage
    (``detail``: what it is doing now, e.g. ``"UMAP 2D"``; ``stage``: the stage it belongs
    to when known, :func:`in_stage`, as stages may run side by side).
    """

    kind: EventKind
    name: str
    status: StageStatus | str = ""
    done: int = 0
    total: int | None = None
    detail: str = ""
    stage: str = ""


Listener = Callable[[ProgressEvent], None]
_listeners: list[Listener] = []
_lock = threading.Lock()
#: the stage whose work the current thread (or task, with a copied context) is doing
_stage: contextvars.ContextVar[str] = contextvars.ContextVar("moodrec_stage", default="")


@contextlib.contextmanager
def in_stage(name: str) -> Iterator[None]:
    """The body does stage ``name``'s work: its step events say so (``ProgressEvent.stage``),
    here and in threads started with a copy of this context (Prefect's task runner)."""
    token = _stage.set(name)
    try:
        yield
    finally:
        _stage.reset(token)


def current_stage() -> str:
    """The stage set by the innermost :func:`in_stage` of this context ("" outside one)."""
    return _stage.get()


def emit(event: ProgressEvent) -> None:
    """Send ``event`` to every listener (a failing listener is logged, never raised)."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # a display must never stop a run
            logger.debug("progress listener failed", exc_info=True)


def step(name: str, done: int, total: int | None = None, detail: str = "") -> None:
    """Report ``done`` of ``total`` units of the long piece of work ``name`` (``detail``:
    what it is doing now)."""
    emit(
        ProgressEvent(
            kind="step", name=name, done=done, total=total, detail=detail, stage=_stage.get()
        )
    )


class Steps:
    """A piece of work made of named steps run one after another (e.g. the genres stage:
    graph, super-genres, shortest paths, MDS, UMAP …), reported as ``done`` of ``total``
    steps with the running one's label as ``detail``.

    ``start(label)`` marks the steps listed before ``label`` done; a label not in the plan
    is added to it (a display must never stop a run); skipping labels is fine.
    """

    def __init__(self, name: str, labels: Iterable[str]) -> None:
        self.name = name
        self.labels = list(dict.fromkeys(labels))

    def start(self, label: str) -> None:
        """Step ``label`` begins now."""
        if label not in self.labels:
            self.labels.append(label)
        step(self.name, self.labels.index(label), len(self.labels), label)

    def finish(self) -> None:
        """Every step is done."""
        step(self.name, len(self.labels), len(self.labels))


def stage(name: str, status: StageStatus, detail: str = "") -> None:
    """Report that stage ``name`` is now ``status``."""
    emit(ProgressEvent(kind="stage", name=name, status=status, detail=detail))


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Deliver every event emitted in the body (from any thread) to ``listener``."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
