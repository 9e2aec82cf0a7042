"""The topic stage's pure steps on files: read the lyrics table, sweep chunks, final model.

Each function takes paths and typed configs and writes its outputs atomically; the Prefect
tasks in :mod:`moodrec.tasks.topics` are thin wrappers around them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec.content.config import ContentConfig, ContentSource
from moodrec.domain import topic_share_columns
from moodrec.errors import InputDataError, ModelFitError
from moodrec.storage import (
    StagedOutputs,
    stage_outputs,
    with_stage_outputs,
    write_parquet_atomic,
)
from moodrec.text.cleaning import UNDETERMINED
from moodrec.text.config import LyricsConfig
from moodrec.topics.config import TopicsConfig
from moodrec.topics.corpus import TopicCorpus, build_corpus
from moodrec.topics.embedding import embed_topics, word2vec_centroids
from moodrec.topics.lda import (
    PRIMARY_LANGUAGE,
    SweepPoint,
    best_k,
    document_topics,
    fit_lda,
    run_sweep,
    select_model,
    sweep_jobs,
    sweep_plan,
    topic_column,
    topic_key,
    topic_tables,
    topic_word_frame,
)
from moodrec.topics.views import sweep_markdown, topic_map_html, topic_view_html

logger = logging.getLogger(__name__)

LYRICS_COLUMNS = ("track_id", "text", "source")


def read_lyrics_table(
    cfg: LyricsConfig,
    sandbox_truth: Path | None = None,
    enrich: Mapping[str, Path] | None = None,
    content: ContentConfig | None = None,
) -> pd.DataFrame:
    """The lyrics input table: ``track_id``, ``text``, ``source`` (+ ``language``, ``valence``).

    ``sandbox``: the world's raw (artifact-laden) lyrics; the language is *not* taken from
    the truth (the stage detects it); ``valence`` comes from the world's audio features (the
    stand-in for the audio-features provider) and only colours the map. ``file``: Parquet,
    CSV or JSON with ``track_id`` and ``text``, or without ``track_id``: artist + title (+ ids)
    and a lyrics column, linked to the catalogue's tracks (``enrich["tracks"]``) by the content
    join (:mod:`moodrec.content`, thresholds from ``content``). ``enrich``: the enrich stage's
    ``lyrics_raw`` (and ``track_features`` for valence), paths given in ``enrich``.

    Raises
    ------
    InputDataError
        Missing file or columns.
    """
    if cfg.source == "enrich":
        if enrich is None or "lyrics_raw" not in enrich:
            raise InputDataError("lyrics source 'enrich' needs the enrich stage's lyrics_raw")
        from moodrec.enrich.outputs import lyrics_from_enrich  # (imports the providers)

        return lyrics_from_enrich(enrich["lyrics_raw"], enrich.get("track_features"))
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
    if "track_id" not in frame.columns:
        return _link_lyrics_file(path, (enrich or {}).get("tracks"), content)
    missing = {"track_id", "text"} - set(frame.columns)
    if missing:
        raise InputDataError(f"lyrics file {path} lacks column(s) {sorted(missing)}")
    keep = [c for c in ("track_id", "text", "source", "language", "valence") if c in frame]
    out = frame[keep].copy()
    if "source" not in out:
        out["source"] = path.name
    return out


def _link_lyrics_file(
    path: Path, tracks_path: Path | None, content: ContentConfig | None
) -> pd.DataFrame:
    """A lyrics file keyed by artist + title (or ids) linked to the catalogue's tracks."""
    from moodrec.content.join import catalogue_frame, join_source
    from moodrec.content.sources import read_source

    if tracks_path is None or not Path(tracks_path).is_file():
        raise InputDataError(
            f"lyrics file {path} has no track_id column, so it is linked to the catalogue by "
            "artist + title, but there is no catalogue tracks table: run the ingest stage first"
        )
    cfg = content if content is not None else ContentConfig()
    table = read_source(ContentSource(name="lyrics_file", kind="lyrics", path=path))
    joined = join_source(catalogue_frame(pd.read_parquet(tracks_path), None), table, cfg)
    text = joined["text"]
    ok = text.notna() & (text.astype("string").str.strip() != "").fillna(False)
    linked = joined[ok.to_numpy(dtype=bool)]
    if linked.empty:
        raise InputDataError(
            f"lyrics file {path}: none of its {len(table.frame)} rows matched a catalogue track "
            f"by artist + title (fuzzy threshold {cfg.title_threshold:g})"
        )
    logger.info(
        "lyrics file %s: %d of %d catalogue tracks linked (%d exact, %d fuzzy)",
        path.name,
        len(linked),
        len(joined),
        int((linked["match_key"] != "fuzzy").sum()),
        int((linked["match_key"] == "fuzzy").sum()),
    )
    return pd.DataFrame(
        {
            "track_id": linked["track_id"].astype(np.int64).to_numpy(),
            "text": linked["text"].astype(str).to_numpy(),
            "source": path.name,
        }
    )


