"""The ``moodrec`` command line: every command validates config first, then calls a flow
or a pure stage function. The only module that prints."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from moodrec.errors import MoodrecError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
sandbox_app = typer.Typer(no_args_is_help=True, help="The synthetic sandbox world.")
ingest_app = typer.Typer(no_args_is_help=True, help="Read listening logs into canonical tables.")
config_app = typer.Typer(no_args_is_help=True, help="Inspect configuration profiles.")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(ingest_app, name="ingest")
app.add_typer(config_app, name="config")

ProfileOpt = Annotated[
    str, typer.Option("--profile", "-p", help="config profile name or YAML path")
]


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def run(
    profile: ProfileOpt = "demo",
    seed: Annotated[int | None, typer.Option(help="override sandbox.seed")] = None,
) -> None:
    """Run the whole pipeline for a profile (a temporary local Prefect server if none is set)."""
    from moodrec.config import load_settings

    overrides: dict[str, Any] = {"sandbox": {"seed": seed}} if seed is not None else {}
    try:
        load_settings(profile, overrides=overrides)  # fail on bad config before any work
        from moodrec.flows.pipeline import pipeline_flow

        result = pipeline_flow(profile=profile, overrides=overrides or None)
    except MoodrecError as exc:
        _fail(exc)
        return
    ingest = result["ingest"]
    if ingest["synthetic"]:
        typer.echo("SYNTHETIC sandbox data (not real listeners).")
    typer.echo(f"data folder: {ingest['data_dir']}")
    for name, ref in sorted(ingest["refs"].items()):
        rows = "" if ref.rows is None else f"{ref.rows:>12,} rows"
        typer.echo(f"  {name:<16}{rows:>18}  {ref.fingerprint[:12]}  {ref.path}")


@sandbox_app.command("generate")
def sandbox_generate(
    profile: Annotated[str, typer.Option(help="tiny | demo | large")] = "demo",
    seed: Annotated[int, typer.Option(help="random seed; equal seeds give equal bytes")] = 42,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("data/raw/sandbox"),
) -> None:
    """Generate the deterministic synthetic world (log, profiles and planted truth)."""
    from pydantic import ValidationError

    from moodrec.config import SandboxConfig
    from moodrec.config.loader import format_validation_error
    from moodrec.sandbox.world import generate_world

    try:
        cfg = SandboxConfig(profile=profile, seed=seed)  # type: ignore[arg-type]
    except ValidationError as exc:
        _fail(MoodrecError(format_validation_error(exc, "command line (sandbox)")))
        return
    try:
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

    from moodrec.config import IngestConfig
    from moodrec.config.loader import format_validation_error
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
        result = ingest_lastfm1k(path, out, cfg, profile_path=profiles)
    except MoodrecError as exc:
        _fail(exc)
        return
    typer.echo(
        f"{result.n_lines:,} lines: {result.n_events:,} events, {result.n_rejected:,} rejected; "
        f"{result.n_users:,} users, {result.n_tracks:,} tracks, {result.n_artists:,} artists, "
        f"{result.n_sessions:,} sessions → {result.out_dir}"
    )


@config_app.command("show")
def config_show(profile: ProfileOpt = "demo") -> None:
    """Print the validated settings of a profile (secrets masked)."""
    from moodrec.config import load_settings

    try:
        settings = load_settings(profile)
    except MoodrecError as exc:
        _fail(exc)
        return
    typer.echo(json.dumps(settings.model_dump(mode="json"), indent=2, default=str))


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
