"""Link catalogue rows to source rows: ids first, then exact names, then fuzzy names.

Both sides are frames with optional key columns ``spotify_id``, ``isrc``, ``mbid``,
``track_id`` and the names ``artist`` (+ ``title`` for track-level rows). Fuzzy matching is
blocked by artist: a catalogue track is compared only with the source rows of its own
normalised artist (any artist of a joint credit), or, when no source row has that artist, of
the closest source artist within ``artist_threshold``; so a catalogue of a million tracks is
linked in seconds, not by a million-by-thousands comparison.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from moodrec.content.config import ContentConfig
from moodrec.content.names import (
    artist_key,
    artist_parts,
    compact,
    exact_key,
    title_key,
    version_words,
)

logger = logging.getLogger(__name__)

#: the key kinds, in the order they are tried; ``name`` and the ids are "exact" matching
ID_KEYS = ("spotify_id", "isrc", "mbid", "track_id")
KEY_KINDS = (*ID_KEYS, "name", "fuzzy")
EXACT_KINDS = frozenset((*ID_KEYS, "name"))


def _id_value(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    s = str(value).strip().lower()
    return s or None


def _empty(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.full(n, -1, dtype=np.int64), np.full(n, "", dtype=object), np.zeros(n)


def link_rows(catalogue: pd.DataFrame, source: pd.DataFrame, cfg: ContentConfig) -> pd.DataFrame:
    """The best source row of each catalogue row.

    Parameters
    ----------
    catalogue
        One row per catalogue item: ``artist`` and, for tracks, ``title``; optional id
        columns (see the module docstring).
    source
        One row per source record, same column names; without ``title`` it is artist-level
        (every track of a matched artist links to the artist's first row).
    cfg
        Thresholds and whether to fuzzy-match.

    Returns
    -------
    DataFrame
        ``source_row`` (position in ``source``, -1 when unmatched), ``key`` (one of
        :data:`KEY_KINDS` or ``""``) and ``score`` (100 for id and exact keys, the rapidfuzz
        score for fuzzy ones: the lower of the artist and title scores), one row per
        catalogue row, in its order.
    """
    n = len(catalogue)
    rows, kinds, scores = _empty(n)
    todo = np.ones(n, dtype=bool)
    for kind in ID_KEYS:
        if kind not in catalogue.columns or kind not in source.columns:
            continue
        index: dict[str, int] = {}
        for pos, v in enumerate(source[kind].to_numpy()):
            key = _id_value(v)
            if key is not None:
                index.setdefault(key, pos)
        for i in np.flatnonzero(todo):
            key = _id_value(catalogue[kind].iat[i])
            hit = index.get(key) if key is not None else None
            if hit is not None:
                rows[i], kinds[i], scores[i], todo[i] = hit, kind, 100.0, False
    track_level = "title" in source.columns and "title" in catalogue.columns
    if track_level:
        _link_tracks(catalogue, source, cfg, todo, rows, kinds, scores)
    else:
        _link_artists(catalogue, source, cfg, todo, rows, kinds, scores)
    return pd.DataFrame({"source_row": rows, "key": kinds, "score": scores})


def _link_artists(catalogue, source, cfg, todo, rows, kinds, scores) -> None:
    """Artist-level source: exact artist key, then a fuzzy artist by the strict rule."""
    index: dict[str, int] = {}
    by_compact: dict[str, int] = {}
    for pos, a in enumerate(source["artist"].to_numpy()):
        for k in artist_parts(a)[:1]:
            index.setdefault(k, pos)
            by_compact.setdefault(compact(a), pos)
    names = list(index)
    cache: dict[str, tuple[int, float]] = {}
    for i in np.flatnonzero(todo):
        k = artist_key(catalogue["artist"].iat[i])
        if not k:
            continue
        if k in index:
            rows[i], kinds[i], scores[i] = index[k], "name", 100.0
            continue
        if not cfg.fuzzy:
            continue
        if k not in cache:
            cache[k] = _strict_artist(
                k, compact(catalogue["artist"].iat[i]), names, index, by_compact, cfg
            )
        pos, score = cache[k]
        if pos >= 0:
            rows[i], kinds[i], scores[i] = pos, "fuzzy", score


def _strict_artist(
    key: str,
    key_compact: str,
    names: list[str],
    index: dict[str, int],
    by_compact: dict[str, int],
    cfg: ContentConfig,
) -> tuple[int, float]:
    """A fuzzy artist on names alone: the same compact name (of ``artist_min_compact`` letters
    or more), or a long name scoring at least ``artist_threshold`` (one letter tells Ryan
    from Bryan Adams)."""
    if len(key_compact) >= cfg.artist_min_compact and key_compact in by_compact:
        return by_compact[key_compact], 100.0
    if len(key) < cfg.artist_min_chars:
        return -1, 0.0
    best = process.extractOne(key, names, scorer=fuzz.ratio, score_cutoff=cfg.artist_threshold)
    return (index[best[0]], float(best[1])) if best else (-1, 0.0)


def _link_tracks(catalogue, source, cfg, todo, rows, kinds, scores) -> None:
    """Track-level source: exact artist + title, then fuzzy titles within artist blocks."""
    exact: dict[str, int] = {}
    blocks: dict[str, dict[str, int]] = defaultdict(dict)
    for pos, (a, t) in enumerate(zip(source["artist"], source["title"], strict=True)):
        exact.setdefault(exact_key(a, t), pos)
        tk = title_key(t)
        if not tk:
            continue
        for ak in artist_parts(a):
            blocks[ak].setdefault(tk, pos)
    left = []
    for i in np.flatnonzero(todo):
        hit = exact.get(exact_key(catalogue["artist"].iat[i], catalogue["title"].iat[i]))
        if hit is not None:
            rows[i], kinds[i], scores[i] = hit, "name", 100.0
        else:
            left.append(i)
    if not cfg.fuzzy or not left:
        return
    block_names = list(blocks)
    artist_of: dict[str, tuple[str, float] | None] = {}
    # most-played artists get a fuzzy artist search first (the cap keeps big logs fast)
    plays = catalogue["plays"].to_numpy() if "plays" in catalogue.columns else None
    order = sorted(left, key=lambda i: -float(plays[i])) if plays is not None else left
    n_fuzzy_artists = 0
    block_titles: dict[str, list[str]] = {}
    for i in order:
        tk = title_key(catalogue["title"].iat[i])
        if not tk:
            continue
        candidates: list[tuple[str, float]] = []
        for ak in artist_parts(catalogue["artist"].iat[i]):
            if ak in blocks:
                candidates.append((ak, 100.0))
        if not candidates:
            ak = artist_key(catalogue["artist"].iat[i])
            if ak and ak not in artist_of and n_fuzzy_artists < cfg.max_fuzzy_artists:
                n_fuzzy_artists += 1
                best = process.extractOne(
                    ak,
                    block_names,
                    scorer=fuzz.ratio,
                    score_cutoff=cfg.artist_threshold_with_title,
                )
                artist_of[ak] = (best[0], float(best[1])) if best else None
            found = artist_of.get(ak)
            if found is not None:
                candidates.append(found)
        best_pos, best_score = -1, -1.0
        marks = version_words(tk)
        for ak, a_score in candidates:
            titles = block_titles.setdefault(ak, list(blocks[ak]))
            hits = process.extract(
                tk, titles, scorer=fuzz.token_sort_ratio, score_cutoff=cfg.title_threshold, limit=5
            )
            # the best title that is the same version (a remix is not the original)
            hit = next((h for h in hits if version_words(h[0]) == marks), None)
            if hit is None:
                continue
            score = min(a_score, float(hit[1]))
            if score > best_score:
                best_pos, best_score = blocks[ak][hit[0]], score
        if best_pos >= 0:
            rows[i], kinds[i], scores[i] = best_pos, "fuzzy", best_score
