"""``topics_flow``: lyrics → clean tokens → LDA sweep → chosen model → topic map."""

from __future__ import annotations

import contextlib
from typing import Any

from prefect import flow

from moodrec.catalogue import Catalogue
from moodrec.config.schema import is_synthetic_source
from moodrec.enrich.outputs import LYRICS_INPUTS
from moodrec.errors import CatalogueError
from moodrec.flows.common import (
    enrich_inputs,
    sandbox_world,
    stage_settings,
)
from moodrec.tasks.artifacts import publish_checkpoints
from moodrec.tasks.checkpoints import (
    refs_intact,
    register_raw_input,
    result_is_refs,
    run_checkpoint_task,
)
from moodrec.tasks.topics import (
    clean_lyrics_task,
    fit_topics,
    load_lyrics,
    map_topics,
    topic_sweep_chunk,
)


def _sweep(clean, lcfg, tcfg, data_dir: str, sweep_stage: int, previous: list) -> list:
    """Run one sweep stage as ``n_sweep_tasks`` concurrent tasks; return their refs in order."""
    args = (clean, lcfg, tcfg, sweep_stage)
    futures = [
        topic_sweep_chunk.submit(*args, i, previous, data_dir) for i in range(tcfg.n_sweep_tasks)
    ]
    refs = []
    for i, fut in enumerate(futures):
        result = fut.result()
        if not refs_intact(result):  # a cache hit whose file changed since: recompute
            result = run_checkpoint_task(
                topic_sweep_chunk,
                *args,
                i,
                previous,
                data_dir,
                refs_of=result_is_refs,
                data_dir=data_dir,
            )
        Catalogue(data_dir).manifest.record(list(result.values()))
        refs.extend(result.values())
    return refs


@flow(name="topics", log_prints=False)
def topics_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Topic stage: lyrics table → lyrics_clean → LDA sweep → topics, track_topics, topic map.

    With ``lyrics.language_mode: per_language`` each language with ``topics.min_docs``
    documents gets its own sweep and model (outputs keyed by ``language``); the summary's
    ``topic_languages`` and ``skipped_languages`` say which were modelled and why not.

    Parameters
    ----------
    profile
        Config profile name (``config/<profile>.yaml``) or path.
    overrides
        Nested setting overrides, e.g. ``{"lyrics": {...}, "topics": {...}}``.
    """
    settings, data_dir = stage_settings(profile, overrides)
    settings.check_real_inputs(["topics"])
    lcfg, tcfg = settings.lyrics, settings.topics
    world = sandbox_world(settings, data_dir)["sandbox_world"] if lcfg.source == "sandbox" else None
    if lcfg.source == "enrich":
        inputs = enrich_inputs(data_dir, LYRICS_INPUTS, "topics")
    elif lcfg.source == "file":
        inputs = {"lyrics_file": register_raw_input("lyrics_source", str(lcfg.path), data_dir)}
        with contextlib.suppress(CatalogueError):  # a file keyed by artist + title links to it
            inputs["tracks"] = Catalogue(data_dir).manifest.get("tracks")
    else:
        inputs = None
    lyrics = run_checkpoint_task(
        load_lyrics,
        lcfg,
        world,
        data_dir,
        inputs,
        settings.content if lcfg.source == "file" else None,
        refs_of=result_is_refs,
        data_dir=data_dir,
    )["lyrics_input"]
    cleaned = run_checkpoint_task(clean_lyrics_task, lyrics, lcfg, data_dir, data_dir=data_dir)
    clean = cleaned["refs"]["lyrics_clean"]
    first = _sweep(clean, lcfg, tcfg, data_dir, 1, [])
    second = (
        _sweep(clean, lcfg, tcfg, data_dir, 2, first) if tcfg.sweep_strategy == "staged" else []
    )
    fitted = run_checkpoint_task(
        fit_topics,
        clean,
        first + second,
        lcfg,
        tcfg,
        data_dir,
        data_dir=data_dir,
    )
    mapped = run_checkpoint_task(
        map_topics,
        fitted["refs"]["track_topics"],
        fitted["refs"]["topics"],
        lyrics,
        clean,
        lcfg,
        tcfg,
        data_dir,
        data_dir=data_dir,
    )
    refs = {"lyrics_input": lyrics, **cleaned["refs"], **fitted["refs"], **mapped["refs"]}
    summary = {
        "cleaning": cleaned["report"]["status"],
        "languages": cleaned["report"]["languages"],
        **{k: v for k, v in fitted["summary"].items() if k != "labels"},
        "labels": {str(k): v for k, v in fitted["summary"]["labels"].items()},
        "map_trustworthiness": mapped["quality"]["topic_space"]["trustworthiness"],
    }
    synthetic = is_synthetic_source(settings, lcfg.source)
    publish_checkpoints("topics", refs, summary, settings.profile, synthetic)
    return {"data_dir": data_dir, "synthetic": synthetic, "refs": refs, "summary": summary}
