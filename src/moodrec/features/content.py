"""Item content features for the recommenders, assembled from whichever sources exist.

Rows follow the item index of an interaction matrix (ingest ``track_id`` per row). Content
comes from the sandbox world's truth tracks (12 audio features, ``audio_cluster``,
``super_genre``, ``topic_mixture``, ``popularity``) and, when those stages ran, from the
genre stage's track vectors, the clusters stage's labels and the topic stage's track topics
(all keyed by the *world* track id in the sandbox). Ingest track ids differ from world ids:
tracks are linked by MusicBrainz id first, then by normalised artist + track name (the
world's ``alt_name`` too). Values missing for an item are imputed with the column mean and
flagged in ``ItemFeatures.available``.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from moodrec.domain import AUDIO_FEATURES, topic_share_columns
from moodrec.errors import InputDataError
from moodrec.models.base import ItemFeatures
from moodrec.storage import stage_outputs

logger = logging.getLogger(__name__)

GROUPS = ("audio", "genre", "cluster", "topics", "word2vec", "popularity")


@dataclass(frozen=True)
class ContentFeatures:
    """Assembled features and how they were obtained."""

    features: ItemFeatures
    #: link rate, link method counts, source and availability per group
    report: dict[str, Any]


Block = tuple[np.ndarray, list[str], np.ndarray]


def stack_feature_blocks(blocks: dict[str, Block]) -> ItemFeatures:
    """One :class:`ItemFeatures` from per-group ``(values, columns, available)`` blocks, in
    :data:`GROUPS` order: a row without a group's content gets the column means of the rows
    that have it (and ``available`` says so); non-finite values likewise."""
    values, columns, groups, available = [], [], {}, []
    for g in GROUPS:
        v, cols, ok = blocks[g]
        v = v.copy()
        if v.shape[1]:
            means = np.nanmean(np.where(ok[:, None], v, np.nan), axis=0) if ok.any() else None
            fill = np.nan_to_num(means if means is not None else np.zeros(v.shape[1]))
            v[~ok] = fill
            v = np.where(np.isfinite(v), v, fill)
        values.append(v)
        columns += cols
        groups[g] = cols
        available.append(ok)
    return ItemFeatures(
        values=np.hstack(values).astype(np.float32),
        columns=columns,
        groups=groups,
        available=np.column_stack(available),
    )


def normalise_name(text: object) -> str:
    """Lower-case, accents stripped, punctuation dropped, whitespace collapsed ("" for NA)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    s = unicodedata.normalize("NFKD", str(text))
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", s).split())


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputDataError(f"{what}: missing column(s) {missing}")