def topic_languages(
    clean_path: Path, lcfg: LyricsConfig, tcfg: TopicsConfig
) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """Which languages get a topic model: ``(modelled, skipped)``.

    ``modelled`` maps language → documents (``ok`` rows of ``lyrics_clean``), English
    first, then by code. ``english_only``: English alone (its size is checked where its
    corpus is built), nothing skipped here (cleaning reports the excluded languages).
    ``per_language``: every language with at least ``tcfg.min_docs`` documents whose
    dictionary keeps some words after ``filter_extremes``; every other language is in
    ``skipped`` as ``{"n_documents": n, "reason": ...}`` (below ``min_docs``, undetermined
    ``und``, or an empty dictionary: no word is both frequent and discriminative), never
    dropped silently.

    Raises
    ------
    InputDataError
        ``per_language`` and no language can be modelled.
    """
    clean = pd.read_parquet(clean_path, columns=["track_id", "status", "language", "tokens"])
    ok = clean[clean["status"] == "ok"]
    counts = {str(k): int(v) for k, v in sorted(ok["language"].astype(str).value_counts().items())}
    if lcfg.language_mode == "english_only":
        return {PRIMARY_LANGUAGE: counts.get(PRIMARY_LANGUAGE, 0)}, {}
    modelled: dict[str, int] = {}
    skipped: dict[str, dict[str, Any]] = {}
    for lang, n in counts.items():
        reason = None
        if lang == UNDETERMINED:
            reason = "language undetermined"
        elif n < tcfg.min_docs:
            reason = f"fewer than min_docs={tcfg.min_docs} documents"
        elif lang != PRIMARY_LANGUAGE:  # English keeps raising: it is the stage's main model
            sub = ok[ok["language"] == lang]
            try:
                build_corpus(sub["track_id"].to_numpy(), list(sub["tokens"]), lcfg, lang)
            except InputDataError as exc:
                reason = str(exc)
        if reason is None:
            modelled[lang] = n
        else:
            skipped[lang] = {"n_documents": n, "reason": reason}
    if not modelled:
        raise InputDataError(f"topics: no language can be modelled: {skipped}")
    if skipped:
        logger.warning("topics: languages not modelled: %s", skipped)
    order = sorted(modelled, key=lambda lang: (lang != PRIMARY_LANGUAGE, lang))
    return {lang: modelled[lang] for lang in order}, skipped


def corpus_from_clean(
    clean_path: Path, lcfg: LyricsConfig, language: str = PRIMARY_LANGUAGE
) -> TopicCorpus:
    """Build one language's (``ok``) corpus from ``lyrics_clean.parquet``."""
    clean = pd.read_parquet(clean_path, columns=["track_id", "status", "language", "tokens"])
    ok = clean[(clean["status"] == "ok") & (clean["language"] == language)]
    return build_corpus(ok["track_id"].to_numpy(), [list(t) for t in ok["tokens"]], lcfg, language)


