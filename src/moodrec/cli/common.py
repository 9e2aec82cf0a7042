"""The ``moodrec`` Typer app, its command groups and what every command shares: a clean
exit for moodrec's errors, the data folder's write lock, running a flow, printing its
datasets and the exit status of a run that left work not done."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from moodrec.errors import MoodrecError

#: the app's help (``moodrec --help``)
HELP = """The ``moodrec`` command line: every command validates config first, then calls a flow
or a pure stage function. The only module that prints."""

app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP)
sandbox_app = typer.Typer(no_args_is_help=True, help="The synthetic sandbox world.")
ingest_app = typer.Typer(no_args_is_help=True, help="Read listening logs into canonical tables.")
config_app = typer.Typer(no_args_is_help=True, help="Inspect configuration profiles.")
data_app = typer.Typer(no_args_is_help=True, help="Download and profile data sets.")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(ingest_app, name="ingest")
app.add_typer(config_app, name="config")
app.add_typer(data_app, name="data")

ProfileOpt = Annotated[
    str, typer.Option("--profile", "-p", help="config profile name or YAML path")
]


def _version(value: bool) -> None:
    if value:
        from moodrec.runs import moodrec_version

        typer.echo(f"moodrec {moodrec_version()}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """The ``moodrec`` command line: every command validates config first, then calls a
    flow or a pure stage function."""


#: whether this process is a ``moodrec`` command (:func:`moodrec.cli.main` sets it); tests
#: that invoke the commands in their own process leave it False
PROCESS = {"entry_point": False}


@contextlib.contextmanager
def loading_modules() -> Iterator[Callable[[], None]]:
    """In a ``moodrec`` process: no garbage collection while the command loads its modules;
    call the yielded function once they are loaded (else it is called at the end).

    It then freezes what is loaded (``gc.freeze``: those objects leave the collector's
    generations) and turns the collector back on, so objects made afterwards are collected
    as before. An unchanged ``moodrec run`` spent ≈ 0.45 of its ≈ 3.3 CPU s in full
    collections walking the objects of ≈ 2,500 modules, most of them while importing
    (``benchmarks/results/pipeline.md``). Frozen objects are freed by refcounting only:
    modules' objects, which live until exit anyway. A test process calling the commands is
    left alone: its heap would only grow from one test to the next.
    """
    paused = PROCESS["entry_point"] and gc.isenabled()
    if paused:
        gc.disable()

    def loaded() -> None:
        nonlocal paused
        if paused:
            paused = False
            gc.freeze()
            gc.enable()

    try:
        yield loaded
    finally:
        loaded()


def fail(exc: Exception) -> None:
    """Print ``exc`` as an error on stderr and exit with status 2."""
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def writer_lock(folder: Path | str) -> Any:
    """This command's hold on ``folder``'s write lock (one writer per data folder; a second
    command is refused with the holder's pid, host, start time and command line)."""
    from moodrec.locking import data_folder_lock

    return data_folder_lock(folder, command=" ".join(["moodrec", *sys.argv[1:]]))


def profile_data_dir(profile: str) -> Path:
    """The data folder of ``profile`` (what its flows write into)."""
    from moodrec.config.loader import load_settings

    return Path(load_settings(profile).paths.data_dir)


def run_flow(call: Any, *, temporary_server: bool = True, profile: str | None = None) -> Any:
    """Run a flow, turning moodrec's own errors into a clean exit; without
    ``PREFECT_API_URL`` against a temporary local server (``orchestration.api_server``).

    With ``profile``, the flow writes into that profile's data folder: the command holds
    its write lock (taken before the server starts) for the whole run.
    """
    from moodrec.flows.api_server import prefect_api

    try:
        with contextlib.ExitStack() as stack:
            if profile is not None:
                stack.enter_context(writer_lock(profile_data_dir(profile)))
            if temporary_server:
                stack.enter_context(prefect_api())
            return call()
    except MoodrecError as exc:
        fail(exc)


def echo_withheld(result: dict[str, Any] | None) -> None:
    """Say so, on stderr, when the evaluation refused to publish metrics (too few users)."""
    table = (result or {}).get("table")  # a dict from evaluate; the ablation's is a frame
    if isinstance(table, dict) and table.get("withheld"):
        typer.secho(f"warning: {table['reason']}", fg=typer.colors.YELLOW, err=True)


def echo_refs(result: dict[str, Any] | None) -> None:
    """Print a flow's datasets: name, rows, fingerprint and path (and whether synthetic)."""
    if not result:
        return
    if result.get("synthetic"):
        typer.echo("SYNTHETIC sandbox data (not real listeners).")
    for name, ref in sorted(result.get("refs", {}).items()):
        rows = "" if ref.rows is None else f"{ref.rows:>12,} rows"
        typer.echo(f"  {name:<36}{rows:>16}  {ref.fingerprint[:12]}  {ref.path}")


#: exit status of a run that finished but left work not done (a re-run retries it)
EXIT_INCOMPLETE = 3


def exit_if_incomplete(stages: dict[str, Any]) -> None:
    """Exit with :data:`EXIT_INCOMPLETE` when a stage says it is not ``complete``
    (e.g. enrich batches left not done), naming how much of it settled."""
    incomplete = []
    for stage, stage_result in stages.items():
        if not isinstance(stage_result, dict) or stage_result.get("complete", True):
            continue
        tracks = stage_result.get("summary", {}).get("tracks", {})
        not_done = stage_result.get("not_done", [])
        settled = (
            f"settled {tracks['enriched']} of {tracks['planned']} planned tracks, "
            if {"enriched", "planned"} <= tracks.keys()
            else ""
        )
        incomplete.append(f"{stage}: {settled}{len(not_done)} batches not done")
    if incomplete:
        typer.secho(
            "incomplete: " + "; ".join(incomplete) + " (run again to retry what is not done)",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(code=EXIT_INCOMPLETE)
