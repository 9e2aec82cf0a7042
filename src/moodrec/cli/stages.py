"""One command a pipeline stage after ingest (``moodrec enrich``, ``topics``, ... ``report``):
each runs the stage's flow for a profile and prints the datasets it wrote."""

from __future__ import annotations

from typing import Annotated

import typer

from moodrec.cli.common import (
    ProfileOpt,
    app,
    echo_refs,
    echo_withheld,
    exit_if_incomplete,
    run_flow,
)


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
    result = run_flow(lambda: flow_fn(profile=profile), profile=profile)
    echo_refs(result)
    if result:
        batches = result["summary"]["batches"]
        typer.echo(
            f"batches: {batches['total']} ({batches['run']} run, {batches['from_parts']} "
            f"resumed, {batches['not_done']} not done)"
        )
        for failed in result.get("not_done", []):
            typer.secho(f"batch {failed['batch']} not done: {failed['reason']}", err=True)
        exit_if_incomplete({"enrich": result})


@app.command()
def topics(profile: ProfileOpt = "demo") -> None:
    """Lyrics → clean tokens → LDA sweep → topics, per-track topic vectors and a topic map."""
    from moodrec.flows.topics import topics_flow

    echo_refs(run_flow(lambda: topics_flow(profile=profile), profile=profile))


@app.command()
def genres(profile: ProfileOpt = "demo") -> None:
    """Genre co-occurrence graph, super-genres, genre embeddings and the song map."""
    from moodrec.flows.genres import genres_flow

    echo_refs(run_flow(lambda: genres_flow(profile=profile), profile=profile))


@app.command()
def clusters(profile: ProfileOpt = "demo") -> None:
    """Cluster tracks by audio features and by lyric topics; pick a model by three criteria."""
    from moodrec.flows.genres import clusters_flow

    echo_refs(run_flow(lambda: clusters_flow(profile=profile), profile=profile))


def _stage_command(module: str, name: str, help_text: str) -> None:
    """Register ``moodrec <name> --profile P`` running ``module:<name>_flow``."""

    def command(profile: ProfileOpt = "demo") -> None:
        import importlib

        flow_fn = getattr(importlib.import_module(module), f"{name}_flow")
        result = run_flow(lambda: flow_fn(profile=profile), profile=profile)
        echo_refs(result)
        echo_withheld(result)

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