def sweep_points(
    tcfg: TopicsConfig,
    stage: int,
    previous: list[Path],
    languages: Sequence[str] = (PRIMARY_LANGUAGE,),
) -> list[SweepPoint]:
    """Points of sweep ``stage`` over ``languages``.

    Stage 1: every language's first (for languages other than English, only) stage. Stage 2:
    English priors at the best k of the stage-1 results in ``previous``.
    """
    if stage == 1:
        return [p for lang in languages for p in sweep_plan(tcfg, language=lang)]
    if PRIMARY_LANGUAGE not in languages:
        return []
    first = pd.concat([pd.read_parquet(p) for p in previous], ignore_index=True)
    if "language" in first.columns:
        first = first[first["language"] == PRIMARY_LANGUAGE]
    return sweep_plan(tcfg, best_k=best_k(first, tcfg))


def chunk_points(points: list[SweepPoint], n_chunks: int, chunk: int) -> list[SweepPoint]:
    """Round-robin share ``chunk`` of ``n_chunks`` (balances small and large k)."""
    return points[chunk::n_chunks]


def _checked_corpus(
    clean_path: Path, lcfg: LyricsConfig, tcfg: TopicsConfig, language: str
) -> TopicCorpus:
    corpus = corpus_from_clean(clean_path, lcfg, language)
    if len(corpus.bow) < tcfg.min_docs:
        raise InputDataError(
            f"topics ({language}): {len(corpus.bow)} modelled documents, fewer than "
            f"min_docs={tcfg.min_docs}"
        )
    return corpus


def run_sweep_chunk(
    clean_path: Path, lcfg: LyricsConfig, tcfg: TopicsConfig, points: list[SweepPoint], out: Path
) -> Path:
    """Fit and score ``points`` (any languages) and write their sweep rows to ``out`` (Parquet).

    Raises
    ------
    InputDataError
        A language of ``points`` has fewer than ``tcfg.min_docs`` documents.
    """
    if not points:
        # English-only chunks keep their check that the corpus is large enough to model
        if lcfg.language_mode == "english_only":
            _checked_corpus(clean_path, lcfg, tcfg, PRIMARY_LANGUAGE)
        return write_parquet_atomic(pd.DataFrame(), out)
    tables = []
    for language in dict.fromkeys(p.language for p in points):
        corpus = _checked_corpus(clean_path, lcfg, tcfg, language)
        mine = [p for p in points if p.language == language]
        tables.append(run_sweep(corpus, mine, tcfg, jobs=sweep_jobs(tcfg)))
    return write_parquet_atomic(pd.concat(tables, ignore_index=True), out)


def language_model_paths(out: dict[str, Path], languages: Sequence[str]) -> dict[str, Path]:
    """Model and dictionary targets of every language: ``lda_model[_<lang>]`` etc.

    English keeps ``out["lda_model"]`` and ``out["lda_dictionary"]``; another language
    ``es`` gets ``lda_es.model`` and ``dictionary_es.txt`` beside them.
    """
    paths = {}
    for lang in languages:
        if lang == PRIMARY_LANGUAGE:
            paths["lda_model"] = out["lda_model"]
            paths["lda_dictionary"] = out["lda_dictionary"]
        else:
            paths[f"lda_model_{lang}"] = out["lda_model"].with_name(f"lda_{lang}.model")
            paths[f"lda_dictionary_{lang}"] = out["lda_dictionary"].with_name(
                f"dictionary_{lang}.txt"
            )
    return paths


