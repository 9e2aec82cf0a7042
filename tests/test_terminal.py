"""The terminal view: progress events in, a table of stages out; warnings once."""

from __future__ import annotations

import logging
import threading

from rich.console import Console

from moodrec import progress
from moodrec.terminal import RunView, run_view


def _text(renderable) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_view_follows_stages_steps_and_tasks() -> None:
    view = RunView("moodrec run · tiny")
    with progress.listening(view.on_event):
        progress.stage("genres", "skipped", "skipped by orchestration.skip")
        progress.stage("ingest", "waiting")
        progress.stage("train", "waiting")
        progress.stage("ingest", "running")
        view.on_task_finished("Completed")
        view.on_task_finished("Cached")
        progress.stage("ingest", "done", "4,000 events")
        progress.stage("train", "running")
        # pure code reports from worker threads
        worker = threading.Thread(target=progress.step, args=("train bpr: epochs", 3, 10))
        worker.start()
        worker.join()
        live = _text(view.render())
    assert "✓ done" in live and "2 (1 cached)" in live and "4,000 events" in live
    assert "▶ running" in live and "train bpr: epochs" in live and "3/10" in live
    assert "– skipped" in live
    summary = _text(view.summary())
    assert "ingest" in summary and "genres" in summary and "4,000 events" in summary
    # no listener left behind
    progress.stage("ingest", "failed")
    assert view.rows["ingest"].status == "done"


def test_warnings_are_shown_once_and_stages_as_lines(capsys) -> None:
    with run_view("t", live=False, quiet=False, log_level=None) as view:
        log = logging.getLogger("moodrec.genres.analysis")
        for _ in range(3):
            log.warning("super-genres absent from the graph: rock")
        progress.stage("ingest", "running")
        progress.stage("ingest", "done", "10 users")
        logging.getLogger("prefect.task_runs").info("Finished in state Cached(type=COMPLETED)")
    err = capsys.readouterr().err
    assert err.count("super-genres absent from the graph: rock") == 1
    assert "✓ ingest done" in err and "10 users" in err
    assert view.warnings == ["super-genres absent from the graph: rock"]


def test_quiet_prints_no_stage_lines(capsys) -> None:
    with run_view("t", live=False, quiet=True, log_level=None):
        progress.stage("ingest", "running")
        progress.stage("ingest", "done")
    assert "ingest" not in capsys.readouterr().err


def test_a_failing_listener_never_stops_the_emitter() -> None:
    def broken(event: progress.ProgressEvent) -> None:
        raise RuntimeError("display broke")

    seen: list[progress.ProgressEvent] = []
    with progress.listening(broken), progress.listening(seen.append):
        progress.step("x", 1, 2)
    assert [e.done for e in seen] == [1]


def test_named_steps_show_a_bar_and_what_runs_now() -> None:
    view = RunView("moodrec run · tiny")
    with progress.listening(view.on_event):
        progress.stage("genres", "running")
        steps = progress.Steps("genres: steps", ["genre graph", "super-genres", "UMAP 2D"])
        steps.start("genre graph")
        steps.start("UMAP 2D")  # a skipped step is fine
        live = _text(view.render())
        assert "genres: steps" in live and "2/3" in live and "UMAP 2D" in live
        steps.start("song map")  # not in the plan: added, never raised
        assert "3/4" in _text(view.render())
        steps.finish()
        assert "4/4" in _text(view.render())
        progress.stage("genres", "done", "120 genres")
        done = _text(view.render())
    assert "genres: steps" not in done  # bars go with the stage


def test_steps_and_tasks_go_to_their_own_stage_when_stages_run_side_by_side() -> None:
    view = RunView("moodrec run · tiny")
    with progress.listening(view.on_event):
        progress.stage("enrich", "running")
        progress.stage("session", "running")  # started last, enrich still running

        def enrich_work() -> None:
            with progress.in_stage("enrich"):
                progress.step("enrich: tracks", 64, 128)
                view.on_task_finished("Completed", progress.current_stage())

        worker = threading.Thread(target=enrich_work)
        worker.start()
        worker.join()
    assert view.rows["enrich"].steps == {"enrich: tracks": (64, 128, "")}
    assert view.rows["enrich"].tasks["Completed"] == 1
    assert view.rows["session"].steps == {} and not view.rows["session"].tasks
    assert progress.current_stage() == ""  # the stage was this worker's only
