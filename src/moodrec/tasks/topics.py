"""Prefect tasks of the topic stage: lyrics input, cleaning, sweep chunks, final model, map.

The stage's libraries (gensim, scikit-learn, pandas) are imported by each task when it runs,
not with this module: an unchanged re-run, every task cached, never loads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact
from prefect.runtime import flow_run

from moodrec import progress
from moodrec.catalogue import Catalogue
from moodrec.content.config import ContentConfig
from moodrec.storage import DatasetRef, write_parquet_atomic
from moodrec.tasks.artifacts import profile_key
from moodrec.tasks.cache_policy import CHECKPOINT_CACHE
from moodrec.text.config import LyricsConfig
from moodrec.topics.config import TopicsConfig

#: dataset name → (layer, file name) of everything the stage writes
TOPIC_DATASETS: dict[str, tuple[str, str]] = {
    "lyrics_input": ("interim", "lyrics_input.parquet"),
    "lyrics_clean": ("interim", "lyrics_clean.parquet"),
    "lyrics_cleaning_report": ("reports", "lyrics_cleaning.json"),
    "topics_sweep": ("reports", "topics_sweep.parquet"),
    "topics_sweep_md": ("reports", "topics_sweep.md"),
    "topics_view": ("reports", "topics_view.html"),
    "lda_model": ("models", "topics/lda.model"),
    "lda_dictionary": ("models", "topics/dictionary.txt"),
    "topics": ("features", "topics.parquet"),
    "topic_words": ("features", "topic_words.parquet"),
    "topic_word_matrix": ("features", "topic_word_matrix.parquet"),
    "track_topics": ("features", "track_topics.parquet"),
    "topic_map": ("features", "topic_map.parquet"),
    "topic_map_topics": ("features", "topic_map_topics.parquet"),
    "topic_map_html": ("reports", "topic_map.html"),
    "topic_map_quality": ("reports", "topic_map_quality.json"),
    "word2vec_map": ("features", "topic_map_word2vec.parquet"),
}


def topic_path(data_dir: str, name: str) -> Path:
    """Where a topic-stage dataset lives under ``data_dir``."""
    layer, filename = TOPIC_DATASETS[name]
    return Catalogue(data_dir).layer_dir(layer) / filename


def _paths(data_dir: str, *names: str) -> dict[str, Path]:
    return {n: topic_path(data_dir, n) for n in names}


@task(name="load-lyrics", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def load_lyrics(
    cfg: LyricsConfig,
    world: DatasetRef | None,
    data_dir: str,
    inputs: dict[str, DatasetRef] | None = None,
    content: ContentConfig | None = None,
) -> dict[str, DatasetRef]:
    """Read the lyrics table into ``interim/lyrics_input.parquet``.

    From the sandbox ``world``, or ``inputs``: the registered lyrics file (``lyrics_file``)
    or the enrich stage's ``lyrics_raw`` and ``track_features``; their fingerprints are in
    the cache key, so an edited file or a new enrich run is read again.
    """
    from moodrec.topics import stage

    truth = Path(world.path).parent / "truth" if world is not None else None
    enrich = {k: Path(v.path) for k, v in (inputs or {}).items()}
    frame = stage.read_lyrics_table(cfg, truth, enrich, content)
    path = write_parquet_atomic(frame, topic_path(data_dir, "lyrics_input"))
    get_run_logger().info("lyrics input: %d rows from %s", len(frame), cfg.source)
    return Catalogue(data_dir).register_many({"lyrics_input": path})


@task(name="clean-lyrics", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def clean_lyrics_task(lyrics: DatasetRef, cfg: LyricsConfig, data_dir: str) -> dict[str, Any]:
    """Clean the lyrics table → ``lyrics_clean`` + ``lyrics_cleaning_report``."""
    import pandas as pd

    from moodrec.text.cleaning import clean_lyrics
    from moodrec.topics import stage

    logger = get_run_logger()
    result = clean_lyrics(pd.read_parquet(lyrics.path), cfg)
    out = _paths(data_dir, "lyrics_clean", "lyrics_cleaning_report")
    stage.write_cleaning_outputs(result.frame, result.report, out)
    bad = {k: v for k, v in result.report["status"].items() if k != "ok" and v}
    if bad:
        logger.warning("lyrics not modelled: %s (ids in %s)", bad, out["lyrics_cleaning_report"])
    return {"refs": Catalogue(data_dir).register_many(out), "report": result.report}


@task(name="topic-sweep", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def topic_sweep_chunk(
    clean: DatasetRef,
    lcfg: LyricsConfig,
    tcfg: TopicsConfig,
    sweep_stage: int,
    chunk: int,
    previous: list[DatasetRef],
    data_dir: str,
) -> dict[str, DatasetRef]:
    """Fit and score chunk ``chunk`` of sweep stage ``sweep_stage`` (a few models per task)."""
    from moodrec.topics import stage

    languages, _ = stage.topic_languages(Path(clean.path), lcfg, tcfg)
    points = stage.sweep_points(tcfg, sweep_stage, [Path(r.path) for r in previous], languages)
    mine = stage.chunk_points(points, tcfg.n_sweep_tasks, chunk)
    name = f"topics_sweep_s{sweep_stage}_c{chunk}"
    out = Catalogue(data_dir).layer_dir("reports") / "topics_sweep" / f"{name}.parquet"
    get_run_logger().info("sweep stage %d chunk %d: %s", sweep_stage, chunk, [p.name for p in mine])
    stage.run_sweep_chunk(Path(clean.path), lcfg, tcfg, mine, out)
    report_sweep_progress(out.parent, sweep_stage, tcfg.n_sweep_tasks)
    return Catalogue(data_dir).register_many({name: out})


def report_sweep_progress(folder: Path, sweep_stage: int, n_chunks: int) -> None:
    """Progress artifact ``topics-sweep-progress``: chunks of this sweep stage written by
    this flow run.

    Every chunk task sets it when it finishes (counting the files, so concurrent chunks
    agree); its versions are the sweep's history in the UI.
    """
    since = flow_run.scheduled_start_time.timestamp()
    done = sum(
        1
        for f in folder.glob(f"topics_sweep_s{sweep_stage}_c*.parquet")
        if f.stat().st_mtime >= since
    )
    progress.step(f"topics: LDA sweep stage {sweep_stage} chunks", min(done, n_chunks), n_chunks)
    create_progress_artifact(
        100.0 * min(done, n_chunks) / n_chunks,
        key=profile_key("topics-sweep-progress"),
        description=f"topic sweep stage {sweep_stage}: {min(done, n_chunks)} of {n_chunks} chunks",
    )


@task(name="fit-topics", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def fit_topics(
    clean: DatasetRef,
    sweep: list[DatasetRef],
    lcfg: LyricsConfig,
    tcfg: TopicsConfig,
    data_dir: str,
) -> dict[str, Any]:
    """Choose each language's model from the sweep, refit it and write the checkpoints."""
    from moodrec.topics import stage

    logger = get_run_logger()
    out = _paths(
        data_dir,
        "topics_sweep",
        "topics_sweep_md",
        "topics_view",
        "lda_model",
        "lda_dictionary",
        "topics",
        "topic_words",
        "topic_word_matrix",
        "track_topics",
    )
    languages, skipped = stage.topic_languages(Path(clean.path), lcfg, tcfg)
    out = {
        **{k: p for k, p in out.items() if k not in ("lda_model", "lda_dictionary")},
        **stage.language_model_paths(out, list(languages)),
    }
    summary = stage.fit_final(Path(clean.path), [Path(r.path) for r in sweep], lcfg, tcfg, out)
    for lang, s in summary["topic_languages"].items():
        logger.info(
            "%s: chosen %s (c_v %.3f) over %d models, %d documents",
            lang,
            s["chosen_model"],
            s["c_v"],
            s["n_models_swept"],
            s["n_documents"],
        )
    logger.info("topic labels: %s", summary["labels"])
    if skipped:
        logger.warning("languages not modelled: %s", skipped)
    return {"refs": Catalogue(data_dir).register_many(out), "summary": summary}


@task(name="map-topics", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def map_topics(
    track_topics: DatasetRef,
    topics: DatasetRef,
    lyrics: DatasetRef,
    clean: DatasetRef,
    lcfg: LyricsConfig,
    tcfg: TopicsConfig,
    data_dir: str,
) -> dict[str, Any]:
    """Continuous topic embedding of tracks, its quality, Parquet + interactive HTML map."""
    from moodrec.topics import stage

    names = ["topic_map", "topic_map_topics", "topic_map_html"]
    if tcfg.word2vec:
        names.append("word2vec_map")
    out = {
        **_paths(data_dir, *names),
        "topic_map_quality": topic_path(data_dir, "topic_map_quality"),
    }
    quality = stage.build_topic_map(
        Path(track_topics.path),
        Path(lyrics.path),
        Path(clean.path),
        lcfg,
        tcfg,
        Path(topics.path),
        out,
    )
    get_run_logger().info("topic map quality: %s", quality)
    return {"refs": Catalogue(data_dir).register_many(out), "quality": quality}