def _language_summary(
    sweep: pd.DataFrame, chosen: SweepPoint, corpus: TopicCorpus, topics: pd.DataFrame
) -> dict[str, Any]:
    row = sweep.loc[sweep["model"] == chosen.name].iloc[0]
    return {
        "chosen_model": chosen.name,
        "k": chosen.k,
        "alpha": chosen.alpha,
        "eta": chosen.eta,
        "c_v": float(row["c_v"]),
        "c_npmi": float(row["c_npmi"]),
        "log_perplexity": float(row["log_perplexity"]),
        "n_models_swept": int((sweep["language"] == chosen.language).sum()),
        "n_documents": len(corpus.bow),
        "n_terms": len(corpus.dictionary),
        "labels": dict(zip(topics["topic_id"].astype(int), topics["label"], strict=True)),
    }


@with_stage_outputs("topics", dirs=lambda out, **_: (p.parent for p in out.values()))
def fit_final(
    staging: StagedOutputs,
    clean_path: Path,
    sweep_paths: list[Path],
    lcfg: LyricsConfig,
    tcfg: TopicsConfig,
    out: dict[str, Path],
) -> dict[str, Any]:
    """Choose each language's model from the sweep, refit it on all its documents, write.

    ``out`` maps ``topics_sweep``, ``topics_sweep_md``, ``topics_view``, ``lda_model``,
    ``lda_dictionary``, ``topics``, ``topic_words``, ``topic_word_matrix``,
    ``track_topics`` to target paths (other languages' models go to
    :func:`language_model_paths`, or to ``out``'s entries of those names).

    Outputs are keyed by language: ``topics``, ``topic_words`` and ``topic_word_matrix``
    have ``language`` (and ``topic_key``, e.g. ``"es:3"``) columns, ``topic_id`` counts from
    0 within each language. ``track_topics`` has ``track_id``, ``language``, one column per
    (language, topic) (:func:`moodrec.topics.lda.topic_column`: ``topic_3`` for English,
    ``topic_es_3`` otherwise; a track's columns of other languages are 0, so every row sums
    to 1), ``dominant_topic`` (within the track's language) and ``dominant_topic_key``.

    Returns
    -------
    dict
        The first modelled language's (English's) chosen model, scores and labels at the top
        level as before, plus ``topic_languages`` (the same per language),
        ``skipped_languages`` (language → ``n_documents`` and ``reason``) and
        ``n_documents_total``.

    Raises
    ------
    ModelFitError
        A modelled language has no sweep rows.
    """
    languages, skipped = topic_languages(clean_path, lcfg, tcfg)
    frames = [pd.read_parquet(p) for p in sweep_paths]
    sweep = pd.concat([f for f in frames if len(f)], ignore_index=True)
    if "language" not in sweep.columns:
        sweep["language"] = PRIMARY_LANGUAGE
    lang_order = {lang: i for i, lang in enumerate(languages)}
    sweep = sweep.assign(_order=sweep["language"].map(lang_order).fillna(len(lang_order)))
    sweep = sweep.sort_values(["_order", "k", "alpha", "eta"], kind="stable")
    sweep = sweep.drop(columns="_order").reset_index(drop=True)
    sweep["chosen"] = False
    paths = {**language_model_paths(out, list(languages)), **out}
    per_language: dict[str, dict[str, Any]] = {}
    topic_frames, word_frames, matrix_frames, track_frames = [], [], [], []
    for lang in languages:
        sub = sweep.loc[sweep["language"] == lang]
        if sub.empty:
            raise ModelFitError(f"topic sweep has no models for language {lang!r}")
        chosen = select_model(sub, tcfg)
        sweep.loc[(sweep["language"] == lang) & (sweep["model"] == chosen.name), "chosen"] = True
        corpus = corpus_from_clean(clean_path, lcfg, lang)
        model = fit_lda(corpus.bow, corpus, chosen, tcfg)
        theta = document_topics(model, corpus.bow)
        topics, words = topic_tables(model, theta, tcfg, lang)
        tracks = pd.DataFrame({"track_id": corpus.track_ids, "language": lang})
        for t in range(theta.shape[1]):
            tracks[topic_column(lang, t)] = theta[:, t]
        dominant = theta.argmax(axis=1).astype(np.int32)
        tracks["dominant_topic"] = dominant
        tracks["dominant_topic_key"] = [topic_key(lang, t) for t in dominant]
        suffix = "" if lang == PRIMARY_LANGUAGE else f"_{lang}"
        # gensim SaveLoad: arrays as .npy beside the model, all moved in with the model
        model.save(str(staging.path(paths[f"lda_model{suffix}"])))
        corpus.dictionary.save_as_text(str(staging.path(paths[f"lda_dictionary{suffix}"])))
        topic_frames.append(topics)
        word_frames.append(words)
        matrix_frames.append(topic_word_frame(model, lang))
        track_frames.append(tracks)
        per_language[lang] = _language_summary(sweep, chosen, corpus, topics)
        logger.info("topics %s: %s over %d documents", lang, chosen.name, len(corpus.bow))

    topics = pd.concat(topic_frames, ignore_index=True)
    words = pd.concat(word_frames, ignore_index=True)
    topic_cols = [topic_column(r.language, r.topic_id) for r in topics.itertuples()]
    tracks = pd.concat(track_frames, ignore_index=True)
    tracks = tracks[["track_id", "language", *topic_cols, "dominant_topic", "dominant_topic_key"]]
    tracks = tracks.fillna(dict.fromkeys(topic_cols, 0.0))  # other languages: weight 0
    tracks = tracks.sort_values("track_id", kind="stable").reset_index(drop=True)

    chosen_names = sweep.loc[sweep["chosen"], "model"].tolist()
    staging.write_parquet(sweep, out["topics_sweep"])
    staging.write_text(out["topics_sweep_md"], sweep_markdown(sweep, chosen_names))
    staging.write_parquet(topics, out["topics"])
    staging.write_parquet(words, out["topic_words"])
    staging.write_parquet(pd.concat(matrix_frames, ignore_index=True), out["topic_word_matrix"])
    staging.write_parquet(tracks, out["track_topics"])
    if len(languages) == 1:
        view_topics, view_words = topics, words
    else:  # topic ids repeat across languages: show the language-qualified keys
        view_topics = topics.assign(topic_id=topics["topic_key"])
        view_words = words.assign(topic_id=words["topic_key"])
    names = [s["chosen_model"] for s in per_language.values()]  # non-English names say language
    title = f"LDA topics ({', '.join(names)})"
    staging.write_text(out["topics_view"], topic_view_html(view_topics, view_words, title))

    primary = per_language[next(iter(languages))]
    labels: dict[Any, str] = (
        dict(primary["labels"])
        if len(languages) == 1
        else {topic_key(r.language, r.topic_id): r.label for r in topics.itertuples()}
    )
    return {
        **{k: v for k, v in primary.items() if k != "labels"},
        "n_models_swept": len(sweep),
        "labels": labels,
        "language_mode": lcfg.language_mode,
        "topic_languages": {
            lang: {k: v for k, v in s.items() if k != "labels"} for lang, s in per_language.items()
        },
        "skipped_languages": skipped,
        "n_documents_total": int(sum(s["n_documents"] for s in per_language.values())),
    }


