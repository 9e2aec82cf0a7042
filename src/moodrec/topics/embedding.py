"""Continuous topic embedding: a 2-D map of tracks (and topics) from topic space.

Tracks are placed by t-SNE (or metric MDS) over their topic vectors using the Hellinger
distance (Euclidean distance between square-root vectors, a metric on the simplex); topics
sit at the theta-weighted mean position of their tracks. Quality is the scikit-learn
trustworthiness of the map (1 = every map neighbour is a topic-space neighbour) and the
mean overlap of k-nearest-neighbour sets (neighbourhood preservation).

The second, word-level map places each track at the mean Word2Vec vector of its tokens
(Word2Vec trained on the cleaned corpus, :func:`word2vec_centroids`) in cosine geometry
(centred vectors scaled to unit length); its quality is measured against that space.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.manifold import MDS, TSNE, trustworthiness
from sklearn.neighbors import NearestNeighbors

from moodrec.errors import InputDataError
from moodrec.topics.config import TopicsConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicMap:
    """Result of :func:`embed_topics`.

    Attributes
    ----------
    tracks
        ``track_id``, ``x``, ``y``, ``dominant_topic``, ``dominant_weight`` (sampled tracks).
    topics
        ``topic_id``, ``x``, ``y``.
    quality
        ``method``, ``n_points``, ``trustworthiness``, ``neighbourhood_preservation``, ``k``.
    """

    tracks: pd.DataFrame
    topics: pd.DataFrame
    quality: dict[str, Any]


def neighbourhood_preservation(high: np.ndarray, low: np.ndarray, k: int) -> float:
    """Mean Jaccard-free overlap |kNN_high ∩ kNN_low| / k over points."""
    k = min(k, len(high) - 1)
    if k < 1:
        return float("nan")
    a = NearestNeighbors(n_neighbors=k + 1).fit(high).kneighbors(return_distance=False)[:, 1:]
    b = NearestNeighbors(n_neighbors=k + 1).fit(low).kneighbors(return_distance=False)[:, 1:]
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def embed_vectors(vectors: np.ndarray, cfg: TopicsConfig) -> np.ndarray:
    """2-D coordinates of ``vectors`` (rows), seeded t-SNE or MDS."""
    n = len(vectors)
    if cfg.embed_method == "tsne" and n > 5:
        perplexity = min(cfg.tsne_perplexity, (n - 1) / 3)
        model = TSNE(
            n_components=2,
            perplexity=perplexity,
            init="pca",
            random_state=cfg.seed,
            metric="euclidean",
        )
        return model.fit_transform(vectors)
    return MDS(
        n_components=2, random_state=cfg.seed, n_init=1, normalized_stress="auto"
    ).fit_transform(vectors)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean length (zero rows stay zero), a new array."""
    v = np.asarray(vectors, dtype=np.float64)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def centred_unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Remove the mean of the non-zero rows, then scale rows to unit length; a new array.

    Averaged word vectors share one large common direction (frequent words, training
    drift), which makes every pair of centroids nearly parallel (cosine > 0.99 on small
    corpora); subtracting the mean leaves the directions that tell documents apart. Zero rows
    (documents without a learned word) stay zero.
    """
    v = np.asarray(vectors, dtype=np.float64)
    has = np.any(v != 0, axis=1)
    out = np.zeros_like(v)
    if has.any():
        out[has] = v[has] - v[has].mean(axis=0)
    return unit_rows(out)


def embed_topics(
    track_ids: np.ndarray,
    theta: np.ndarray,
    cfg: TopicsConfig,
    space: np.ndarray | None = None,
) -> TopicMap:
    """Map tracks by their topic vectors and measure how faithful the map is.

    Parameters
    ----------
    track_ids
        Shape ``(n,)``.
    theta
        Shape ``(n, k)``: topic vectors, rows sum to 1 (dominant topic, topic positions, and
        the mapped space unless ``space`` is given).
    cfg
        ``embed_method``, ``embed_max_points`` (seeded sample above it), ``embed_neighbours``.
    space
        Optional shape ``(n, d)``: vectors to map instead of the topic vectors, e.g. Word2Vec
        centroids; they are centred and scaled to unit length (:func:`centred_unit_rows`,
        cosine geometry) and the quality is measured in that space. ``None`` maps
        ``sqrt(theta)`` (Hellinger geometry).

    Raises
    ------
    InputDataError
        Fewer than 3 tracks, or shapes disagree.
    """
    if len(theta) != len(track_ids) or len(theta) < 3:
        raise InputDataError(f"topic map needs >= 3 tracks with topic vectors (got {len(theta)})")
    if space is not None and len(space) != len(theta):
        raise InputDataError(f"map space has {len(space)} rows for {len(theta)} tracks")
    rng = np.random.default_rng(cfg.seed)
    idx = np.arange(len(theta))
    if len(idx) > cfg.embed_max_points:
        idx = np.sort(rng.choice(idx, size=cfg.embed_max_points, replace=False))
    # Hellinger geometry for topic vectors, cosine geometry for other vectors
    high = np.sqrt(theta[idx]) if space is None else centred_unit_rows(np.asarray(space)[idx])
    low = embed_vectors(high, cfg)
    k = min(cfg.embed_neighbours, (len(idx) - 1) // 2)
    quality = {
        "space": "hellinger_topics" if space is None else "cosine_vectors",
        "method": cfg.embed_method if len(idx) > 5 else "mds",
        "n_points": len(idx),
        "k": int(k),
        "trustworthiness": float(trustworthiness(high, low, n_neighbors=max(k, 1))),
        "neighbourhood_preservation": neighbourhood_preservation(high, low, k),
    }
    w = theta[idx]
    centres = (w.T @ low) / np.maximum(w.sum(axis=0), 1e-12)[:, None]
    tracks = pd.DataFrame(
        {
            "track_id": np.asarray(track_ids)[idx],
            "x": low[:, 0],
            "y": low[:, 1],
            "dominant_topic": w.argmax(axis=1).astype(np.int32),
            "dominant_weight": w.max(axis=1),
        }
    )
    topics = pd.DataFrame(
        {
            "topic_id": np.arange(theta.shape[1], dtype=np.int32),
            "x": centres[:, 0],
            "y": centres[:, 1],
        }
    )
    logger.info("topic map: %s", quality)
    return TopicMap(tracks=tracks, topics=topics, quality=quality)


def word2vec_centroids(docs: list[list[str]], cfg: TopicsConfig) -> np.ndarray:
    """Mean Word2Vec vector of each document (Word2Vec trained on ``docs``, one worker, seeded).

    Words seen fewer than twice are not learned. Single-threaded with ``cfg.seed``, so a run
    reproduces exactly.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(docs), cfg.word2vec_dim)``; zero rows for documents without a learned
        word.

    Raises
    ------
    InputDataError
        When no document has a word seen at least twice (nothing to learn).
    """
    from gensim.models import Word2Vec

    counts: dict[str, int] = {}
    for doc in docs:
        for w in doc:
            counts[w] = counts.get(w, 0) + 1
    if not any(c >= 2 for c in counts.values()):
        raise InputDataError("Word2Vec centroids need a word that occurs at least twice")
    model = Word2Vec(
        sentences=docs,
        vector_size=cfg.word2vec_dim,
        window=5,
        min_count=2,
        workers=1,
        seed=cfg.seed,
        epochs=5,
    )
    out = np.zeros((len(docs), cfg.word2vec_dim))
    for i, doc in enumerate(docs):
        known = [w for w in doc if w in model.wv.key_to_index]
        if known:
            out[i] = model.wv[known].mean(axis=0)
    return out
