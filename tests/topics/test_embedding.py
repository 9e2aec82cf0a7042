"""The continuous topic maps: Word2Vec centroids, map determinism and map quality."""

from __future__ import annotations

import numpy as np
import pytest

from moodrec.errors import InputDataError
from moodrec.topics.config import TopicsConfig
from moodrec.topics.embedding import (
    centred_unit_rows,
    embed_topics,
    neighbourhood_preservation,
    unit_rows,
    word2vec_centroids,
)

CFG = TopicsConfig(word2vec_dim=16, tsne_perplexity=8, embed_neighbours=5)
THEMES = (
    ["love", "heart", "kiss", "darling", "tender", "hold", "forever", "sweet", "honey", "arms"],
    ["road", "drive", "highway", "engine", "wheel", "mile", "truck", "speed", "gas", "lane"],
    ["tears", "alone", "goodbye", "broken", "cry", "lonely", "gone", "miss", "empty", "cold"],
)


def _corpus(n_docs: int = 90, seed: int = 0) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    """Documents mostly from one of three disjoint word themes, their theme and topic mix."""
    rng = np.random.default_rng(seed)
    docs, theme, theta = [], np.arange(n_docs) % len(THEMES), []
    for t in theme:
        other = (t + 1) % len(THEMES)
        docs.append(list(rng.choice(THEMES[t], 30)) + list(rng.choice(THEMES[other], 3)))
        mix = np.full(len(THEMES), 0.02)
        mix[t], mix[other] = 0.86, 0.12
        theta.append(mix)
    return docs, theme, np.asarray(theta)


def test_centroids_shape_deterministic_and_zero_for_unknown_words() -> None:
    docs, _, _ = _corpus()
    docs = [*docs, ["hapax"], []]  # a word seen once is not learned; an empty document
    a = word2vec_centroids(docs, CFG)
    b = word2vec_centroids(docs, CFG)
    assert a.shape == (len(docs), 16)
    np.testing.assert_array_equal(a, b)
    assert np.all(a[-2:] == 0.0)
    assert np.all(np.linalg.norm(a[:-2], axis=1) > 0)


def test_centred_centroids_separate_word_themes() -> None:
    docs, theme, _ = _corpus()
    raw = word2vec_centroids(docs, CFG)
    same = theme[:, None] == theme[None, :]
    off_diag = ~np.eye(len(docs), dtype=bool)
    # raw centroids share one dominant direction: every pair is nearly parallel
    plain = unit_rows(raw) @ unit_rows(raw).T
    assert plain[~same].mean() > 0.9
    v = centred_unit_rows(raw)
    sim = v @ v.T
    assert sim[same & off_diag].mean() > 0.5 > 0.0 > sim[~same].mean()


def test_centroids_need_a_repeated_word() -> None:
    with pytest.raises(InputDataError, match="at least twice"):
        word2vec_centroids([["a", "b"], ["c"]], CFG)


def test_word2vec_map_runs_is_seeded_and_measures_quality() -> None:
    docs, theme, theta = _corpus()
    vecs = word2vec_centroids(docs, CFG)
    ids = np.arange(len(docs))
    a = embed_topics(ids, theta, CFG, space=vecs)
    b = embed_topics(ids, theta, CFG, space=vecs)
    np.testing.assert_array_equal(a.tracks[["x", "y"]].to_numpy(), b.tracks[["x", "y"]].to_numpy())
    q = a.quality
    assert q["space"] == "cosine_vectors"
    assert q["n_points"] == len(docs)
    assert 0.0 <= q["neighbourhood_preservation"] <= 1.0
    assert 0.5 <= q["trustworthiness"] <= 1.0
    # the map keeps themes apart: a track's nearest map neighbour mostly shares its theme
    xy = a.tracks[["x", "y"]].to_numpy()
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(len(xy)) * 1e9
    assert (theme[d.argmin(axis=1)] == theme).mean() > 0.8
    # the dominant topic still comes from theta, and topics sit among their tracks
    assert (a.tracks["dominant_topic"].to_numpy() == theme).all()
    assert len(a.topics) == len(THEMES)
    assert a.quality != embed_topics(ids, theta, CFG).quality  # a different space is measured


def test_map_space_must_match_tracks() -> None:
    _, _, theta = _corpus(12)
    with pytest.raises(InputDataError, match="rows"):
        embed_topics(np.arange(12), theta, CFG, space=np.ones((11, 4)))


def test_neighbourhood_preservation_bounds() -> None:
    rng = np.random.default_rng(0)
    high = rng.normal(size=(60, 5))
    assert neighbourhood_preservation(high, high.copy(), 5) == 1.0
    shuffled = high[rng.permutation(60)]
    assert 0.0 <= neighbourhood_preservation(high, shuffled[:, :2], 5) < 0.5
    assert np.isnan(neighbourhood_preservation(high[:1], high[:1], 5))


def test_unit_rows_keep_zero_rows() -> None:
    v = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(v, [[0.6, 0.8], [0.0, 0.0]])
    c = centred_unit_rows(np.array([[1.0, 2.0], [3.0, 2.0], [0.0, 0.0]]))
    np.testing.assert_allclose(c, [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
