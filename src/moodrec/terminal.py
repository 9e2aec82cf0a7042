"""The terminal view of ``moodrec run`` (rich): what is done, running and waiting, live.

It listens to :mod:`moodrec.progress` (stage and step events from the flows and from pure
code) and to Prefect's task-run log records (to count tasks per stage), prints each distinct
moodrec warning once, and at the end prints a short table: stage, status, time, key number.
Part of the command line: the only other module that prints.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from moodrec.progress import ProgressEvent, current_stage, listening

_FINISHED = re.compile(r"Finished in state (\w+)")
_ICONS = {"waiting": "·", "running": "▶", "done": "✓", "failed": "✗", "skipped": "–"}
_STYLES = {"running": "bold cyan", "done": "green", "failed": "bold red", "skipped": "dim"}


@dataclass
class StageRow:
    """What the view knows about one stage."""

    name: str
    status: str = "waiting"
    detail: str = ""
    started: float | None = None
    seconds: float | None = None
    tasks: Counter[str] = field(default_factory=Counter)
    #: long piece of work → (done, total, what it does now)
    steps: dict[str, tuple[int, int | None, str]] = field(default_factory=dict)


def _seconds(s: float | None) -> str:
    if s is None:
        return ""
    return f"{s:.1f} s" if s < 60 else f"{int(s // 60)}:{int(s % 60):02d} min"


class RunView:
    """State of a run as the terminal shows it; fed by events from any thread."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: dict[str, StageRow] = {}
        self.started = time.monotonic()
        self.warnings: list[str] = []
        self._lock = threading.Lock()
        self._current: str | None = None

    def on_event(self, event: ProgressEvent) -> None:
        with self._lock:
            if event.kind == "stage":
                row = self.rows.setdefault(event.name, StageRow(event.name))
                row.status, row.detail = event.status, event.detail or row.detail
                if event.status == "running":
                    row.started, self._current = time.monotonic(), event.name
                elif event.status in {"done", "failed"} and row.started is not None:
                    row.seconds = time.monotonic() - row.started
                    row.steps.clear()
            elif event.kind == "step":
                # stages may run side by side: the event names its own when it knows it
                row = self._row_of(event.stage)
                if row is not None:
                    row.steps[event.name] = (event.done, event.total, event.detail)

    def _row_of(self, stage: str) -> StageRow | None:
        """The row of ``stage``, else of the stage that started last (under ``_lock``)."""
        if stage in self.rows:
            return self.rows[stage]
        return self.rows[self._current] if self._current is not None else None

    def on_task_finished(self, state: str, stage: str = "") -> None:
        with self._lock:
            row = self._row_of(stage)
            if row is not None:
                row.tasks[state] += 1

    def _tasks(self, row: StageRow) -> str:
        n = sum(row.tasks.values())
        if not n:
            return ""
        parts = [f"{c} {s.lower()}" for s, c in row.tasks.items() if s != "Completed"]
        return f"{n}" + (f" ({', '.join(parts)})" if parts else "")

    def render(self) -> Group:
        """The live table: one row per stage, progress bars under the running one."""
        with self._lock:
            table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
            for col in ("stage", "status", "tasks", "time", ""):
                table.add_column(col)
            for row in self.rows.values():
                style = _STYLES.get(row.status, "")
                elapsed = row.seconds
                if row.status == "running" and row.started is not None:
                    elapsed = time.monotonic() - row.started
                table.add_row(
                    Text(row.name, style=style),
                    Text(f"{_ICONS.get(row.status, ' ')} {row.status}", style=style),
                    self._tasks(row),
                    _seconds(elapsed),
                    Text(row.detail if row.status != "running" else "", style="dim"),
                )
                for name, (done, total, now) in row.steps.items():
                    bar: Any = ProgressBar(total=total, completed=done, width=30) if total else ""
                    count = f"{done}/{total}" if total else str(done)
                    table.add_row(
                        "", Text(f"  {name}", style="dim"), bar, count, Text(now, style="dim")
                    )
            head = Text.assemble(
                (self.title, "bold"), f"  ·  {_seconds(time.monotonic() - self.started)} elapsed"
            )
            return Group(head, table)

    def summary(self) -> Table:
        """The final table: stage, status, time, key number."""
        table = Table(title=None, show_header=True, header_style="bold")
        for col in ("stage", "status", "time", "key number"):
            table.add_column(col)
        for row in self.rows.values():
            style = _STYLES.get(row.status, "")
            table.add_row(
                row.name,
                Text(f"{_ICONS.get(row.status, ' ')} {row.status}", style=style),
                _seconds(row.seconds),
                row.detail,
            )
        return table


