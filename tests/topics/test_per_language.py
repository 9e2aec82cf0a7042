"""per_language topic modelling: one model per language above min_docs, the rest reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.errors import InputDataError
from moodrec.text.config import LyricsConfig
from moodrec.topics import stage
from moodrec.topics.config import TopicsConfig
from moodrec.topics.lda import SweepPoint, sweep_plan, topic_column

# two planted topics per language, disjoint vocabularies
WORDS = {
    "en": (
        ["love", "heart", "kiss", "darling", "baby", "forever", "tender", "hold"],
        ["road", "drive", "highway", "engine", "wheel", "mile", "truck", "speed"],
    ),
    "es": (
        ["amor", "corazon", "beso", "querida", "vida", "siempre", "alma", "cielo"],
        ["fiesta", "bailar", "noche", "musica", "ritmo", "calle", "cantar", "luna"],
    ),
    "de": (["liebe", "herz", "nacht", "traum", "stadt", "strasse", "regen", "wind"],),
}
N_DOCS = {"en": 40, "es": 30, "de": 5}

LC = LyricsConfig(language_mode="per_language", phrase_rounds=0, min_doc_tokens=1, no_above=0.95)
TC = TopicsConfig(
    k_values=(2, 3),
    alphas=("symmetric", "asymmetric"),
    etas=("symmetric",),
    other_k_values=(2, 3),
    passes=3,
    iterations=50,
    min_docs=10,
    heldout_fraction=0.1,
    tsne_perplexity=5,
)


def _clean_frame(seed: int = 0) -> pd.DataFrame:
    """A ``lyrics_clean``-like table: each document mostly from one planted topic."""
    rng = np.random.default_rng(seed)
    rows, tid = [], 0
    for lang, n in N_DOCS.items():
        topics = WORDS[lang]
        for i in range(n):
            main = topics[i % len(topics)]
            other = topics[(i + 1) % len(topics)]
            tokens = list(rng.choice(main, size=25)) + list(rng.choice(other, size=3))
            rows.append({"track_id": tid, "status": "ok", "language": lang, "tokens": tokens})
            tid += 1
    rows.append({"track_id": tid, "status": "ok", "language": "und", "tokens": ["xx", "yy"]})
    rows.append({"track_id": tid + 1, "status": "empty", "language": "und", "tokens": []})
    frame = pd.DataFrame(rows)
    frame["valence"] = rng.random(len(frame))
    return frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("per_language")
    frame = _clean_frame()
    clean = root / "lyrics_clean.parquet"
    frame.drop(columns="valence").to_parquet(clean)
    lyrics = root / "lyrics_input.parquet"
    frame[["track_id", "valence"]].to_parquet(lyrics)
    languages, _ = stage.topic_languages(clean, LC, TC)
    sweeps = []
    for sweep_stage in (1, 2):
        points = stage.sweep_points(TC, sweep_stage, sweeps, list(languages))
        for chunk in range(2):
            mine = stage.chunk_points(points, 2, chunk)
            out = root / f"sweep_s{sweep_stage}_c{chunk}.parquet"
            sweeps.append(stage.run_sweep_chunk(clean, LC, TC, mine, out))
    names = [
        "topics_sweep",
        "topics_view",
        "lda_model",
        "lda_dictionary",
        "topics",
        "topic_words",
        "topic_word_matrix",
        "track_topics",
    ]
    out = {n: root / f"{n}.out" for n in names}
    out["topics_sweep_md"] = root / "topics_sweep.md"
    out.update(stage.language_model_paths(out, list(languages)))
    summary = stage.fit_final(clean, sweeps, LC, TC, out)
    map_out = {n: root / f"{n}.out" for n in ("topic_map", "topic_map_topics", "topic_map_html")}
    quality = stage.build_topic_map(
        out["track_topics"], lyrics, clean, LC, TC, out["topics"], map_out
    )
    return {"out": out, "summary": summary, "quality": quality, "map": map_out}


def test_languages_above_min_docs_are_modelled_the_rest_reported(tmp_path: Path) -> None:
    clean = tmp_path / "clean.parquet"
    _clean_frame().to_parquet(clean)
    modelled, skipped = stage.topic_languages(clean, LC, TC)
    assert modelled == {"en": 40, "es": 30}
    # never silently dropped; "und" is never modelled
    assert {k: v["n_documents"] for k, v in skipped.items()} == {"de": 5, "und": 1}
    assert "min_docs=10" in skipped["de"]["reason"]
    only_en, none_skipped = stage.topic_languages(clean, LyricsConfig(), TC)
    assert only_en == {"en": 40} and none_skipped == {}
    with pytest.raises(InputDataError, match="min_docs"):
        stage.topic_languages(clean, LC, TC.model_copy(update={"min_docs": 100}))


def test_language_without_discriminative_words_is_skipped(tmp_path: Path) -> None:
    """Every Spanish word in every document: filter_extremes empties the dictionary."""
    frame = _clean_frame()
    es = frame["language"] == "es"
    frame.loc[es, "tokens"] = pd.Series([["amor", "vida", "noche"] * 5] * int(es.sum())).values
    clean = tmp_path / "clean.parquet"
    frame.to_parquet(clean)
    modelled, skipped = stage.topic_languages(clean, LC, TC)
    assert list(modelled) == ["en"]
    assert skipped["es"]["n_documents"] == 30
    assert "dictionary empty" in skipped["es"]["reason"]


def test_other_languages_run_the_small_sweep_or_a_fixed_k() -> None:
    assert [p.k for p in sweep_plan(TC, language="es")] == [2, 3]
    assert sweep_plan(TC, best_k=2, language="es") == []
    fixed = sweep_plan(TC.model_copy(update={"other_k": 4}), language="es")
    assert fixed == [SweepPoint(4, "symmetric", "symmetric", "es")]
    assert fixed[0].name.startswith("es:") and not SweepPoint(4, "a", "b").name.startswith("en")


def test_each_language_gets_its_own_model(fitted: dict) -> None:
    out, summary = fitted["out"], fitted["summary"]
    assert list(summary["topic_languages"]) == ["en", "es"]
    assert set(summary["skipped_languages"]) == {"de", "und"}
    assert summary["n_documents_total"] == 70
    assert summary["chosen_model"] == summary["topic_languages"]["en"]["chosen_model"]
    for lang, s in summary["topic_languages"].items():
        assert s["k"] == 2, (lang, s)  # the planted number of topics
    assert out["lda_model"].is_file() and out["lda_model_es"].is_file()
    assert out["lda_dictionary_es"].read_text().count("corazon") == 1

    topics = pd.read_parquet(out["topics"])
    assert set(topics["topic_key"]) == {"en:0", "en:1", "es:0", "es:1"}
    es_words = set(pd.read_parquet(out["topic_words"]).query("language == 'es'")["word"])
    assert es_words <= set(WORDS["es"][0] + WORDS["es"][1])
    matrix = pd.read_parquet(out["topic_word_matrix"])
    assert set(matrix["language"]) == {"en", "es"}

    sweep = pd.read_parquet(out["topics_sweep"])
    assert sweep.groupby("language")["chosen"].sum().to_dict() == {"en": 1, "es": 1}
    assert (sweep["language"] == "es").sum() == 2  # k 2, 3 with the first priors only
    assert "es:" in out["topics_sweep_md"].read_text()


def test_track_topic_rows_sum_to_one_per_language(fitted: dict) -> None:
    tt = pd.read_parquet(fitted["out"]["track_topics"])
    assert len(tt) == 70 and tt["track_id"].is_monotonic_increasing
    assert tt["language"].value_counts().to_dict() == {"en": 40, "es": 30}
    cols = [c for c in tt.columns if c.startswith("topic_")]
    assert cols == [topic_column(lang, t) for lang in ("en", "es") for t in range(2)]
    np.testing.assert_allclose(tt[cols].sum(axis=1), 1.0, atol=1e-9)
    es = tt[tt["language"] == "es"]
    assert (es[["topic_0", "topic_1"]] == 0).all().all()
    assert es["dominant_topic_key"].str.startswith("es:").all()
    # each planted topic ends up dominated by one fitted topic
    planted = (es["track_id"] - es["track_id"].min()) % 2
    assert pd.crosstab(planted, es["dominant_topic"]).gt(0).sum(axis=1).eq(1).all()


def test_map_spans_every_language(fitted: dict) -> None:
    mapped = pd.read_parquet(fitted["map"]["topic_map"])
    assert set(mapped["language"]) == {"en", "es"} and "valence" in mapped
    topics = pd.read_parquet(fitted["map"]["topic_map_topics"])
    assert topics["topic_column"].tolist()[-1] == "topic_es_1"
    assert 0 < fitted["quality"]["topic_space"]["trustworthiness"] <= 1
    assert "es:1" in fitted["map"]["topic_map_html"].read_text()
    json.dumps(fitted["summary"])  # the summary is plain JSON for artifacts


def test_word2vec_map_is_written_and_measured(fitted: dict, tmp_path: Path) -> None:
    tc = TC.model_copy(update={"word2vec": True, "word2vec_dim": 8})
    names = ("topic_map", "topic_map_topics", "topic_map_html", "word2vec_map", "word2vec_map_html")
    map_out = {n: tmp_path / f"{n}.out" for n in names}
    out = fitted["out"]
    clean = out["track_topics"].parent / "lyrics_clean.parquet"
    lyrics = out["track_topics"].parent / "lyrics_input.parquet"
    quality = stage.build_topic_map(
        out["track_topics"], lyrics, clean, LC, tc, out["topics"], map_out
    )
    w2v = quality["word2vec_centroids"]
    assert w2v["space"] == "cosine_vectors"
    assert quality["topic_space"]["space"] == "hellinger_topics"
    assert 0 < w2v["trustworthiness"] <= 1 and 0 <= w2v["neighbourhood_preservation"] <= 1
    mapped = pd.read_parquet(map_out["word2vec_map"])
    topic_mapped = pd.read_parquet(map_out["topic_map"])
    assert mapped["track_id"].tolist() == topic_mapped["track_id"].tolist()
    assert np.isfinite(mapped[["x", "y"]].to_numpy()).all()
    assert mapped["valence"].notna().all()
    assert "Word2Vec-centroid map" in map_out["word2vec_map_html"].read_text()
