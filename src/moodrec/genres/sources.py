"""Readers that turn genre/tag sources into one tidy table ``(artist, genre, weight)``.

Every reader returns a new DataFrame with columns ``artist`` (str), ``genre`` (str, lower-case,
stripped) and ``weight`` (float > 0: a tag count, or 1.0 for an unweighted genre list), one row
per artist and genre.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from moodrec.errors import InputDataError

logger = logging.getLogger(__name__)

TIDY_COLUMNS = ("artist", "genre", "weight")


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Clean genre names, drop empties, sum duplicate (artist, genre) rows."""
    out = pd.DataFrame(
        {
            "artist": df["artist"].astype(str),
            "genre": df["genre"]
            .astype(str)
            .str.strip()
            .str.lower()
            .str.replace(r"\s+", " ", regex=True),
            "weight": pd.to_numeric(df["weight"], errors="coerce").astype(float),
        }
    )
    out = out[(out["genre"] != "") & (out["genre"] != "nan") & (out["weight"] > 0)]
    out = out.groupby(["artist", "genre"], as_index=False, sort=True)["weight"].sum()
    return out.reset_index(drop=True)


def validate_genre_table(df: pd.DataFrame, source: str = "genre table") -> pd.DataFrame:
    """Check a tidy genre table and return a normalised copy.

    Raises
    ------
    InputDataError
        When a column is missing, or no row is left with a positive finite weight.
    """
    missing = [c for c in TIDY_COLUMNS if c not in df.columns]
    if missing:
        raise InputDataError(f"{source}: missing column(s) {missing}; need {list(TIDY_COLUMNS)}")
    out = _normalise(df)
    out = out[np.isfinite(out["weight"])]
    if out.empty:
        raise InputDataError(f"{source}: no (artist, genre) row with a positive weight")
    return out.reset_index(drop=True)


def limit_genres_per_artist(df: pd.DataFrame, max_genres: int) -> pd.DataFrame:
    """Keep each artist's ``max_genres`` highest-weight genres (ties by name); 0 keeps all."""
    if max_genres <= 0:
        return df.copy()
    ranked = df.sort_values(["artist", "weight", "genre"], ascending=[True, False, True])
    return ranked.groupby("artist", sort=False).head(max_genres).reset_index(drop=True)


def read_sandbox_genres(truth_dir: Path | str) -> pd.DataFrame:
    """Artist genres of a sandbox world (``truth/artists.parquet``), weight 1 each.

    Raises
    ------
    InputDataError
        When ``artists.parquet`` is missing or lacks ``artist_id``/``genres``.
    """
    path = Path(truth_dir) / "artists.parquet"
    if not path.is_file():
        raise InputDataError(f"sandbox truth {path} does not exist")
    artists = pd.read_parquet(path, columns=["artist_id", "genres"])
    exploded = artists.explode("genres").dropna(subset=["genres"])
    table = pd.DataFrame(
        {"artist": exploded["artist_id"].astype(str), "genre": exploded["genres"], "weight": 1.0}
    )
    return validate_genre_table(table, str(path))


def read_hetrec_tags(folder: Path | str, min_tag_count: int = 1) -> pd.DataFrame:
    """HetRec 2011 Last.fm tags: artist → tag with the number of users who applied it.

    Reads ``user_taggedartists.dat`` (``userID artistID tagID day month year``, tab-separated)
    and ``tags.dat`` (ISO-8859-1, CRLF). Tag names are decoded as Latin-1 and joined by id;
    ``artist`` is the HetRec artist id.

    Parameters
    ----------
    folder
        The ``hetrec2011_lastfm_2k`` folder.
    min_tag_count
        Drop (artist, tag) pairs applied by fewer users than this.

    Raises
    ------
    InputDataError
        When a file is missing or lacks the expected columns.
    """
    folder = Path(folder)
    tagged_path, tags_path = folder / "user_taggedartists.dat", folder / "tags.dat"
    for p in (tagged_path, tags_path):
        if not p.is_file():
            raise InputDataError(f"HetRec file {p} does not exist")
    tags = pd.read_csv(tags_path, sep="\t", encoding="iso-8859-1", dtype={"tagID": "int64"})
    tagged = pd.read_csv(tagged_path, sep="\t", usecols=["userID", "artistID", "tagID"])
    if "tagValue" not in tags.columns:
        raise InputDataError(f"{tags_path}: expected columns tagID, tagValue")
    counts = tagged.groupby(["artistID", "tagID"], as_index=False).size()
    counts = counts[counts["size"] >= min_tag_count]
    merged = counts.merge(tags, on="tagID", how="left", validate="many_to_one")
    unknown = int(merged["tagValue"].isna().sum())
    if unknown:
        logger.warning("%s: %d tag assignments name an unknown tagID", tagged_path, unknown)
    merged = merged.dropna(subset=["tagValue"])
    table = pd.DataFrame(
        {
            "artist": merged["artistID"].astype(str),
            "genre": merged["tagValue"],
            "weight": merged["size"].astype(float),
        }
    )
    return validate_genre_table(table, str(tagged_path))


def read_spotify_artist_genres(csv_path: Path | str) -> pd.DataFrame:
    """Spotify artist micro-genres from the top40nl CSV (``Artist``, ``Artist_Genres``).

    ``Artist_Genres`` holds a comma-separated list; rows without genres are skipped. Weight is
    the number of chart rows of the artist that carry the genre.

    Raises
    ------
    InputDataError
        When the file is missing or lacks the two columns.
    """
    path = Path(csv_path)
    if not path.is_file():
        raise InputDataError(f"Spotify CSV {path} does not exist")
    df = pd.read_csv(path, usecols=lambda c: c in {"Artist", "Artist_Genres"}, dtype=str)
    if not {"Artist", "Artist_Genres"} <= set(df.columns):
        raise InputDataError(f"{path}: expected columns Artist, Artist_Genres")
    df = df.dropna(subset=["Artist_Genres"])
    genres = df["Artist_Genres"].str.split(",")
    exploded = pd.DataFrame({"artist": df["Artist"], "genre": genres}).explode("genre")
    table = exploded.assign(weight=1.0)
    return validate_genre_table(table, str(path))


def read_genre_table(path: Path | str) -> pd.DataFrame:
    """A tidy ``artist, genre, weight`` table from Parquet or CSV."""
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"genre table {path} does not exist")
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return validate_genre_table(df, str(path))


def read_spotify_tracks(csv_path: Path | str) -> pd.DataFrame:
    """Tracks of the top40nl CSV in the sandbox ``tracks`` layout (lower-case feature names).

    Adds ``track_id`` (row number), ``artist_id`` (= artist name), ``artist_name`` and ``name``;
    the CSV has no key, mode or instrumentalness.
    """
    path = Path(csv_path)
    if not path.is_file():
        raise InputDataError(f"Spotify CSV {path} does not exist")
    df = pd.read_csv(path)
    out = df.rename(columns={c: c.lower() for c in df.columns})
    out = out.rename(columns={"artist": "artist_name", "title": "name"})
    out.insert(0, "track_id", np.arange(len(out), dtype=np.int64))
    out.insert(1, "artist_id", out["artist_name"].astype(str))
    return out
