"""Read a content source into one frame of match keys + payload, adapting to its columns.

Whatever a file calls its columns (``Artist``/``artist_name``, ``Title``/``track_name`` …),
:func:`read_source` returns ``artist``, ``title`` (track-level sources), the id keys it has
(``spotify_id``, ``isrc``, ``mbid``, ``track_id``) and the payload of its kind:

- ``features``: the audio features the file has (lower-case names; those it lacks are listed
  in ``missing``, not an error) and ``genres`` when it has a genre column;
- ``lyrics``: ``text``;
- ``genres``: ``genres`` (a list per row; artist-level when the file has no title);
- ``hetrec_tags``: ``genres`` = an artist's HetRec tags, most-assigned first (artist-level).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from moodrec.content.config import ContentSource
from moodrec.domain import AUDIO_FEATURES
from moodrec.errors import InputDataError

logger = logging.getLogger(__name__)

#: column names tried, in order, for each standard column (compared case-insensitively)
CANDIDATES: dict[str, tuple[str, ...]] = {
    "artist": ("artist", "artist_name", "artistname", "artists", "performer", "band"),
    "title": (
        "title",
        "track_name",
        "trackname",
        "track",
        "song",
        "song_name",
        "track_title",
        "name",
    ),
    "spotify_id": ("spotify_id", "spotify_track_id", "track_uri", "spotify_uri", "uri"),
    "isrc": ("isrc",),
    "mbid": ("track_mbid", "recording_mbid", "recording_id", "mbid", "musicbrainz_id"),
    "track_id": ("track_id",),
    "text": ("lyrics", "text", "lyric", "lyrics_text"),
    "genres": ("genres", "artist_genres", "genre", "tags"),
}
#: capability of each source kind → the payload columns that carry it
CAPABILITIES = {
    "features": "audio_features",
    "lyrics": "lyrics",
    "genres": "genres",
    "hetrec_tags": "genres",
}


@dataclass(frozen=True)
class SourceTable:
    """A content source read into standard columns."""

    name: str
    kind: str
    frame: pd.DataFrame
    #: capability → payload columns (e.g. ``{"audio_features": ["danceability", …]}``)
    capabilities: dict[str, list[str]]
    #: expected payload columns the file lacks (e.g. ``instrumentalness``)
    missing: list[str] = field(default_factory=list)
    #: standard column → the file's column it came from
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def track_level(self) -> bool:
        return "title" in self.frame.columns


def _read_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputDataError(f"content source {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".csv", ".tsv", ".txt"):
            sep = "\t" if suffix == ".tsv" else None
            return pd.read_csv(path, sep=sep, engine="python" if sep is None else "c")
        if suffix in (".json", ".jsonl"):
            if suffix == ".jsonl":
                return pd.read_json(path, lines=True)
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):  # {"songs": [...]} or column-oriented
                lists = [v for v in data.values() if isinstance(v, list)]
                data = lists[0] if len(lists) == 1 else data
            return pd.DataFrame(data)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputDataError(f"content source {path}: cannot read ({exc})") from exc
    raise InputDataError(
        f"content source {path}: unknown format {suffix!r} (CSV, TSV, JSON, JSONL or Parquet)"
    )


def _find(frame: pd.DataFrame, std: str, configured: str | None) -> str | None:
    if configured:
        if configured not in frame.columns:
            raise InputDataError(
                f"configured column {configured!r} not in the file (columns: {list(frame.columns)})"
            )
        return configured
    lower = {str(c).lower(): c for c in frame.columns}
    for cand in CANDIDATES[std]:
        if cand in lower:
            return str(lower[cand])
    return None


def _genre_list(value: object, sep: str) -> list[str]:
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [str(v) for v in value]
    else:
        items = str(value).split(sep)
    return [g.strip().lower() for g in items if str(g).strip()]


def _spotify_id(value: object) -> object:
    if isinstance(value, str) and value.startswith("spotify:track:"):
        return value.rsplit(":", 1)[-1]
    if isinstance(value, str) and "open.spotify.com/track/" in value:
        return value.rsplit("/", 1)[-1].split("?")[0]
    return value


def read_source(src: ContentSource) -> SourceTable:
    """Read ``src`` (see the module docstring).

    Raises
    ------
    InputDataError
        Missing/unreadable file, a configured column the file lacks, or a file with neither
        names (artist) nor an id key to link by, or without the payload of its kind.
    """
    if src.kind == "hetrec_tags":
        return _read_hetrec_tags(src)
    path = Path(src.path)
    raw = _read_file(path)
    configured = {
        "artist": src.artist_column,
        "title": src.title_column,
        "spotify_id": src.spotify_id_column,
        "isrc": src.isrc_column,
        "mbid": src.mbid_column,
        "track_id": src.track_id_column,
        "text": src.text_column,
        "genres": src.genres_column,
    }
    cols = {std: c for std in CANDIDATES if (c := _find(raw, std, configured[std])) is not None}
    keys = [k for k in ("artist", "spotify_id", "isrc", "mbid", "track_id") if k in cols]
    if not keys:
        raise InputDataError(
            f"content source {src.name} ({path}): no column to link by; expected an artist "
            f"(+ title) or one of spotify_id, isrc, track_mbid, track_id "
            f"(columns: {list(raw.columns)})"
        )
    out = pd.DataFrame(index=raw.index)
    for std in ("artist", "title", "spotify_id", "isrc", "mbid", "track_id"):
        if std in cols:
            out[std] = raw[cols[std]]
    if "spotify_id" in out:
        out["spotify_id"] = out["spotify_id"].map(_spotify_id)
    capabilities: dict[str, list[str]] = {}
    missing: list[str] = []
    if src.kind == "features":
        lower = {str(c).lower(): c for c in raw.columns}
        present = [f for f in AUDIO_FEATURES if f in lower]
        missing = [f for f in AUDIO_FEATURES if f not in lower]
        for f in present:
            out[f] = pd.to_numeric(raw[lower[f]], errors="coerce").astype(np.float64)
        if not present and "genres" not in cols:
            raise InputDataError(
                f"content source {src.name} ({path}): no audio feature column "
                f"(expected some of {list(AUDIO_FEATURES)}) and no genre column"
            )
        if present:
            capabilities["audio_features"] = present
    elif src.kind == "lyrics":
        if "text" not in cols:
            raise InputDataError(
                f"content source {src.name} ({path}): no lyrics column (tried "
                f"{list(CANDIDATES['text'])}; set text_column)"
            )
        out["text"] = raw[cols["text"]].astype("string")
        capabilities["lyrics"] = ["text"]
    elif "genres" not in cols:
        raise InputDataError(
            f"content source {src.name} ({path}): no genre column (tried "
            f"{list(CANDIDATES['genres'])}; set genres_column)"
        )
    if "genres" in cols and src.kind in ("features", "genres"):
        out["genres"] = [_genre_list(v, src.genres_separator) for v in raw[cols["genres"]]]
        capabilities["genres"] = ["genres"]
    if missing:
        logger.info("content source %s lacks %s (left out)", src.name, missing)
    return SourceTable(src.name, src.kind, out.reset_index(drop=True), capabilities, missing, cols)


def _read_hetrec_tags(src: ContentSource) -> SourceTable:
    from moodrec.ingest.hetrec import read_dat

    folder = Path(src.path)
    artists = read_dat(folder / "artists.dat").to_pandas()
    tags = read_dat(folder / "tags.dat").to_pandas()
    tagged = read_dat(folder / "user_taggedartists.dat").to_pandas()
    named = tagged.merge(tags, on="tagID").groupby(["artistID", "tagValue"]).size()
    named = named.reset_index(name="n").sort_values(["artistID", "n"], ascending=[True, False])
    lists = named.groupby("artistID")["tagValue"].agg(lambda s: [str(t).lower() for t in s])
    out = pd.DataFrame(
        {
            "artist": artists["name"].to_numpy(),
            "genres": [lists.get(i, []) for i in artists["id"]],
        }
    )
    return SourceTable(
        src.name, src.kind, out, {"genres": ["genres"]}, [], {"artist": "artists.dat:name"}
    )
