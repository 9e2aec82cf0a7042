"""Session sequences from the ingest tables, and item mood features linked to them.

Items are the ingest ``track_id`` values (dense ``0..n_tracks-1``), so an item index is a
track id. Mood features come from the sandbox truth (``truth/tracks.parquet``, whose track
ids differ from ingest's: linked by MusicBrainz id first, then by normalised artist + track
name), from a features file with the same key columns, or not at all (real logs: the models
then run on item ids alone).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from moodrec.errors import InputDataError
from moodrec.ingest.canonical import normalise_names

logger = logging.getLogger(__name__)

#: the two mood axes every mood computation uses
MOOD_AXES = ("valence", "energy")
#: further per-item content columns kept when present
EXTRA_FEATURES = ("tempo", "danceability", "acousticness")


class SessionDataError(InputDataError):
    """The ingest tables or the features file cannot make session sequences."""


@dataclass(frozen=True)
class ItemMood:
    """Per-item content for the session models, row ``i`` = item (track) ``i``.

    Attributes
    ----------
    ve
        ``(n_items, 2)`` float64 valence and energy in ``[0, 1]``; NaN where unknown.
    content
        ``(n_items, n_content)`` float64 standardised content (valence, energy, tempo,
        danceability, topic mixture ...), 0 where unknown; used to reach cold items.
    content_columns
        Names of ``content``'s columns.
    """

    ve: np.ndarray
    content: np.ndarray
    content_columns: list[str]

    @property
    def known(self) -> np.ndarray:
        """``(n_items,)`` bool: the item has valence and energy."""
        return ~np.isnan(self.ve).any(axis=1)


@dataclass(frozen=True)
class SessionData:
    """Listening sessions as concatenated item sequences (CSR layout), chronological.

    Attributes
    ----------
    items
        ``(n_events,)`` int64 item index of every play, session after session.
    ts
        ``(n_events,)`` int64 Unix seconds of every play.
    offsets
        ``(n_sessions + 1,)`` session ``s`` is ``items[offsets[s]:offsets[s + 1]]``.
    session_user
        ``(n_sessions,)`` int64 user index; sessions are sorted by user, then start time.
    session_id
        ``(n_sessions,)`` the ingest ``session_id``.
    n_items, n_users
        Catalogue and user counts (indices span them even if unplayed).
    item_artist
        ``(n_items,)`` int64 artist of every item (-1 unknown).
    user_names
        ``(n_users,)`` the dataset's user ids (``user_000001`` ...).
    mood
        Item mood features, or None on logs without them.
    info
        Link rate and provenance, for reports.
    """

    items: np.ndarray
    ts: np.ndarray
    offsets: np.ndarray
    session_user: np.ndarray
    session_id: np.ndarray
    n_items: int
    n_users: int
    item_artist: np.ndarray
    user_names: np.ndarray
    mood: ItemMood | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_sessions(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def session_start(self) -> np.ndarray:
        """``(n_sessions,)`` Unix seconds of each session's first play."""
        return self.ts[self.offsets[:-1]]

    @property
    def session_length(self) -> np.ndarray:
        return np.diff(self.offsets)

    def session(self, s: int) -> np.ndarray:
        """Item sequence of session ``s``."""
        return self.items[self.offsets[s] : self.offsets[s + 1]]

    def subset(self, sessions: np.ndarray) -> SessionData:
        """The given sessions only (same catalogue, users and features), in the given order."""
        sessions = np.asarray(sessions, dtype=np.int64)
        lengths = self.session_length[sessions]
        starts = self.offsets[sessions]
        new_starts = np.cumsum(lengths) - lengths
        idx = np.repeat(starts - new_starts, lengths) + np.arange(int(lengths.sum()))
        return SessionData(
            items=self.items[idx],
            ts=self.ts[idx],
            offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
            session_user=self.session_user[sessions],
            session_id=self.session_id[sessions],
            n_items=self.n_items,
            n_users=self.n_users,
            item_artist=self.item_artist,
            user_names=self.user_names,
            mood=self.mood,
            info=self.info,
        )


