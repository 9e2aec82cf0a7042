"""The input data's commands: the sandbox world (``moodrec sandbox``), reading listening logs
(``moodrec ingest``), downloading and profiling data sets (``moodrec data``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from moodrec.cli.common import (
    ProfileOpt,
    data_app,
    echo_refs,
    fail,
    ingest_app,
    run_flow,
    sandbox_app,
    writer_lock,
)
from moodrec.errors import MoodrecError


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
        fail(MoodrecError(format_validation_error(exc, "command line (sandbox)")))
        return
    try:
        with writer_lock(out):
            summary = generate_world(cfg, out)
    except MoodrecError as exc:
        fail(exc)
        return
    typer.echo(
        f"{summary.profile} world (seed {summary.seed}): {summary.n_users} users, "
        f"{summary.n_artists} artists, {summary.n_tracks} tracks, {summary.n_events} events"
    )
    typer.echo(f"log: {summary.log_path}\ntruth: {summary.truth_dir}")


@sandbox_app.command("serve")
def sandbox_serve(profile: ProfileOpt = "demo") -> None:
    """Start the fake Spotify / Genius / LRCLIB servers in the foreground (Ctrl-C stops)."""
    from moodrec.sandbox.servers.serve import serve_profile

    run_flow(lambda: serve_profile(profile), temporary_server=False)


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
        fail(MoodrecError(format_validation_error(exc, "command line (ingest)")))
        return
    try:
        with writer_lock(out):
            result = ingest_lastfm1k(path, out, cfg, profile_path=profiles)
    except MoodrecError as exc:
        fail(exc)
        return
    typer.echo(
        f"{result.n_lines:,} lines: {result.n_events:,} events, {result.n_rejected:,} rejected; "
        f"{result.n_users:,} users, {result.n_tracks:,} tracks, {result.n_artists:,} artists, "
        f"{result.n_sessions:,} sessions → {result.out_dir}"
    )


@ingest_app.command("hetrec")
def ingest_hetrec_cmd(
    folder: Annotated[Path, typer.Argument(help="the unpacked hetrec2011-lastfm-2k folder")],
    profile: ProfileOpt = "demo",
) -> None:
    """Ingest HetRec 2011 Last.fm (plays, users, artists, tags) into interim/hetrec/."""
    from moodrec.flows.datasets import hetrec_ingest_flow

    result = run_flow(
        lambda: hetrec_ingest_flow(folder=str(folder), profile=profile), profile=profile
    )
    echo_refs(result)


@ingest_app.command("scrobbles")
def ingest_scrobbles_cmd(
    file: Annotated[Path, typer.Argument(help="a Last.fm scrobble export (CSV)")],
    user: Annotated[str | None, typer.Option(help="user name (default: file name)")] = None,
    profile: ProfileOpt = "demo",
) -> None:
    """Ingest one user's scrobble export into the canonical tables."""
    from moodrec.flows.datasets import scrobbles_ingest_flow

    result = run_flow(
        lambda: scrobbles_ingest_flow(file=str(file), user=user, profile=profile),
        profile=profile,
    )
    echo_refs(result)


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

    result = run_flow(
        lambda: download_flow(
            dataset=dataset, to=str(to) if to else None, allow_unverified=allow_unverified
        )
    )
    typer.echo(json.dumps(result, indent=2, default=str))


@data_app.command("profile")
def data_profile_cmd(profile: ProfileOpt = "demo") -> None:
    """Write the dataset profile report (Markdown + PNG) for a profile's ingested data."""
    from moodrec.flows.datasets import profile_flow

    result = run_flow(lambda: profile_flow(profile=profile), profile=profile)
    echo_refs(result)