def link_tracks(tracks: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Map ingest tracks to world (truth) tracks: MBID first, then artist + name.

    Parameters
    ----------
    tracks
        Ingest ``interim/tracks.parquet``: ``track_id``, ``track_mbid``, ``artist_name``,
        ``track_name``.
    truth
        World ``truth/tracks.parquet``: ``track_id``, ``track_mbid``, ``artist_name``,
        ``name`` (``alt_name`` optional).

    Returns
    -------
    DataFrame
        ``track_id`` (ingest), ``world_track_id`` (Int64, NA when unlinked) and ``link``
        (``"mbid"``, ``"name"`` or ``"none"``), one row per ingest track.
    """
    _require(tracks, ["track_id", "track_mbid", "artist_name", "track_name"], "ingest tracks")
    _require(truth, ["track_id", "track_mbid", "artist_name", "name"], "truth tracks")
    out = pd.DataFrame({"track_id": tracks["track_id"].to_numpy()})
    world = pd.array([pd.NA] * len(tracks), dtype="Int64")
    link = np.full(len(tracks), "none", dtype=object)

    mbids = truth.dropna(subset=["track_mbid"])
    mbids = mbids[mbids["track_mbid"].astype(str).str.len() > 0]
    by_mbid = dict(zip(mbids["track_mbid"].astype(str), mbids["track_id"], strict=False))
    key_to_world: dict[tuple[str, str], int] = {}
    alt = truth["alt_name"] if "alt_name" in truth.columns else pd.Series(None, index=truth.index)
    for wid, artist, name, alt_name in zip(
        truth["track_id"], truth["artist_name"], truth["name"], alt, strict=True
    ):
        a = normalise_name(artist)
        for n in (name, alt_name):
            key = (a, normalise_name(n))
            if key[1]:
                key_to_world.setdefault(key, int(wid))
    for row, (mbid, artist, name) in enumerate(
        zip(tracks["track_mbid"], tracks["artist_name"], tracks["track_name"], strict=True)
    ):
        if isinstance(mbid, str) and mbid in by_mbid:
            world[row] = int(by_mbid[mbid])
            link[row] = "mbid"
            continue
        wid = key_to_world.get((normalise_name(artist), normalise_name(name)))
        if wid is not None:
            world[row] = wid
            link[row] = "name"
    out["world_track_id"] = world
    out["link"] = link
    return out


def _frame_block(
    world_ids: pd.Series, source: pd.DataFrame, key: str, columns: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """``(values, available)`` of ``columns`` of ``source`` keyed by ``key`` for each world id."""
    src = source.drop_duplicates(subset=[key]).set_index(key)[columns]
    idx = pd.Index(src.index).get_indexer(world_ids.fillna(-1).astype("int64").to_numpy())
    values = np.full((len(world_ids), len(columns)), np.nan)
    ok = idx >= 0
    values[ok] = src.to_numpy(dtype=np.float64)[idx[ok]]
    available = ok & np.isfinite(values).all(1)
    return values, available


def _one_hot(labels: pd.Series, prefix: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    known = labels.notna().to_numpy()
    cats = sorted({str(v) for v in labels[known]})
    values = np.zeros((len(labels), len(cats)))
    pos = {c: i for i, c in enumerate(cats)}
    for row, v in enumerate(labels):
        if known[row]:
            values[row, pos[str(v)]] = 1.0
    values[~known] = np.nan
    return values, [f"{prefix}_{c}" for c in cats], known


def _topic_matrix(mixtures: pd.Series) -> tuple[np.ndarray, list[str], np.ndarray]:
    lens = [len(m) for m in mixtures if m is not None and not isinstance(m, float)]
    width = max(lens) if lens else 0
    values = np.full((len(mixtures), width), np.nan)
    known = np.zeros(len(mixtures), dtype=bool)
    for row, m in enumerate(mixtures):
        if m is not None and not isinstance(m, float) and len(m) == width and width:
            values[row] = np.asarray(m, dtype=np.float64)
            known[row] = True
    return values, [f"topic_{i}" for i in range(width)], known


def assemble_item_features(
    item_track_ids: np.ndarray,
    tracks: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    genre_vectors: pd.DataFrame | None = None,
    clusters: pd.DataFrame | None = None,
    track_topics: pd.DataFrame | None = None,
    word2vec: pd.DataFrame | None = None,
) -> ContentFeatures:
    """Content features of the items of an interaction matrix, row ``i`` = item ``i``.

    Parameters
    ----------
    item_track_ids
        Ingest ``track_id`` of each item index.
    tracks, truth
        Ingest tracks and world truth tracks (see :func:`link_tracks`); ``truth`` must have
        the 12 audio features, ``super_genre``, ``audio_cluster``, ``topic_mixture``,
        ``popularity``.
    genre_vectors
        Genre stage ``track_genre_vectors`` (``track_id`` = world id, ``g0 …``); replaces the
        one-hot ``super_genre`` as the ``genre`` group.
    clusters
        Clusters stage ``track_clusters`` (``track_id``, ``audio_cluster``); replaces the
        world's planted cluster as the ``cluster`` group.
    track_topics
        Topic stage ``track_topics`` (``track_id``, ``topic_*`` columns); replaces the world's
        planted ``topic_mixture`` as the ``topics`` group.
    word2vec
        Word2Vec lyric vectors (``track_id`` = world id, ``w2v_*`` columns, or the topic
        stage's ``word2vec_map`` coordinates ``x``, ``y``) as the ``word2vec`` group; without
        it the group is empty.

    Returns
    -------
    ContentFeatures
        Features with groups ``audio``, ``genre``, ``cluster``, ``topics``, ``word2vec``,
        ``popularity``
        (imputed with column means, flagged in ``available``) and a report.

    Raises
    ------
    InputDataError
        When an input lacks a required column or an item id is not an ingest track.
    """
    _require(truth, [*AUDIO_FEATURES, "super_genre", "audio_cluster", "popularity"], "truth tracks")
    links = link_tracks(tracks, truth).set_index("track_id")
    ids = np.asarray(item_track_ids)
    unknown = ~np.isin(ids, links.index.to_numpy())
    if unknown.any():
        raise InputDataError(
            f"item ids not among the ingest tracks: {ids[unknown][:5].tolist()} "
            f"({int(unknown.sum())} in all)"
        )
    item_links = links.loc[ids]
    world = item_links["world_track_id"].reset_index(drop=True)
    truth_rows = truth.drop_duplicates(subset=["track_id"]).set_index("track_id")
    t_idx = truth_rows.index.get_indexer(world.fillna(-1).astype("int64").to_numpy())
    linked = t_idx >= 0
    t = truth_rows.iloc[np.where(linked, t_idx, 0)].reset_index()

    blocks: dict[str, tuple[np.ndarray, list[str], np.ndarray]] = {}
    sources: dict[str, str] = {}
    audio = t[list(AUDIO_FEATURES)].to_numpy(dtype=np.float64)
    blocks["audio"] = (audio, list(AUDIO_FEATURES), linked & np.isfinite(audio).all(1))
    sources["audio"] = "truth"
    if genre_vectors is not None:
        gcols = [c for c in genre_vectors.columns if re.fullmatch(r"g\d+", str(c))]
        v, ok = _frame_block(world, genre_vectors, "track_id", gcols)
        blocks["genre"] = (v, [f"genre_{c}" for c in gcols], ok)
        sources["genre"] = "genres stage (track_genre_vectors)"
    else:
        blocks["genre"] = _one_hot(t["super_genre"].where(linked), "genre")
        sources["genre"] = "truth super_genre one-hot"
    if clusters is not None:
        v, ok = _frame_block(world, clusters, "track_id", ["audio_cluster"])
        lab = pd.Series(np.where(ok, v[:, 0], np.nan)).map(
            lambda x: None if np.isnan(x) else int(x)
        )
        blocks["cluster"] = _one_hot(lab, "cluster")
        sources["cluster"] = "clusters stage (track_clusters)"
    else:
        lab = t["audio_cluster"].where(linked).map(lambda x: None if pd.isna(x) else int(x))
        blocks["cluster"] = _one_hot(lab, "cluster")
        sources["cluster"] = "truth audio_cluster one-hot"
    if track_topics is not None:
        tcols = topic_share_columns(track_topics)
        v, ok = _frame_block(world, track_topics, "track_id", tcols)
        blocks["topics"] = (v, [f"topics_{c}" for c in tcols], ok)
        sources["topics"] = "topics stage (track_topics)"
    elif "topic_mixture" in t.columns:
        blocks["topics"] = _topic_matrix(t["topic_mixture"].where(linked, None))
        sources["topics"] = "truth topic_mixture"
    else:
        blocks["topics"] = (np.zeros((len(ids), 0)), [], np.zeros(len(ids), dtype=bool))
        sources["topics"] = "none"
    if word2vec is not None:
        wcols = [c for c in word2vec.columns if re.fullmatch(r"w2v_\d+", str(c))]
        wcols = wcols or [c for c in ("x", "y") if c in word2vec.columns]
        v, ok = _frame_block(world, word2vec, "track_id", wcols)
        blocks["word2vec"] = (v, [f"word2vec_{c}" for c in wcols], ok)
        sources["word2vec"] = "Word2Vec lyric vectors"
    else:
        blocks["word2vec"] = (np.zeros((len(ids), 0)), [], np.zeros(len(ids), dtype=bool))
        sources["word2vec"] = "none"
    pop = np.log(t["popularity"].to_numpy(dtype=np.float64) + 1e-6)[:, None]
    blocks["popularity"] = (pop, ["log_popularity"], linked & np.isfinite(pop[:, 0]))
    sources["popularity"] = "truth popularity (log)"

    features = stack_feature_blocks(blocks)
    counts = item_links["link"].value_counts()
    report = {
        "n_items": len(ids),
        "linked_by_mbid": int(counts.get("mbid", 0)),
        "linked_by_name": int(counts.get("name", 0)),
        "unlinked": int(counts.get("none", 0)),
        "link_rate": float(linked.mean()) if len(ids) else 0.0,
        "sources": sources,
        "available": {g: float(features.available[:, i].mean()) for i, g in enumerate(GROUPS)},
        "n_columns": {g: len(features.groups[g]) for g in GROUPS},
    }
    logger.info(
        "content features: %d items, link rate %.3f (%d by MBID, %d by name)",
        report["n_items"],
        report["link_rate"],
        report["linked_by_mbid"],
        report["linked_by_name"],
    )
    return ContentFeatures(features=features, report=report)


def load_item_features(
    item_track_ids: np.ndarray,
    tracks_path: Path | str,
    truth_tracks_path: Path | str,
    *,
    genre_vectors_path: Path | str | None = None,
    clusters_path: Path | str | None = None,
    track_topics_path: Path | str | None = None,
    word2vec_path: Path | str | None = None,
) -> ContentFeatures:
    """Read the Parquet inputs of :func:`assemble_item_features` (optional ones when given).

    Raises
    ------
    InputDataError
        When a named file does not exist.
    """

    def read(path: Path | str | None) -> pd.DataFrame | None:
        if path is None:
            return None
        p = Path(path)
        if not p.is_file():
            raise InputDataError(f"content features: {p} does not exist")
        return pd.read_parquet(p)

    tracks = read(tracks_path)
    truth = read(truth_tracks_path)
    if tracks is None or truth is None:  # pragma: no cover - both paths are required
        raise InputDataError("content features: tracks and truth tracks are required")
    return assemble_item_features(
        item_track_ids,
        tracks,
        truth,
        genre_vectors=read(genre_vectors_path),
        clusters=read(clusters_path),
        track_topics=read(track_topics_path),
        word2vec=read(word2vec_path),
    )


def features_frame(content: ContentFeatures, item_track_ids: np.ndarray) -> pd.DataFrame:
    """The features as a frame (``track_id`` + columns + ``available_<group>``) for Parquet."""
    f = content.features
    frame = pd.DataFrame(f.values, columns=f.columns)
    frame.insert(0, "track_id", np.asarray(item_track_ids))
    if f.available is not None:
        for j, g in enumerate(f.groups):
            frame[f"available_{g}"] = f.available[:, j]
    return frame


def features_from_frame(frame: pd.DataFrame, groups: dict[str, list[str]]) -> ItemFeatures:
    """Inverse of :func:`features_frame` given the group → columns map."""
    cols = [c for g in groups for c in groups[g]]
    avail_cols = [f"available_{g}" for g in groups]
    available = (
        frame[avail_cols].to_numpy(dtype=bool) if all(c in frame for c in avail_cols) else None
    )
    return ItemFeatures(
        values=frame[cols].to_numpy(dtype=np.float32),
        columns=cols,
        groups={g: list(c) for g, c in groups.items()},
        available=available,
    )


def write_features(content: ContentFeatures, item_track_ids: np.ndarray, out: Path) -> Path:
    """``out`` (Parquet, see :func:`features_frame`) and its group map ``<out>.groups.json``,
    both or neither."""
    frame = features_frame(content, item_track_ids)
    with stage_outputs(out.parent, label="item-features") as staged:
        staged.write_parquet(pa.Table.from_pandas(frame, preserve_index=False), out)
        staged.write_json(out.with_suffix(".groups.json"), content.features.groups)
    return out


def read_features(path: Path | str) -> ItemFeatures:
    """Features written by :func:`write_features`."""
    p = Path(path)
    groups = json.loads(p.with_suffix(".groups.json").read_text())
    return features_from_frame(pd.read_parquet(p), groups)