@with_stage_outputs("topic-map", dirs=lambda out, **_: (p.parent for p in out.values()))
def build_topic_map(
    staging: StagedOutputs,
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
    ``word2vec_map`` when ``tcfg.word2vec``, plus ``word2vec_map_html`` and
    ``topic_map_quality`` (the returned quality as JSON) when those keys are given). All
    are written or none (:func:`~moodrec.storage.with_stage_outputs`).
    """
    tt = pd.read_parquet(track_topics)
    cols = topic_share_columns(tt)
    # one topic space over every language's topics (block-diagonal: a track's weight lies on
    # its own language's topics), so languages form their own regions of the map
    theta = tt[cols].to_numpy()
    result = embed_topics(tt["track_id"].to_numpy(), theta, tcfg)
    tracks = result.tracks
    if "language" in tt.columns:
        tracks = tracks.merge(tt[["track_id", "language"]], on="track_id", how="left")
    lyrics = pd.read_parquet(lyrics_input)
    if "valence" in lyrics.columns:
        tracks = tracks.merge(lyrics[["track_id", "valence"]], on="track_id", how="left")
    topics = pd.read_parquet(topics_path)
    if "language" not in topics.columns:
        topics = topics.assign(language=PRIMARY_LANGUAGE)
    multi = topics["language"].nunique() > 1
    by_column = {
        topic_column(r.language, r.topic_id): (
            f"{topic_key(r.language, r.topic_id)} {r.label}" if multi else str(r.label)
        )
        for r in topics.itertuples()
    }
    labels = {i: by_column.get(c, c) for i, c in enumerate(cols)}
    map_topics = result.topics.assign(topic_column=cols)
    staging.write_parquet(tracks, out["topic_map"])
    staging.write_parquet(map_topics, out["topic_map_topics"])
    q = result.quality
    title = (
        f"Topic map ({q['method']}, {q['n_points']} tracks): trustworthiness "
        f"{q['trustworthiness']:.3f}, {q['k']}-NN preservation "
        f"{q['neighbourhood_preservation']:.3f}"
    )
    staging.write_text(out["topic_map_html"], topic_map_html(tracks, result.topics, labels, title))
    quality: dict[str, Any] = {"topic_space": q}
    if tcfg.word2vec and "word2vec_map" in out:
        docs: dict[int, list[str]] = {}
        for lang in tt["language"].unique() if "language" in tt.columns else [PRIMARY_LANGUAGE]:
            corpus = corpus_from_clean(clean_path, lcfg, str(lang))
            docs.update(zip(corpus.track_ids.tolist(), corpus.docs, strict=True))
        vecs = word2vec_centroids([docs[int(t)] for t in tracks["track_id"]], tcfg)
        # the same (sampled) tracks, mapped from their centroids in cosine geometry; the
        # topic vectors still give each point its dominant topic and the topics' positions
        sub_theta = tt.set_index("track_id").loc[tracks["track_id"], cols].to_numpy()
        w2v = embed_topics(tracks["track_id"].to_numpy(), sub_theta, tcfg, space=vecs)
        w2v_tracks = w2v.tracks
        if "valence" in tracks.columns:
            w2v_tracks = w2v_tracks.assign(valence=tracks["valence"].to_numpy())
        staging.write_parquet(w2v_tracks, out["word2vec_map"])
        if "word2vec_map_html" in out:
            wq = w2v.quality
            w2v_title = (
                f"Word2Vec-centroid map ({wq['method']}, {wq['n_points']} tracks): "
                f"trustworthiness {wq['trustworthiness']:.3f}, {wq['k']}-NN preservation "
                f"{wq['neighbourhood_preservation']:.3f}"
            )
            staging.write_text(
                out["word2vec_map_html"],
                topic_map_html(w2v_tracks, w2v.topics, labels, w2v_title),
            )
        quality["word2vec_centroids"] = w2v.quality
    if "topic_map_quality" in out:
        staging.write_json(out["topic_map_quality"], quality)
    return quality


def write_cleaning_outputs(frame: pd.DataFrame, report: dict, out: dict[str, Path]) -> None:
    """Write ``lyrics_clean`` (Parquet) and its report (JSON), both or neither."""
    paths = [out["lyrics_clean"], out["lyrics_cleaning_report"]]
    with stage_outputs(*(p.parent for p in paths), label="lyrics-clean") as staging:
        staging.write_parquet(frame, out["lyrics_clean"])
        staging.write_json(out["lyrics_cleaning_report"], report)
