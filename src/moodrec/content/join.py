"""Join the catalogue to every content source and measure what was linked.

The catalogue is the ingest ``tracks`` table (``track_id, track_mbid, artist_name,
track_name, n_events``) or, for an artist-level log such as HetRec, the ``artists`` table
(``artist_id, artist_mbid, artist_name, n_events``). For each source (see
:mod:`moodrec.content.sources`) :func:`join_source` keeps one source row per linked item with
its ``match_key`` kind and ``match_score``; :func:`coverage_table` counts, per source and
capability, the items and the **plays** covered, by exact keys alone and with fuzzy
matching; :func:`unmatched_table` lists the most-played items no source row reached.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from moodrec.content.config import ContentConfig
from moodrec.content.match import EXACT_KINDS, link_rows
from moodrec.content.names import artist_key
from moodrec.content.sources import SourceTable
from moodrec.errors import InputDataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Catalogue:
    """Items to link: ``item_id`` + ``artist`` (+ ``title``) + id keys + ``plays``."""

    frame: pd.DataFrame
    #: ``track_id`` or ``artist_id``: what ``item_id`` is
    item_key: str

    @property
    def track_level(self) -> bool:
        return "title" in self.frame.columns


def catalogue_frame(tracks: pd.DataFrame | None, artists: pd.DataFrame | None) -> Catalogue:
    """The items of the catalogue: tracks when the log has them, else artists.

    Raises
    ------
    InputDataError
        Neither table given, or a table without its name columns.
    """
    if tracks is not None:
        need = ["track_id", "artist_name", "track_name"]
        missing = [c for c in need if c not in tracks.columns]
        if missing:
            raise InputDataError(f"content join: tracks lack column(s) {missing}")
        frame = pd.DataFrame(
            {
                "item_id": tracks["track_id"].astype(np.int64).to_numpy(),
                "artist": tracks["artist_name"].to_numpy(),
                "title": tracks["track_name"].to_numpy(),
            }
        )
        if "track_mbid" in tracks.columns:
            frame["mbid"] = tracks["track_mbid"].to_numpy()
        for c in ("spotify_id", "isrc"):
            if c in tracks.columns:
                frame[c] = tracks[c].to_numpy()
        frame["track_id"] = frame["item_id"]
        plays = tracks["n_events"] if "n_events" in tracks.columns else 1
        frame["plays"] = np.asarray(plays, dtype=np.float64) * np.ones(len(frame))
        return Catalogue(frame, "track_id")
    if artists is not None:
        missing = [c for c in ("artist_id", "artist_name") if c not in artists.columns]
        if missing:
            raise InputDataError(f"content join: artists lack column(s) {missing}")
        frame = pd.DataFrame(
            {
                "item_id": artists["artist_id"].astype(np.int64).to_numpy(),
                "artist": artists["artist_name"].to_numpy(),
            }
        )
        plays = artists["n_events"] if "n_events" in artists.columns else 1
        frame["plays"] = np.asarray(plays, dtype=np.float64) * np.ones(len(frame))
        return Catalogue(frame, "artist_id")
    raise InputDataError("content join: neither tracks nor artists were given")


def _artist_level(table: SourceTable) -> pd.DataFrame:
    """One row per artist of a track-level source: mean features, union of genres, first text."""
    f = table.frame.copy()
    f["_ak"] = [artist_key(a) for a in f["artist"]]
    f = f[f["_ak"] != ""]
    agg: dict[str, Any] = {"artist": "first"}
    for cols in table.capabilities.values():
        for c in cols:
            if c == "genres":
                agg[c] = lambda s: sorted({g for v in s for g in v})
            elif c == "text":
                agg[c] = "first"
            else:
                agg[c] = "mean"
    return f.groupby("_ak", sort=False).agg(agg).reset_index(drop=True)


def _has_payload(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    ok = np.zeros(len(frame), dtype=bool)
    for c in cols:
        col = frame[c]
        if c == "genres":
            ok |= np.array([isinstance(v, (list, np.ndarray)) and len(v) > 0 for v in col])
        elif c == "text":
            ok |= col.notna().to_numpy() & (col.astype("string").str.strip() != "").fillna(
                False
            ).to_numpy(dtype=bool)
        else:
            ok |= col.notna().to_numpy()
    return ok


def join_source(catalogue: Catalogue, table: SourceTable, cfg: ContentConfig) -> pd.DataFrame:
    """Every catalogue item with its linked source row (if any).

    Returns
    -------
    DataFrame
        ``item_id`` (named after ``catalogue.item_key``), ``plays``, ``artist`` (+ ``title``),
        ``match_key`` (``""`` when unmatched), ``match_score``, ``source_artist`` (+
        ``source_title``) and the source's payload columns (NA when unmatched), one row per
        catalogue item.
    """
    source = table.frame
    if not catalogue.track_level and table.track_level:
        source = _artist_level(table)
    links = link_rows(catalogue.frame, source, cfg)
    pos = links["source_row"].to_numpy()
    ok = pos >= 0
    cat = catalogue.frame
    out = pd.DataFrame(
        {
            catalogue.item_key: cat["item_id"].to_numpy(),
            "plays": cat["plays"].to_numpy(),
            "artist": cat["artist"].to_numpy(),
        }
    )
    if catalogue.track_level:
        out["title"] = cat["title"].to_numpy()
    out["match_key"] = links["key"].to_numpy()
    out["match_score"] = links["score"].to_numpy()
    picked = source.iloc[np.where(ok, pos, 0)].reset_index(drop=True)
    for c in ("artist", "title"):
        if c in source.columns:
            out[f"source_{c}"] = picked[c].where(ok, None).to_numpy()
    for cols in table.capabilities.values():
        for c in cols:
            vals = picked[c].to_numpy(dtype=object).copy()
            vals[~ok] = None
            out[c] = (
                vals
                if c in ("genres", "text")
                else pd.to_numeric(pd.Series(vals), errors="coerce").to_numpy(dtype=np.float64)
            )
    return out


def coverage_table(joined: dict[str, pd.DataFrame], tables: dict[str, SourceTable]) -> pd.DataFrame:
    """Per source and capability: items and plays linked, exact keys alone and all keys.

    Columns: ``source, kind, capability, columns, missing, items, plays, items_exact,
    plays_exact, items_linked, plays_linked, share_items_exact, share_plays_exact,
    share_items, share_plays`` and ``by_<key>`` item counts.
    """
    rows = []
    for name, frame in joined.items():
        t = tables[name]
        total_items, total_plays = len(frame), float(frame["plays"].sum())
        for cap, cols in t.capabilities.items():
            has = _has_payload(frame, cols)
            exact = has & frame["match_key"].isin(EXACT_KINDS).to_numpy()
            row: dict[str, Any] = {
                "source": name,
                "kind": t.kind,
                "capability": cap,
                "columns": ",".join(cols),
                "missing": ",".join(t.missing) if cap == "audio_features" else "",
                "items": total_items,
                "plays": total_plays,
                "items_exact": int(exact.sum()),
                "plays_exact": float(frame["plays"][exact].sum()),
                "items_linked": int(has.sum()),
                "plays_linked": float(frame["plays"][has].sum()),
            }
            for k, part in (("items", "items"), ("plays", "plays")):
                denom = total_items if k == "items" else total_plays
                row[f"share_{part}_exact"] = row[f"{k}_exact"] / denom if denom else 0.0
                row[f"share_{part}"] = row[f"{k}_linked"] / denom if denom else 0.0
            keys = frame["match_key"][has].value_counts()
            for k in ("spotify_id", "isrc", "mbid", "track_id", "name", "fuzzy"):
                row[f"by_{k}"] = int(keys.get(k, 0))
            rows.append(row)
    return pd.DataFrame(rows)


def unmatched_table(joined: dict[str, pd.DataFrame], top: int) -> pd.DataFrame:
    """The ``top`` most-played items of each source that no source row reached."""
    parts = []
    for name, frame in joined.items():
        miss = frame[frame["match_key"] == ""]
        cols = [c for c in frame.columns[:4] if c in ("plays", "artist", "title")]
        id_col = frame.columns[0]
        part = miss.sort_values(["plays", id_col], ascending=[False, True]).head(top)
        part = part[[id_col, *cols]].rename(columns={id_col: "item_id"})
        part.insert(0, "source", name)
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["source", "item_id", "plays", "artist", "title"])
    return pd.concat(parts, ignore_index=True)
