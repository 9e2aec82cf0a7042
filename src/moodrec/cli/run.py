"""``moodrec run``: the whole pipeline for a profile, with its live view and summary."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from moodrec.cli.common import (
    ProfileOpt,
    app,
    echo_withheld,
    exit_if_incomplete,
    fail,
    loading_modules,
    writer_lock,
)
from moodrec.cli.ui import current_ui_url, keep_ui_up
from moodrec.errors import MoodrecError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@app.command()
def run(
    profile: ProfileOpt = "demo",
    seed: Annotated[int | None, typer.Option(help="override sandbox.seed")] = None,
    replace: Annotated[
        bool, typer.Option(help="write over a data folder holding another configuration's outputs")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no live view: warnings, errors, the summary")
    ] = False,
    log_level: Annotated[
        str | None,
        typer.Option(
            help=f"print log records at this level ({' | '.join(LOG_LEVELS)}); no live view"
        ),
    ] = None,
    ui: Annotated[
        bool,
        typer.Option(
            "--ui",
            help="start the temporary Prefect server with its UI and print its address "
            "(with PREFECT_API_URL set: that server's UI)",
        ),
    ] = False,
    ui_wait: Annotated[
        bool,
        typer.Option(
            "--ui-wait/--no-ui-wait",
            help="with --ui: keep the temporary server and its UI up after the run until Ctrl-C",
        ),
    ] = True,
) -> None:
    """Run the whole pipeline for a profile (a temporary local Prefect server if none is set).

    Without ``--ui`` that server has no UI and the run prints no run links; with ``--ui`` it
    serves the Prefect UI, whose address is printed at the start and in the summary, and
    (unless ``--no-ui-wait``) stays up after the run until Ctrl-C, for browsing the run.
    """
    import logging

    from moodrec.config.loader import load_settings
    from moodrec.config.run_folder import run_id
    from moodrec.flows.api_server import prefect_api, ui_assets
    from moodrec.orchestration.interrupt import RunInterrupted, exit_status, stop_on_signals
    from moodrec.runs import check_data_folder
    from moodrec.terminal import run_view

    if log_level is not None and log_level.upper() not in LOG_LEVELS:
        fail(MoodrecError(f"--log-level {log_level!r}: allowed {', '.join(LOG_LEVELS)}"))
    overrides: dict[str, Any] = {"sandbox": {"seed": seed}} if seed is not None else {}
    # SIGINT/SIGTERM: the current task is cancelled, the server stops, exit 130/143 (≤ 8 s)
    with stop_on_signals() as stopped, loading_modules() as modules_loaded:
        try:
            settings = load_settings(profile, overrides=overrides)  # bad config fails first
            settings.check_real_inputs()
            if ui:
                ui_assets()  # no built UI in the prefect package: say so before any work
            # another configuration's outputs are refused before any server starts
            check_data_folder(Path(settings.paths.data_dir), settings, replace=replace)

            def preload() -> None:
                from moodrec.flows.pipeline import preload_stages
                from moodrec.runs import read_run_record

                # a folder with no finished run will compute: load its libraries while the
                # server starts; an unchanged re-run (all cached) needs none of them
                record = read_run_record(settings.paths.data_dir) or {}
                computes = record.get("finished") is None
                preload_stages(settings.orchestration.skip, settings, libraries=computes)
                modules_loaded()

            title = f"moodrec run · {settings.profile} · {run_id(settings)}"
            level = getattr(logging, log_level.upper()) if log_level else None
            with contextlib.ExitStack() as writing:
                writing.enter_context(writer_lock(settings.paths.data_dir))
                with prefect_api(preload, ui=ui) as api:
                    # a configured server's UI, the temporary server's with --ui, else none
                    ui_url = current_ui_url()
                    if ui_url:
                        typer.echo(f"Prefect UI: {ui_url}")
                    # the temporary server's UI outlives the run, failed or not, until Ctrl-C
                    waits = ui and ui_wait and api.temporary
                    from moodrec.flows.pipeline import pipeline_flow

                    failure: MoodrecError | None = None
                    try:
                        with run_view(title, live=True, quiet=quiet, log_level=level) as view:
                            result = pipeline_flow(
                                profile=profile, overrides=overrides or None, replace=replace
                            )
                    except MoodrecError as exc:
                        if not waits:
                            raise
                        failure = exc
                    writing.close()  # the run is over: another command may write the folder
                    if failure is None:
                        _print_run_end(result, view, ui_url)
                    else:
                        typer.secho(f"error: {failure}", fg=typer.colors.RED, err=True)
                    if waits:
                        keep_ui_up(ui_url)
                    if failure is not None:
                        raise typer.Exit(code=2)
        except MoodrecError as exc:
            fail(exc)
            return
        except BaseException as exc:
            # RunInterrupted, or Prefect's TerminationSignal for a SIGTERM during a flow
            signum = exc.signum if isinstance(exc, RunInterrupted) else stopped["signum"]
            signum = signum or getattr(exc, "signal", None)
            if signum is None and not isinstance(exc, KeyboardInterrupt):
                raise
            status = exit_status(signum) if signum else 130
            typer.echo(
                f"moodrec run: stopped by a signal; finished checkpoints are kept, the next "
                f"run resumes (exit {status})",
                err=True,
            )
            raise typer.Exit(status) from None
    exit_if_incomplete(result)


def _print_run_end(result: dict[str, Any], view: Any, ui_url: str | None) -> None:
    """The end of ``moodrec run``: data folder, summary, report, UI address, withheld tables."""
    from moodrec.terminal import print_summary

    report = result.get("report", {}).get("refs", {}).get("report_html")
    typer.echo(f"data folder: {result['ingest']['data_dir']}")
    print_summary(view, report.path if report is not None else None, ui_url)
    for stage_result in result.values():
        echo_withheld(stage_result)