class _TaskStates(logging.Handler):
    """Counts ``Finished in state X`` records of Prefect's task-run logger."""

    def __init__(self, view: RunView) -> None:
        super().__init__(level=logging.INFO)
        self.view = view

    def emit(self, record: logging.LogRecord) -> None:
        match = _FINISHED.match(record.getMessage())
        if match:  # logged in the task's thread, in the context of its stage
            self.view.on_task_finished(match.group(1), current_stage())


class _WarningsOnce(logging.Handler):
    """Prints each distinct moodrec warning once, plainly, above the live view."""

    def __init__(self, view: RunView, console: Console) -> None:
        super().__init__(level=logging.WARNING)
        self.view, self.console, self.seen = view, console, set()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().splitlines()[0]
        if text in self.seen:
            return
        self.seen.add(text)
        self.view.warnings.append(text)
        self.console.print(Text.assemble(("warning: ", "yellow"), text))


def console_log_level(level: int) -> None:
    """Show log records of at least ``level`` on the console (Prefect's console handlers on
    the root logger, and moodrec's own loggers); records still reach the Prefect API."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setLevel(level)
    logging.getLogger("moodrec").setLevel(min(level, logging.WARNING))


@contextlib.contextmanager
def run_view(title: str, *, live: bool, quiet: bool, log_level: int | None) -> Iterator[RunView]:
    """Show the run while the body runs; on a terminal live, elsewhere a line per stage.

    ``quiet`` shows nothing but warnings; ``log_level`` (e.g. ``logging.INFO``) puts the log
    records back on the console at that level (the live view is then off: the two would
    fight over the screen).
    """
    console = Console(stderr=True, highlight=False)
    view = RunView(title)
    if log_level is not None:
        console_log_level(log_level)
        live = False
    else:
        console_log_level(logging.ERROR)
    states, warnings = _TaskStates(view), _WarningsOnce(view, console)
    task_logger, moodrec_logger = (
        logging.getLogger("prefect.task_runs"),
        logging.getLogger("moodrec"),
    )
    task_logger.addHandler(states)
    moodrec_logger.addHandler(warnings)

    def lines(event: ProgressEvent) -> None:
        view.on_event(event)
        if quiet or event.kind != "stage" or event.status in {"waiting"}:
            return
        row = view.rows[event.name]
        if event.status == "running":
            console.print(f"▶ {event.name}", style="cyan")
        else:
            icon = _ICONS.get(event.status, " ")
            tail = f"  {row.detail}" if row.detail else ""
            console.print(f"{icon} {event.name} {event.status} {_seconds(row.seconds)}{tail}")

    try:
        if live and not quiet and console.is_terminal:
            with (
                Live(
                    get_renderable=view.render,
                    console=console,
                    refresh_per_second=4,
                    transient=True,
                ),
                listening(view.on_event),
            ):
                yield view
        else:
            with listening(lines):
                yield view
    finally:
        task_logger.removeHandler(states)
        moodrec_logger.removeHandler(warnings)


def print_summary(view: RunView, report: str | None, ui: str | None) -> None:
    """The end of a run: the summary table, the report's path and where the UI is."""
    console = Console(highlight=False)
    console.print(view.summary())
    if report:
        console.print(Text.assemble(("report: ", "bold"), report))
    console.print(Text.assemble(("Prefect UI: ", "bold"), ui or "none (see below)"))
    if not ui:
        console.print(
            "  this run used a temporary Prefect server without a UI; moodrec run --ui "
            "serves one, or start a server (prefect server start) and set PREFECT_API_URL",
            style="dim",
        )
    if view.warnings:
        console.print(f"{len(view.warnings)} warning(s) above.", style="yellow")
    sys.stdout.flush()
