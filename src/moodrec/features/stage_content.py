"""Item content features of a real log, from stage outputs only (never the sandbox truth).

Groups (the names :data:`moodrec.models.deep_config.FEATURE_GROUPS` selects by):

- ``audio``: audio features of the content join's ``features`` sources (z-scored; the first
  source that linked an item wins; a feature no source has is left out and reported);
- ``genre``: the genre stage's ``track_genre_vectors`` when given, else a multi-hot of the
  ``n_genres`` most frequent genres/tags from the content join's genre capabilities (a
  features file's artist genres, a genres file, HetRec artist tags);
- ``cluster``: one-hot of the clusters stage's ``track_clusters`` labels;
- ``topics``: the topic stage's ``track_topics`` shares;
- ``popularity``: none on a real log (play counts would leak the test split).

Items a group does not reach get the group's column means and ``available`` False, so
models and reports see which items had content (``available_<group>`` columns on disk).
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec.domain import AUDIO_FEATURES, topic_share_columns
from moodrec.features.content import GROUPS, ContentFeatures, stack_feature_blocks

logger = logging.getLogger(__name__)

Block = tuple[np.ndarray, list[str], np.ndarray]


def _empty(n: int) -> Block:
    return np.zeros((n, 0)), [], np.zeros(n, dtype=bool)


def _keyed(frame: pd.DataFrame, key: str, ids: np.ndarray, columns: list[str]) -> Block:
    """Values of ``columns`` of ``frame`` (one row per ``key``) at ``ids``."""
    src = frame.drop_duplicates(subset=[key]).set_index(key)
    idx = pd.Index(src.index.astype(np.int64)).get_indexer(ids.astype(np.int64))
    values = np.full((len(ids), len(columns)), np.nan)
    ok = idx >= 0
    if columns:
        values[ok] = src[columns].to_numpy(dtype=np.float64)[idx[ok]]
    return values, list(columns), ok & np.isfinite(values).all(1)


def _audio(ids: np.ndarray, key: str, tables: list[pd.DataFrame]) -> tuple[Block, list[str]]:
    present = [f for f in AUDIO_FEATURES if any(f in t.columns for t in tables)]
    values = np.full((len(ids), len(present)), np.nan)
    ok = np.zeros(len(ids), dtype=bool)
    for t in tables:
        cols = [f for f in present if f in t.columns]
        linked = t[t["match_key"].astype(str) != ""]
        v, _, got = _keyed(linked, key, ids, cols)
        take = got & ~ok
        for j, f in enumerate(cols):
            values[take, present.index(f)] = v[take, j]
        ok |= take
    if ok.any() and present:
        mean = np.nanmean(values[ok], axis=0)
        std = np.nanstd(values[ok], axis=0)
        values = (values - mean) / np.where(std > 0, std, 1.0)
    missing = [f for f in AUDIO_FEATURES if f not in present]
    return (values, [f"audio_{f}" for f in present], ok & np.isfinite(values).all(1)), missing


def _genres(ids: np.ndarray, key: str, tables: list[pd.DataFrame], n_genres: int) -> Block:
    lists: dict[int, set[str]] = {}
    for t in tables:
        linked = t[t["match_key"].astype(str) != ""]
        for item, genres in zip(linked[key].astype(np.int64), linked["genres"], strict=True):
            if genres is not None and len(genres):
                lists.setdefault(int(item), set()).update(str(g) for g in genres)
    counts = Counter(g for gs in lists.values() for g in gs)
    vocab = [g for g, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n_genres]]
    pos = {g: j for j, g in enumerate(vocab)}
    values = np.zeros((len(ids), len(vocab)))
    for i, item in enumerate(ids):
        for g in lists.get(int(item), ()):
            if g in pos:
                values[i, pos[g]] = 1.0
    ok = values.sum(1) > 0
    names = [
        f"genre_{re.sub(r'[^0-9a-z]+', '_', g.lower()).strip('_')}_{j}" for j, g in enumerate(vocab)
    ]
    return values, names, ok


def assemble_stage_features(
    item_ids: np.ndarray,
    *,
    item_key: str = "track_id",
    content_tables: Mapping[str, pd.DataFrame] | None = None,
    content_kinds: Mapping[str, dict[str, Any]] | None = None,
    genre_vectors: pd.DataFrame | None = None,
    clusters: pd.DataFrame | None = None,
    track_topics: pd.DataFrame | None = None,
    n_genres: int = 64,
) -> ContentFeatures:
    """Content features of ``item_ids`` (ingest ids: ``track_id`` or ``artist_id``).

    Parameters
    ----------
    item_ids
        The id of each item index of the interaction matrix.
    item_key
        The id column the tables are keyed by.
    content_tables
        The content join's per-source tables (``content_<source>.parquet``) by source name.
    content_kinds
        ``content_report.json``'s ``sources``: per source its ``capabilities``.
    genre_vectors, clusters, track_topics
        The genre, clusters and topic stages' track tables (keyed by ``track_id``).
    n_genres
        Size of the multi-hot genre vocabulary built from the content join.

    Returns
    -------
    ContentFeatures
        Every group of :data:`~moodrec.features.content.GROUPS` (empty when no stage has it),
        imputed with column means where ``available`` is False, and a report of sources and
        availability per group.
    """
    ids = np.asarray(item_ids).astype(np.int64)
    n = len(ids)
    tables = dict(content_tables or {})
    kinds = dict(content_kinds or {})
    with_cap = lambda cap: [  # noqa: E731
        tables[s] for s in tables if cap in kinds.get(s, {}).get("capabilities", {})
    ]
    blocks: dict[str, Block] = {g: _empty(n) for g in GROUPS}
    sources: dict[str, str] = {g: "none" for g in GROUPS}
    missing: list[str] = []
    audio_tables = with_cap("audio_features")
    if audio_tables:
        blocks["audio"], missing = _audio(ids, item_key, audio_tables)
        sources["audio"] = "content join: " + ", ".join(
            s for s in tables if "audio_features" in kinds.get(s, {}).get("capabilities", {})
        )
    if genre_vectors is not None and item_key == "track_id":
        gcols = [c for c in genre_vectors.columns if re.fullmatch(r"g\d+", str(c))]
        v, _, ok = _keyed(genre_vectors, "track_id", ids, gcols)
        blocks["genre"] = (v, [f"genre_{c}" for c in gcols], ok)
        sources["genre"] = "genres stage (track_genre_vectors)"
    elif genre_tables := with_cap("genres"):
        blocks["genre"] = _genres(ids, item_key, genre_tables, n_genres)
        sources["genre"] = "content join: " + ", ".join(
            s for s in tables if "genres" in kinds.get(s, {}).get("capabilities", {})
        )
    if clusters is not None and item_key == "track_id":
        v, _, ok = _keyed(clusters, "track_id", ids, ["audio_cluster"])
        labels = sorted({int(x) for x in v[ok, 0]})
        onehot = np.zeros((n, len(labels)))
        for j, lab in enumerate(labels):
            onehot[ok & (v[:, 0] == lab), j] = 1.0
        blocks["cluster"] = (onehot, [f"cluster_{lab}" for lab in labels], ok)
        sources["cluster"] = "clusters stage (track_clusters)"
    if track_topics is not None and item_key == "track_id":
        tcols = topic_share_columns(track_topics)
        v, _, ok = _keyed(track_topics, "track_id", ids, tcols)
        blocks["topics"] = (v, [f"topics_{c}" for c in tcols], ok)
        sources["topics"] = "topics stage (track_topics)"

    features = stack_feature_blocks(blocks)
    any_content = features.available.any(1)
    report = {
        "n_items": n,
        "item_key": item_key,
        "link_rate": float(any_content.mean()) if n else 0.0,
        "sources": sources,
        "available": {g: float(features.available[:, i].mean()) for i, g in enumerate(GROUPS)},
        "n_columns": {g: len(features.groups[g]) for g in GROUPS},
        "missing_audio_features": missing,
    }
    logger.info("stage content features: %s", report["available"])
    return ContentFeatures(features=features, report=report)


def load_stage_features(
    item_ids: np.ndarray,
    *,
    item_key: str = "track_id",
    content_report: Path | str | None = None,
    genre_vectors: Path | str | None = None,
    clusters: Path | str | None = None,
    track_topics: Path | str | None = None,
) -> ContentFeatures:
    """Read the stage outputs named (the content tables sit beside ``content_report``)."""

    def read(path: Path | str | None) -> pd.DataFrame | None:
        return pd.read_parquet(path) if path is not None and Path(path).is_file() else None

    tables: dict[str, pd.DataFrame] = {}
    kinds: dict[str, dict[str, Any]] = {}
    if content_report is not None and Path(content_report).is_file():
        report = json.loads(Path(content_report).read_text())
        kinds = report.get("sources", {})
        folder = Path(content_report).parent
        for name in kinds:
            frame = read(folder / f"content_{name}.parquet")
            if frame is not None and item_key in frame.columns:
                tables[name] = frame
    return assemble_stage_features(
        item_ids,
        item_key=item_key,
        content_tables=tables,
        content_kinds=kinds,
        genre_vectors=read(genre_vectors),
        clusters=read(clusters),
        track_topics=read(track_topics),
    )
