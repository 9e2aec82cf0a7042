"""The ``moodrec`` command line: every command validates config first, then calls a flow
or a pure stage function. The only module that prints."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from moodrec.errors import MoodrecError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
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


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _writer_lock(folder: Path | str) -> Any:
    """This command's hold on ``folder``'s write lock (one writer per data folder; a second
    command is refused with the holder's pid, host, start time and command line)."""
    from moodrec.locking import data_folder_lock

    return data_folder_lock(folder, command=" ".join(["moodrec", *sys.argv[1:]]))


def _profile_data_dir(profile: str) -> Path:
    """The data folder of ``profile`` (what its flows write into)."""
    from moodrec.config.loader import load_settings

    return Path(load_settings(profile).paths.data_dir)


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
        _fail(MoodrecError(f"--log-level {log_level!r}: allowed {', '.join(LOG_LEVELS)}"))
    overrides: dict[str, Any] = {"sandbox": {"seed": seed}} if seed is not None else {}
    # SIGINT/SIGTERM: the current task is cancelled, the server stops, exit 130/143 (≤ 8 s)
    with stop_on_signals() as stopped:
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

            title = f"moodrec run · {settings.profile} · {run_id(settings)}"
            level = getattr(logging, log_level.upper()) if log_level else None
            with (
                contextlib.ExitStack() as writing,
                _ui_links(keep=ui) as configured_ui,
            ):
                writing.enter_context(_writer_lock(settings.paths.data_dir))
                with prefect_api(preload, ui=ui):
                    ui_url = configured_ui or (_current_ui_url() if ui else None)
                    if ui_url:
                        typer.echo(f"Prefect UI: {ui_url}")
                    # the temporary server's UI outlives the run, failed or not, until Ctrl-C
                    waits = ui and ui_wait and not configured_ui
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
                        _keep_ui_up(ui_url)
                    if failure is not None:
                        raise typer.Exit(code=2)
        except MoodrecError as exc:
            _fail(exc)
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
    _exit_if_incomplete(result)


def _print_run_end(result: dict[str, Any], view: Any, ui_url: str | None) -> None:
    """The end of ``moodrec run``: data folder, summary, report, UI address, withheld tables."""
    from moodrec.terminal import print_summary

    report = result.get("report", {}).get("refs", {}).get("report_html")
    typer.echo(f"data folder: {result['ingest']['data_dir']}")
    print_summary(view, report.path if report is not None else None, ui_url)
    for stage_result in result.values():
        _echo_withheld(stage_result)


def _current_ui_url() -> str | None:
    from prefect.settings import get_current_settings

    return get_current_settings().ui_url or None


def _keep_ui_up(ui_url: str | None) -> None:
    """Block until Ctrl-C (or SIGTERM), keeping the temporary server and its UI up; then
    return normally (the run itself is over: exit 0 unless it left work not done)."""
    import signal
    import threading

    typer.echo(f"the Prefect UI stays up at {ui_url}; press Ctrl-C to stop it", err=True)
    sys.stdout.flush()
    if threading.current_thread() is not threading.main_thread():
        return  # no signal can reach this thread: nothing to wait for
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    # the run is over: a signal now ends the wait, not a run (stop_on_signals' forced exit)
    wakeup = signal.set_wakeup_fd(-1)
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(1.0):  # wakes up so that the handler runs promptly
            pass
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        if wakeup != -1:
            signal.set_wakeup_fd(wakeup, warn_on_full_buffer=False)
    typer.echo("stopping the Prefect server", err=True)


#: exit status of a run that finished but left work not done (a re-run retries it)
EXIT_INCOMPLETE = 3


def _exit_if_incomplete(stages: dict[str, Any]) -> None:
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


@contextlib.contextmanager
def _ui_links(keep: bool = False) -> Iterator[str | None]:
    """The Prefect UI's address when ``PREFECT_API_URL`` names a server; None when the
    command starts a temporary one. Without ``keep`` (``--ui``) that one has no UI: Prefect
    then prints no "View at" links, which would not open."""
    from prefect.settings import PREFECT_UI_URL, get_current_settings, temporary_settings

    current = get_current_settings()
    if current.api.url:
        yield current.ui_url or None
        return
    if keep:  # the temporary server serves a UI and names it (flows.api_server.prefect_api)
        yield None
        return
    with temporary_settings({PREFECT_UI_URL: ""}):
        yield None


@sandbox_app.command("generate")
def sandbox_generate(
    profile: Annotated[str, typer.Option(help="tiny | demo | large")] = "demo",
    seed: Annotated[int, typer.Option(help="random seed; equal seeds give equal bytes")] = 42,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("data/raw/sandbox"),
) -> None:
    """Generate the deterministic synthetic world (log, profiles and planted truth)."""
    from pydantic import ValidationError

    from moodrec.config.loader import format_validation_error
    from moodrec.sandbox.config import SandboxConfig
    from moodrec.sandbox.world import generate_world

    try:
        cfg = SandboxConfig(profile=profile, seed=seed)  # type: ignore[arg-type]
    except ValidationError as exc:
        _fail(MoodrecError(format_validation_error(exc, "command line (sandbox)")))
        return
    try:
        with _writer_lock(out):
            summary = generate_world(cfg, out)
    except MoodrecError as exc:
        _fail(exc)
        return
    typer.echo(
        f"{summary.profile} world (seed {summary.seed}): {summary.n_users} users, "
        f"{summary.n_artists} artists, {summary.n_tracks} tracks, {summary.n_events} events"
    )
    typer.echo(f"log: {summary.log_path}\ntruth: {summary.truth_dir}")


@ingest_app.command("lastfm1k")
def ingest_lastfm1k_cmd(
    path: Annotated[Path, typer.Argument(help="the Last.fm 1K listening log (TSV, no header)")],
    out: Annotated[Path, typer.Option(help="output folder for the Parquet tables")] = Path(
        "data/interim"
    ),
    profiles: Annotated[
        Path | None, typer.Option("--user-profiles", help="userid-profile.tsv")
    ] = None,
    session_gap_minutes: Annotated[float, typer.Option(help="new session after this gap")] = 30.0,
) -> None:
    """Ingest a Last.fm-1K-layout log (rejects go to rejects.tsv with line numbers)."""
    from pydantic import ValidationError

    from moodrec.config.loader import format_validation_error
    from moodrec.ingest.config import IngestConfig
    from moodrec.ingest.lastfm1k import ingest_lastfm1k

    try:
        cfg = IngestConfig(
            source="lastfm1k",
            log_path=path,
            profile_path=profiles,
            session_gap_minutes=session_gap_minutes,
        )
    except ValidationError as exc:
        _fail(MoodrecError(format_validation_error(exc, "command line (ingest)")))
        return
    try:
        with _writer_lock(out):
            result = ingest_lastfm1k(path, out, cfg, profile_path=profiles)
    except MoodrecError as exc:
        _fail(exc)
        return
    typer.echo(
        f"{result.n_lines:,} lines: {result.n_events:,} events, {result.n_rejected:,} rejected; "
        f"{result.n_users:,} users, {result.n_tracks:,} tracks, {result.n_artists:,} artists, "
        f"{result.n_sessions:,} sessions → {result.out_dir}"
    )


def _run_flow(call: Any, *, temporary_server: bool = True, profile: str | None = None) -> Any:
    """Run a flow, turning moodrec's own errors into a clean exit; without
    ``PREFECT_API_URL`` against a temporary local server (``orchestration.api_server``).

    With ``profile``, the flow writes into that profile's data folder: the command holds
    its write lock (taken before the server starts) for the whole run.
    """
    from moodrec.flows.api_server import prefect_api

    try:
        with contextlib.ExitStack() as stack:
            if profile is not None:
                stack.enter_context(_writer_lock(_profile_data_dir(profile)))
            if temporary_server:
                stack.enter_context(prefect_api())
            return call()
    except MoodrecError as exc:
        _fail(exc)


@ingest_app.command("hetrec")
def ingest_hetrec_cmd(
    folder: Annotated[Path, typer.Argument(help="the unpacked hetrec2011-lastfm-2k folder")],
    profile: ProfileOpt = "demo",
) -> None:
    """Ingest HetRec 2011 Last.fm (plays, users, artists, tags) into interim/hetrec/."""
    from moodrec.flows.datasets import hetrec_ingest_flow

    result = _run_flow(
        lambda: hetrec_ingest_flow(folder=str(folder), profile=profile), profile=profile
    )
    _echo_refs(result)


@ingest_app.command("scrobbles")
def ingest_scrobbles_cmd(
    file: Annotated[Path, typer.Argument(help="a Last.fm scrobble export (CSV)")],
    user: Annotated[str | None, typer.Option(help="user name (default: file name)")] = None,
    profile: ProfileOpt = "demo",
) -> None:
    """Ingest one user's scrobble export into the canonical tables."""
    from moodrec.flows.datasets import scrobbles_ingest_flow

    result = _run_flow(
        lambda: scrobbles_ingest_flow(file=str(file), user=user, profile=profile),
        profile=profile,
    )
    _echo_refs(result)


@data_app.command("download")
def data_download_cmd(
    dataset: Annotated[str, typer.Argument(help="lastfm-1k | hetrec-lastfm")],
    to: Annotated[Path | None, typer.Option(help="target folder")] = None,
    allow_unverified: Annotated[
        bool, typer.Option(help="accept an archive with no known checksum")
    ] = False,
) -> None:
    """Download, verify (SHA-256/MD5) and safely unpack a public data set; resumable."""
    from moodrec.flows.datasets import download_flow

    result = _run_flow(
        lambda: download_flow(
            dataset=dataset, to=str(to) if to else None, allow_unverified=allow_unverified
        )
    )
    typer.echo(json.dumps(result, indent=2, default=str))


@data_app.command("profile")
def data_profile_cmd(profile: ProfileOpt = "demo") -> None:
    """Write the dataset profile report (Markdown + PNG) for a profile's ingested data."""
    from moodrec.flows.datasets import profile_flow

    result = _run_flow(lambda: profile_flow(profile=profile), profile=profile)
    _echo_refs(result)


def _echo_withheld(result: dict[str, Any] | None) -> None:
    """Say so, on stderr, when the evaluation refused to publish metrics (too few users)."""
    table = (result or {}).get("table")  # a dict from evaluate; the ablation's is a frame
    if isinstance(table, dict) and table.get("withheld"):
        typer.secho(f"warning: {table['reason']}", fg=typer.colors.YELLOW, err=True)


def _echo_refs(result: dict[str, Any] | None) -> None:
    if not result:
        return
    if result.get("synthetic"):
        typer.echo("SYNTHETIC sandbox data (not real listeners).")
    for name, ref in sorted(result.get("refs", {}).items()):
        rows = "" if ref.rows is None else f"{ref.rows:>12,} rows"
        typer.echo(f"  {name:<36}{rows:>16}  {ref.fingerprint[:12]}  {ref.path}")


@app.command()
def enrich(
    profile: ProfileOpt = "demo",
    refresh: Annotated[
        bool, typer.Option(help="also fetch again the cached answers past their TTL")
    ] = False,
) -> None:
    """Enrich the ingested tracks (Spotify, Genius, LRCLIB, features file), batch by batch.

    Each run asks again for every key a previous run left unsettled (errors, refusals, rate
    limits) and probes again after a change of credentials; settled answers come from the
    cache. ``--refresh`` runs the ``refresh-metadata`` flow instead.
    """
    from moodrec.flows.enrich import enrich_flow, refresh_metadata_flow

    flow_fn = refresh_metadata_flow if refresh else enrich_flow
    result = _run_flow(lambda: flow_fn(profile=profile), profile=profile)
    _echo_refs(result)
    if result:
        batches = result["summary"]["batches"]
        typer.echo(
            f"batches: {batches['total']} ({batches['run']} run, {batches['from_parts']} "
            f"resumed, {batches['not_done']} not done)"
        )
        for failed in result.get("not_done", []):
            typer.secho(f"batch {failed['batch']} not done: {failed['reason']}", err=True)
        _exit_if_incomplete({"enrich": result})


@app.command()
def topics(profile: ProfileOpt = "demo") -> None:
    """Lyrics → clean tokens → LDA sweep → topics, per-track topic vectors and a topic map."""
    from moodrec.flows.topics import topics_flow

    _echo_refs(_run_flow(lambda: topics_flow(profile=profile), profile=profile))


@app.command()
def genres(profile: ProfileOpt = "demo") -> None:
    """Genre co-occurrence graph, super-genres, genre embeddings and the song map."""
    from moodrec.flows.genres import genres_flow

    _echo_refs(_run_flow(lambda: genres_flow(profile=profile), profile=profile))


@app.command()
def clusters(profile: ProfileOpt = "demo") -> None:
    """Cluster tracks by audio features and by lyric topics; pick a model by three criteria."""
    from moodrec.flows.genres import clusters_flow

    _echo_refs(_run_flow(lambda: clusters_flow(profile=profile), profile=profile))


def _stage_command(module: str, name: str, help_text: str) -> None:
    """Register ``moodrec <name> --profile P`` running ``module:<name>_flow``."""

    def command(profile: ProfileOpt = "demo") -> None:
        import importlib

        flow_fn = getattr(importlib.import_module(module), f"{name}_flow")
        result = _run_flow(lambda: flow_fn(profile=profile), profile=profile)
        _echo_refs(result)
        _echo_withheld(result)

    command.__doc__ = help_text
    app.command(name)(command)


_stage_command(
    "moodrec.flows.recommend", "train", "Fit the configured recommenders (saved under data/)."
)
_stage_command(
    "moodrec.flows.recommend",
    "evaluate",
    "Full-ranking evaluation of every recommender: metrics with 95 % CIs over users.",
)
_stage_command(
    "moodrec.flows.ablation",
    "ablation",
    "CF vs CF + audio / genre / lyric topics / all, on warm and cold-start items.",
)
_stage_command(
    "moodrec.flows.session", "session", "Session (mood-aware) recommenders and their evaluation."
)
_stage_command("moodrec.flows.report", "report", "Write the self-contained HTML report of the run.")


@app.command()
def recommend(
    user: Annotated[str, typer.Option("--user", "-u", help="user id (user_000001) or index")],
    profile: ProfileOpt = "demo",
    k: Annotated[int, typer.Option("-k", help="list length")] = 10,
    exclude_seen: Annotated[bool, typer.Option(help="drop tracks the user already played")] = False,
    session: Annotated[
        str | None, typer.Option(help="'recent': follow the user's latest session (and mood)")
    ] = None,
    mood: Annotated[
        str | None, typer.Option(help="calm | happy | energetic | sad (overrides the inferred)")
    ] = None,
    model: Annotated[str | None, typer.Option(help="saved long-term model to use")] = None,
) -> None:
    """Recommend tracks for a user from a saved model (long-term, or within a session)."""
    from moodrec.config.loader import load_settings

    try:
        if session is None and mood is None:
            from moodrec.flows.recommend import recommend_user

            frame = recommend_user(profile, user, k=k, exclude_seen=exclude_seen, model=model)
            if frame.empty:
                typer.echo(
                    f"no recommendation for {user}: every item with plays in training is one "
                    "the user played already (drop --exclude-seen, or add listeners)"
                )
                return
            if (frame["title"] == "").all():  # an artist-level catalogue: items are artists
                frame = frame.drop(columns="title")
            typer.echo(frame.to_string(index=False))
            return
        from moodrec.session.serving import recommend_in_session

        data_dir = load_settings(profile).paths.data_dir
        result = recommend_in_session(data_dir, user, k, session or "recent", mood)
    except MoodrecError as exc:
        _fail(exc)
        return
    if result.mood is None:
        typer.echo(
            "mood: none (the session model has no mood features; set session.features_source "
            "to file to add them, or enrich the tracks with audio features)"
        )
    else:
        typer.echo(f"mood: {result.mood}")
    typer.echo(str(result.items))


@app.command("mood-timeline")
def mood_timeline(
    user: Annotated[str, typer.Option("--user", "-u", help="user id or index")],
    profile: ProfileOpt = "demo",
    out: Annotated[Path | None, typer.Option(help="output folder")] = None,
) -> None:
    """Write a user's mood timeline (HTML and PNG)."""
    from moodrec.config.loader import load_settings
    from moodrec.session.serving import write_mood_timeline

    try:
        data_dir = Path(load_settings(profile).paths.data_dir)
        with _writer_lock(data_dir):
            paths = write_mood_timeline(data_dir, user, out or data_dir / "reports")
    except MoodrecError as exc:
        _fail(exc)
        return
    typer.echo(str(paths))


@app.command()
def serve(
    profile: ProfileOpt = "demo",
    limit: Annotated[int | None, typer.Option(help="concurrent runs at most")] = None,
) -> None:
    """Serve the deployments (pipeline form + scheduled metadata refresh); needs PREFECT_API_URL."""
    from moodrec.flows.deploy import serve_deployments

    _run_flow(lambda: serve_deployments(profile, limit=limit), temporary_server=False)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="where to put config/ (the profiles to edit)")],
    force: Annotated[bool, typer.Option(help="overwrite profiles already there")] = False,
) -> None:
    """Copy the packaged profiles (and .env.example) into FOLDER/config for editing."""
    import shutil

    from moodrec.config.loader import PACKAGED_PROFILES

    target = folder / "config"
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted(PACKAGED_PROFILES.glob("*.yaml"))
    existing = [p.name for p in sources if (target / p.name).exists()]
    if existing and not force:
        _fail(MoodrecError(f"{target} already has {', '.join(existing)} (--force overwrites)"))
    for src in sources:
        shutil.copyfile(src, target / src.name)
    env_example = PACKAGED_PROFILES / "env.example"
    if env_example.is_file():
        shutil.copyfile(env_example, target / ".env.example")
    typer.echo(f"profiles copied to {target}: {', '.join(p.stem for p in sources)}")
    typer.echo(f"run from {folder} (moodrec run --profile tiny) or set MOODREC_CONFIG_DIR={target}")


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


@sandbox_app.command("serve")
def sandbox_serve(profile: ProfileOpt = "demo") -> None:
    """Start the fake Spotify / Genius / LRCLIB servers in the foreground (Ctrl-C stops)."""
    from moodrec.sandbox.servers.serve import serve_profile

    _run_flow(lambda: serve_profile(profile), temporary_server=False)


@config_app.command("show")
def config_show(profile: ProfileOpt = "demo") -> None:
    """Print the validated settings of a profile (secrets masked)."""
    from moodrec.config.loader import load_settings

    try:
        settings = load_settings(profile)
    except MoodrecError as exc:
        _fail(exc)
        return
    typer.echo(json.dumps(settings.model_dump(mode="json"), indent=2, default=str))


def main() -> None:
    """Console entry point."""
    # moodrec runs offline by default: a temporary Prefect server must not try to phone home
    # (set PREFECT_SERVER_ANALYTICS_ENABLED=true to opt in).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")  # nor the client
    # moodrec's own log records (warnings from pure code) go to the flow runs' logs in the UI
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "moodrec")
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
