"""The topic stage's pure steps on files: read the lyrics table, sweep chunks, final model.

Each function takes paths and typed configs and writes its outputs atomically; the Prefect
tasks in :mod:`moodrec.tasks.topics` are thin wrappers around them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec.errors import InputDataError
from moodrec.storage import write_json_atomic, write_parquet_atomic, write_text_atomic
from moodrec.text.config import LyricsConfig
from moodrec.topics.config import TopicsConfig
from moodrec.topics.corpus import TopicCorpus, build_corpus
from moodrec.topics.embedding import embed_topics, word2vec_centroids
from moodrec.topics.lda import (
    SweepPoint,
    best_k,
    document_topics,
    fit_lda,
    run_sweep,
    select_model,
    sweep_plan,
    topic_tables,
    topic_word_frame,
)
from moodrec.topics.views import sweep_markdown, topic_map_html, topic_view_html

logger = logging.getLogger(__name__)

LYRICS_COLUMNS = ("track_id", "text", "source")


def read_lyrics_table(cfg: LyricsConfig, sandbox_truth: Path | None = None) -> pd.DataFrame:
    """The lyrics input table: ``track_id``, ``text``, ``source`` (+ ``language``, ``valence``).

    ``sandbox``: the world's raw (artifact-laden) lyrics; the language is *not* taken from
    the truth (the stage detects it); ``valence`` comes from the world's audio features (the
    stand-in for the audio-features provider) and only colours the map. ``file``: Parquet,
    CSV or JSON with at least ``track_id`` and ``text``.

    Raises
    ------
    InputDataError
        Missing file or columns.
    """
    if cfg.source == "sandbox":
        if sandbox_truth is None:
            raise InputDataError("lyrics source is 'sandbox' but no sandbox world was given")
        raw = pd.read_parquet(sandbox_truth / "lyrics.parquet", columns=["track_id", "raw"])
        out = pd.DataFrame(
            {"track_id": raw["track_id"].astype(np.int64), "text": raw["raw"], "source": "sandbox"}
        )
        tracks_path = sandbox_truth / "tracks.parquet"
        if tracks_path.is_file():
            val = pd.read_parquet(tracks_path, columns=["track_id", "valence"])
            out = out.merge(val.astype({"track_id": np.int64}), on="track_id", how="left")
        return out
    path = Path(cfg.path)  # validated: required for source == "file"
    if not path.is_file():
        raise InputDataError(f"lyrics file {path} does not exist")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif path.suffix == ".csv":
        frame = pd.read_csv(path)
    elif path.suffix in {".json", ".jsonl"}:
        frame = pd.read_json(path, lines=path.suffix == ".jsonl")
    else:
        raise InputDataError(f"lyrics file {path}: unsupported format (parquet, csv, json)")
    missing = {"track_id", "text"} - set(frame.columns)
    if missing:
        raise InputDataError(f"lyrics file {path} lacks column(s) {sorted(missing)}")
    keep = [c for c in ("track_id", "text", "source", "language", "valence") if c in frame]
    out = frame[keep].copy()
    if "source" not in out:
        out["source"] = path.name
    return out


def corpus_from_clean(clean_path: Path, lcfg: LyricsConfig) -> TopicCorpus:
    """Build the English (``ok``) corpus from ``lyrics_clean.parquet``."""
    clean = pd.read_parquet(clean_path, columns=["track_id", "status", "language", "tokens"])
    ok = clean[(clean["status"] == "ok") & (clean["language"] == "en")]
    return build_corpus(ok["track_id"].to_numpy(), [list(t) for t in ok["tokens"]], lcfg)


def sweep_points(tcfg: TopicsConfig, stage: int, previous: list[Path]) -> list[SweepPoint]:
    """Points of sweep ``stage`` (1, or 2 = priors at the best k of stage-1 results)."""
    if stage == 1:
        return sweep_plan(tcfg)
    first = pd.concat([pd.read_parquet(p) for p in previous], ignore_index=True)
    return sweep_plan(tcfg, best_k=best_k(first, tcfg))


def chunk_points(points: list[SweepPoint], n_chunks: int, chunk: int) -> list[SweepPoint]:
    """Round-robin share ``chunk`` of ``n_chunks`` (balances small and large k)."""
    return points[chunk::n_chunks]


def run_sweep_chunk(
    clean_path: Path, lcfg: LyricsConfig, tcfg: TopicsConfig, points: list[SweepPoint], out: Path
) -> Path:
    """Fit and score ``points`` and write their sweep rows to ``out`` (Parquet)."""
    corpus = corpus_from_clean(clean_path, lcfg)
    if len(corpus.bow) < tcfg.min_docs:
        raise InputDataError(
            f"topics: {len(corpus.bow)} modelled documents, fewer than min_docs={tcfg.min_docs}"
        )
    table = run_sweep(corpus, points, tcfg) if points else pd.DataFrame()
    return write_parquet_atomic(table, out)


def fit_final(
    clean_path: Path,
    sweep_paths: list[Path],
    lcfg: LyricsConfig,
    tcfg: TopicsConfig,
    out: dict[str, Path],
) -> dict[str, Any]:
    """Choose the model from the sweep, refit it on every document and write its outputs.

    ``out`` maps ``topics_sweep``, ``topics_sweep_md``, ``topics_view``, ``lda_model``,
    ``lda_dictionary``, ``topics``, ``topic_words``, ``topic_word_matrix``,
    ``track_topics`` to target paths. Returns a summary dict.
    """
    frames = [pd.read_parquet(p) for p in sweep_paths]
    sweep = pd.concat([f for f in frames if len(f)], ignore_index=True)
    sweep = sweep.sort_values(["k", "alpha", "eta"], kind="stable").reset_index(drop=True)
    chosen = select_model(sweep, tcfg)
    sweep["chosen"] = sweep["model"] == chosen.name
    corpus = corpus_from_clean(clean_path, lcfg)
    model = fit_lda(corpus.bow, corpus, chosen, tcfg)
    theta = document_topics(model, corpus.bow)
    topics, words = topic_tables(model, theta, tcfg)
    tracks = pd.DataFrame({"track_id": corpus.track_ids})
    for t in range(theta.shape[1]):
        tracks[f"topic_{t}"] = theta[:, t]
    tracks["dominant_topic"] = theta.argmax(axis=1).astype(np.int32)

    write_parquet_atomic(sweep, out["topics_sweep"])
    write_text_atomic(out["topics_sweep_md"], sweep_markdown(sweep, chosen.name))
    out["lda_model"].parent.mkdir(parents=True, exist_ok=True)
    model.save(str(out["lda_model"]))  # gensim SaveLoad: arrays as .npy beside the model
    corpus.dictionary.save_as_text(str(out["lda_dictionary"]))
    write_parquet_atomic(topics, out["topics"])
    write_parquet_atomic(words, out["topic_words"])
    write_parquet_atomic(topic_word_frame(model), out["topic_word_matrix"])
    write_parquet_atomic(tracks, out["track_topics"])
    write_text_atomic(
        out["topics_view"], topic_view_html(topics, words, f"LDA topics ({chosen.name})")
    )
    row = sweep.loc[sweep["chosen"]].iloc[0]
    return {
        "chosen_model": chosen.name,
        "k": chosen.k,
        "alpha": chosen.alpha,
        "eta": chosen.eta,
        "c_v": float(row["c_v"]),
        "c_npmi": float(row["c_npmi"]),
        "log_perplexity": float(row["log_perplexity"]),
        "n_models_swept": len(sweep),
        "n_documents": len(corpus.bow),
        "n_terms": len(corpus.dictionary),
        "labels": dict(zip(topics["topic_id"].astype(int), topics["label"], strict=True)),
    }


def build_topic_map(
    track_topics: Path,
    lyrics_input: Path,
    clean_path: Path,
    lcfg: LyricsConfig,
    tcfg: TopicsConfig,
    topics_path: Path,
    out: dict[str, Path],
) -> dict[str, Any]:
    """Embed tracks from topic space, measure the map and write Parquet + HTML.

    ``out`` maps ``topic_map``, ``topic_map_topics``, ``topic_map_html`` (and
    ``word2vec_map`` when ``tcfg.word2vec``).
    """
    tt = pd.read_parquet(track_topics)
    cols = [c for c in tt.columns if c.startswith("topic_")]
    theta = tt[cols].to_numpy()
    result = embed_topics(tt["track_id"].to_numpy(), theta, tcfg)
    tracks = result.tracks
    lyrics = pd.read_parquet(lyrics_input)
    if "valence" in lyrics.columns:
        tracks = tracks.merge(lyrics[["track_id", "valence"]], on="track_id", how="left")
    labels = dict(
        zip(
            *(pd.read_parquet(topics_path, columns=["topic_id", "label"]).to_numpy().T), strict=True
        )
    )
    labels = {int(k): str(v) for k, v in labels.items()}
    write_parquet_atomic(tracks, out["topic_map"])
    write_parquet_atomic(result.topics, out["topic_map_topics"])
    q = result.quality
    title = (
        f"Topic map ({q['method']}, {q['n_points']} tracks): trustworthiness "
        f"{q['trustworthiness']:.3f}, {q['k']}-NN preservation "
        f"{q['neighbourhood_preservation']:.3f}"
    )
    write_text_atomic(out["topic_map_html"], topic_map_html(tracks, result.topics, labels, title))
    quality: dict[str, Any] = {"topic_space": q}
    if tcfg.word2vec and "word2vec_map" in out:
        corpus = corpus_from_clean(clean_path, lcfg)
        idx = np.searchsorted(corpus.track_ids, tracks["track_id"].to_numpy())
        vecs = word2vec_centroids([corpus.docs[i] for i in idx], tcfg)
        w2v = embed_topics(tracks["track_id"].to_numpy(), _simplex(vecs), tcfg)
        write_parquet_atomic(w2v.tracks, out["word2vec_map"])
        quality["word2vec_centroids"] = w2v.quality
    return quality


def _simplex(vecs: np.ndarray) -> np.ndarray:
    """Shift/scale centroid vectors to non-negative rows summing to 1 (for the same map code)."""
    shifted = vecs - vecs.min() + 1e-9
    return shifted / shifted.sum(axis=1, keepdims=True)


def write_cleaning_outputs(frame: pd.DataFrame, report: dict, out: dict[str, Path]) -> None:
    """Write ``lyrics_clean`` (Parquet) and its report (JSON)."""
    write_parquet_atomic(frame, out["lyrics_clean"])
    write_json_atomic(out["lyrics_cleaning_report"], report)
