"""Commands that use what a run saved: recommendations for a user, a user's mood timeline,
and serving the deployments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from moodrec.cli.common import ProfileOpt, app, fail, run_flow, writer_lock
from moodrec.errors import MoodrecError


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
        fail(exc)
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
        with writer_lock(data_dir):
            paths = write_mood_timeline(data_dir, user, out or data_dir / "reports")
    except MoodrecError as exc:
        fail(exc)
        return
    typer.echo(str(paths))


@app.command()
def serve(
    profile: ProfileOpt = "demo",
    limit: Annotated[int | None, typer.Option(help="concurrent runs at most")] = None,
) -> None:
    """Serve the deployments (pipeline form + scheduled metadata refresh); needs PREFECT_API_URL."""
    from moodrec.flows.deploy import serve_deployments

    run_flow(lambda: serve_deployments(profile, limit=limit), temporary_server=False)
