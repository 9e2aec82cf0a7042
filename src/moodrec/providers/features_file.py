"""``features_file`` provider: audio features and/or genres from a user-supplied CSV/Parquet.

Rows are keyed by whichever of Spotify id, ISRC, MusicBrainz recording id or normalised
artist+title the file has (column names from config; matching is case-insensitive). Example:
``../shared/data/spotify_top40nl_artist_genres/spotify_songs_top40nl.csv`` (upper-case
titles, comma-joined ``Artist_Genres``, no key/mode/instrumentalness).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import polars as pl

from moodrec.errors import InputDataError
from moodrec.providers.base import LookupResult, match_key
from moodrec.providers.config import FeaturesFileConfig
from moodrec.providers.spotify import FEATURE_NAMES

logger = logging.getLogger(__name__)


class FeaturesFile:
    """An in-memory index of a features file (loaded once)."""

    name = "features_file"

    def __init__(self, cfg: FeaturesFileConfig) -> None:
        path = Path(cfg.path)
        if not path.is_file():
            raise InputDataError(f"features_file: {path} does not exist")
        if path.suffix.lower() == ".parquet":
            df = pl.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".tsv"):
            df = pl.read_csv(
                path, separator="\t" if path.suffix == ".tsv" else ",", infer_schema_length=10000
            )
        else:
            raise InputDataError(f"features_file: {path} is neither CSV nor Parquet")
        lower = {c.lower(): c for c in df.columns}
        self.cfg = cfg
        self._features = {f: lower[f] for f in FEATURE_NAMES if f in lower}
        self._index: dict[tuple[str, str], dict[str, Any]] = {}
        for row in df.iter_rows(named=True):
            record = self._record(row)
            for kind, col in (
                ("spotify_id", cfg.spotify_id_column),
                ("isrc", cfg.isrc_column),
                ("mbid", cfg.mbid_column),
            ):
                if col and row.get(col):
                    self._index.setdefault((kind, str(row[col]).strip().lower()), record)
            if cfg.artist_column and cfg.title_column:
                artist, title = row.get(cfg.artist_column), row.get(cfg.title_column)
                if artist and title:
                    self._index.setdefault(("name", _name_key(artist, title)), record)
        logger.info("features_file %s: %d rows, %d keys", path.name, df.height, len(self._index))

    def _record(self, row: dict[str, Any]) -> dict[str, Any]:
        feats = {f: row[c] for f, c in self._features.items()}
        genres: list[str] = []
        if self.cfg.genres_column and row.get(self.cfg.genres_column):
            genres = [
                g.strip()
                for g in str(row[self.cfg.genres_column]).split(self.cfg.genres_separator)
                if g.strip()
            ]
        return {"features": feats, "genres": genres}

    def lookup(
        self,
        *,
        spotify_id: str | None = None,
        isrc: str | None = None,
        mbid: str | None = None,
        artist: str | None = None,
        title: str | None = None,
    ) -> LookupResult:
        """The first key that matches, in the order Spotify id, ISRC, MBID, artist+title."""
        keys = [("spotify_id", spotify_id), ("isrc", isrc), ("mbid", mbid)]
        for kind, value in keys:
            if value and (kind, value.strip().lower()) in self._index:
                return LookupResult(
                    "found", {**self._index[(kind, value.strip().lower())], "key": kind}
                )
        if artist and title and ("name", _name_key(artist, title)) in self._index:
            return LookupResult(
                "found", {**self._index[("name", _name_key(artist, title))], "key": "name"}
            )
        return LookupResult("not_found")


def _name_key(artist: str, title: str) -> str:
    return f"{match_key(artist)}\t{match_key(title)}"