def build_session_data(
    events: pd.DataFrame,
    tracks: pd.DataFrame,
    users: pd.DataFrame | None = None,
    mood: ItemMood | None = None,
    info: dict[str, Any] | None = None,
) -> SessionData:
    """Session sequences from ingest ``events`` (+ ``tracks`` for the catalogue size).

    Parameters
    ----------
    events
        Columns ``user_id`` (int), ``ts`` (datetime or int seconds), ``track_id`` (int),
        ``session_id`` (int). Not modified.
    tracks
        Columns ``track_id``, ``artist_id``: the catalogue (``track_id`` dense from 0).
    users
        Optional ``user_id``, ``user`` (display ids).
    mood
        Item mood features aligned with ``track_id``.
    info
        Provenance for reports.

    Raises
    ------
    SessionDataError
        If a required column is missing or track ids fall outside the catalogue.
    """
    for name, frame, cols in (
        ("events", events, ("user_id", "ts", "track_id", "session_id")),
        ("tracks", tracks, ("track_id", "artist_id")),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise SessionDataError(f"{name}: missing column(s) {missing}")
    n_items = int(tracks["track_id"].max()) + 1 if len(tracks) else 0
    ts_s = timestamps_seconds(events["ts"])
    item = events["track_id"].to_numpy(dtype=np.int64)
    if item.size and (item.min() < 0 or item.max() >= n_items):
        raise SessionDataError("events: track_id outside the tracks table")
    user = events["user_id"].to_numpy(dtype=np.int64)
    sid = events["session_id"].to_numpy(dtype=np.int64)
    order = np.lexsort((ts_s, sid, user))
    user, sid, item, ts_s = user[order], sid[order], item[order], ts_s[order]
    # sessions sorted by user then start time (session ids already follow time per user)
    starts = np.flatnonzero(np.r_[True, (sid[1:] != sid[:-1]) | (user[1:] != user[:-1])])
    s_start_ts = ts_s[starts]
    s_order = np.lexsort((s_start_ts, user[starts]))
    bounds = np.r_[starts, item.size]
    lengths = np.diff(bounds)[s_order]
    new_off = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
    idx = np.repeat(bounds[s_order] - new_off, lengths) + np.arange(int(lengths.sum()))
    artist = np.full(n_items, -1, dtype=np.int64)
    artist[tracks["track_id"].to_numpy(dtype=np.int64)] = tracks["artist_id"].to_numpy(np.int64)
    n_users = int(user.max()) + 1 if user.size else 0
    names = np.asarray([f"user_{i}" for i in range(n_users)], dtype=object)
    if users is not None and {"user_id", "user"} <= set(users.columns):
        n_users = max(n_users, int(users["user_id"].max()) + 1)
        names = np.asarray([f"user_{i}" for i in range(n_users)], dtype=object)
        names[users["user_id"].to_numpy(dtype=np.int64)] = users["user"].astype(str).to_numpy()
    return SessionData(
        items=item[idx],
        ts=ts_s[idx],
        offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
        session_user=user[starts][s_order],
        session_id=sid[starts][s_order],
        n_items=n_items,
        n_users=n_users,
        item_artist=artist,
        user_names=names,
        mood=mood,
        info=dict(info or {}),
    )


def timestamps_seconds(ts: pd.Series) -> np.ndarray:
    """Unix seconds (int64) of a datetime column of any unit, or of integer seconds."""
    if not pd.api.types.is_datetime64_any_dtype(ts):
        return ts.to_numpy(dtype=np.int64)
    dtype = ts.dtype.base if hasattr(ts.dtype, "base") else ts.dtype
    unit = np.datetime_data(dtype)[0]
    div = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    return ts.astype("int64").to_numpy() // div


def link_item_features(
    tracks: pd.DataFrame, features: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Attach feature rows to ingest tracks: MusicBrainz id first, then artist + track name.

    Parameters
    ----------
    tracks
        Ingest ``tracks``: ``track_id``, ``track_mbid``, ``artist_name``, ``track_name``
        (and optionally ``name_variants``). Not modified.
    features
        One row per source track with ``valence``, ``energy`` and optional
        ``track_mbid``, ``artist_name``, ``name`` (or ``track_name``), ``alt_name``,
        further numeric columns and ``topic_mixture`` (list of floats).

    Returns
    -------
    (linked, report)
        ``linked``: ingest ``track_id`` plus the feature columns (NaN where unlinked);
        ``report``: ``n_tracks``, ``linked_by_mbid``, ``linked_by_name``, ``link_rate``.

    Raises
    ------
    SessionDataError
        If ``features`` lacks valence or energy, or has no key column.
    """
    missing = [c for c in MOOD_AXES if c not in features.columns]
    if missing:
        raise SessionDataError(f"features: missing column(s) {missing}")
    feats = features.rename(columns={"name": "track_name"}) if "name" in features else features
    keep = [c for c in (*MOOD_AXES, *EXTRA_FEATURES, "topic_mixture") if c in feats.columns]
    out = pd.DataFrame({"track_id": tracks["track_id"].to_numpy()})
    for c in keep:
        out[c] = pd.Series([None] * len(out), dtype=object) if c == "topic_mixture" else np.nan
    row_of = np.full(len(tracks), -1, dtype=np.int64)
    by_mbid = 0
    if "track_mbid" in feats.columns and "track_mbid" in tracks.columns:
        f_mbid = feats["track_mbid"].astype("string").str.lower()
        lookup = pd.Series(np.arange(len(feats)), index=f_mbid.to_numpy())
        lookup = lookup[lookup.index.notna() & (lookup.index != "")]
        lookup = lookup[~lookup.index.duplicated()]
        t_mbid = tracks["track_mbid"].astype("string").str.lower()
        hit = t_mbid.map(lookup)
        ok = hit.notna().to_numpy()
        row_of[ok] = hit[ok].to_numpy(dtype=np.int64)
        by_mbid = int(ok.sum())
    by_name = 0
    if {"artist_name", "track_name"} <= set(feats.columns) and {
        "artist_name",
        "track_name",
    } <= set(tracks.columns):
        keys = [_name_key(feats["artist_name"], feats["track_name"])]
        rows = [np.arange(len(feats))]
        if "alt_name" in feats.columns:
            alt = feats["alt_name"].notna().to_numpy()
            keys.append(_name_key(feats["artist_name"][alt], feats["alt_name"][alt]))
            rows.append(np.flatnonzero(alt))
        lookup = pd.Series(np.concatenate(rows), index=np.concatenate(keys))
        lookup = lookup[~lookup.index.duplicated()]
        todo = row_of < 0
        t_keys = _name_key(tracks["artist_name"][todo], tracks["track_name"][todo])
        hit = pd.Series(t_keys).map(lookup)
        ok = hit.notna().to_numpy()
        idx = np.flatnonzero(todo)[ok]
        row_of[idx] = hit[ok].to_numpy(dtype=np.int64)
        by_name = int(ok.sum())
    linked = row_of >= 0
    for c in keep:
        src = feats[c].to_numpy()
        if c == "topic_mixture":
            vals = np.empty(len(out), dtype=object)
            vals[linked] = src[row_of[linked]]
            out[c] = vals
        else:
            vals = np.full(len(out), np.nan)
            vals[linked] = src[row_of[linked]].astype(float)
            out[c] = vals
    n = len(tracks)
    report = {
        "n_tracks": n,
        "linked_by_mbid": by_mbid,
        "linked_by_name": by_name,
        "link_rate": round((by_mbid + by_name) / n, 4) if n else 0.0,
    }
    logger.info("item features linked for %s of %d tracks", report["link_rate"], n)
    return out, report


def _name_key(artist: pd.Series, track: pd.Series) -> np.ndarray:
    a = normalise_names(pl.Series("a", artist.astype(str).tolist(), dtype=pl.String))
    t = normalise_names(pl.Series("t", track.astype(str).tolist(), dtype=pl.String))
    return np.asarray((a + "\t" + t).to_list(), dtype=object)


def item_mood_from_features(linked: pd.DataFrame, n_items: int) -> ItemMood:
    """Build :class:`ItemMood` from :func:`link_item_features` output (rows by ``track_id``).

    Content columns are standardised (z-scores over known items); unknown values are 0.
    """
    idx = linked["track_id"].to_numpy(dtype=np.int64)
    ve = np.full((n_items, 2), np.nan)
    ve[idx] = linked[list(MOOD_AXES)].to_numpy(dtype=float)
    cols: list[str] = []
    blocks: list[np.ndarray] = []
    for c in (*MOOD_AXES, *EXTRA_FEATURES):
        if c in linked.columns:
            v = np.full(n_items, np.nan)
            v[idx] = linked[c].to_numpy(dtype=float)
            blocks.append(v[:, None])
            cols.append(c)
    if "topic_mixture" in linked.columns:
        mixes = linked["topic_mixture"].to_numpy()
        width = max((len(m) for m in mixes if m is not None and len(m)), default=0)
        if width:
            tm = np.full((n_items, width), np.nan)
            for i, m in zip(idx, mixes, strict=True):
                if m is not None and len(m) == width:
                    tm[i] = np.asarray(m, dtype=float)
            blocks.append(tm)
            cols.extend(f"topic_{j}" for j in range(width))
    content = np.concatenate(blocks, axis=1) if blocks else np.zeros((n_items, 0))
    if content.size and np.isfinite(content).any():
        with np.errstate(all="ignore"):
            mean = np.nanmean(content, axis=0)
            std = np.nanstd(content, axis=0)
        std = np.where((std > 0) & np.isfinite(std), std, 1.0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        content = np.nan_to_num((content - mean) / std, nan=0.0)
    return ItemMood(ve=ve, content=content, content_columns=cols)


def read_truth_features(truth_tracks: Path) -> pd.DataFrame:
    """The sandbox truth tracks' keys and mood features (``truth/tracks.parquet``)."""
    path = Path(truth_tracks)
    if not path.is_file():
        raise SessionDataError(f"{path}: sandbox truth tracks not found")
    cols = [
        "track_mbid",
        "artist_name",
        "name",
        "alt_name",
        *MOOD_AXES,
        *EXTRA_FEATURES,
        "topic_mixture",
    ]
    return pd.read_parquet(path, columns=cols)


def read_features_file(path: Path | str) -> pd.DataFrame:
    """A CSV/Parquet features file with ``valence``, ``energy`` and key columns.

    Column names are matched case-insensitively; ``artist``/``title`` are accepted for
    ``artist_name``/``track_name`` and ``mbid`` for ``track_mbid``.

    Raises
    ------
    SessionDataError
        If the file is missing, of unknown type or lacks valence/energy.
    """
    p = Path(path)
    if not p.is_file():
        raise SessionDataError(f"{p}: features file not found")
    if p.suffix.lower() == ".parquet":
        df = pd.read_parquet(p)
    elif p.suffix.lower() in (".csv", ".tsv"):
        df = pd.read_csv(p, sep="\t" if p.suffix.lower() == ".tsv" else ",")
    else:
        raise SessionDataError(f"{p}: features file must be CSV, TSV or Parquet")
    alias = {"artist": "artist_name", "title": "track_name", "mbid": "track_mbid"}
    df = df.rename(columns={c: alias.get(c.lower(), c.lower()) for c in df.columns})
    missing = [c for c in MOOD_AXES if c not in df.columns]
    if missing:
        raise SessionDataError(f"{p}: missing column(s) {missing}")
    return df


def load_session_data(
    interim_dir: Path | str,
    features: pd.DataFrame | None = None,
) -> SessionData:
    """Read ``interim/{events,tracks,users}.parquet`` and link optional features.

    Parameters
    ----------
    interim_dir
        Ingest output folder.
    features
        Feature rows (``read_truth_features`` / ``read_features_file``), or None for
        item ids alone.

    Raises
    ------
    SessionDataError
        If a table is missing.
    """
    d = Path(interim_dir)
    paths = {n: d / f"{n}.parquet" for n in ("events", "tracks", "users")}
    for n, p in paths.items():
        if not p.is_file():
            raise SessionDataError(f"{p}: ingest table {n!r} not found (run ingest first)")
    events = pd.read_parquet(paths["events"], columns=["user_id", "ts", "track_id", "session_id"])
    tracks = pd.read_parquet(paths["tracks"])
    users = pd.read_parquet(paths["users"], columns=["user_id", "user"])
    n_items = int(tracks["track_id"].max()) + 1 if len(tracks) else 0
    mood = None
    info: dict[str, Any] = {"features": "none (item ids only)"}
    if features is not None:
        linked, report = link_item_features(tracks, features)
        mood = item_mood_from_features(linked, n_items)
        info = {"features": "linked", **report}
    return build_session_data(events, tracks, users, mood=mood, info=info)
