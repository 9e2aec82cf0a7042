"""Settings of the content join (the ``content`` section): sources and matching thresholds.

A leaf of the import graph (imports only :mod:`moodrec.stage_config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from moodrec.stage_config import StageConfig

#: what a source holds: audio features (+ genres), lyric texts, genre lists, HetRec tags
SourceKind = Literal["features", "lyrics", "genres", "hetrec_tags"]


class ContentSource(StageConfig):
    """One content file and, where auto-detection would guess wrong, its column names.

    Columns are found case-insensitively among common names (``artist``, ``artist_name``,
    ``title``, ``track_name``, ``name``, ``spotify_id``, ``isrc``, ``track_mbid`` …); a
    column named here wins. ``path`` is a CSV/TSV/JSON/Parquet file, or the HetRec folder
    for ``hetrec_tags``.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    kind: SourceKind
    path: Path
    artist_column: str | None = None
    title_column: str | None = None
    track_id_column: str | None = None
    spotify_id_column: str | None = None
    isrc_column: str | None = None
    mbid_column: str | None = None
    text_column: str | None = None
    genres_column: str | None = None
    genres_separator: str = ","


class ContentConfig(StageConfig):
    """The content join: which sources, how names are matched, what the coverage shows.

    Every catalogue track is linked to each source by the first key that matches, in the
    order Spotify id, ISRC, MusicBrainz id, moodrec ``track_id``, exact normalised artist +
    title (``name``), then ``fuzzy``: the source rows of the same normalised artist (or of
    an artist within ``artist_threshold_with_title``) are searched for the closest title,
    accepted at ``title_threshold`` or above when both agree on remix/acoustic/… words
    (rapidfuzz scores, 0-100); artist-level links accept a fuzzy artist only by the stricter
    ``artist_threshold`` rule.
    """

    sources: tuple[ContentSource, ...] = ()
    fuzzy: bool = True
    title_threshold: float = Field(default=90.0, ge=0, le=100)
    #: artist names alone (artist-level sources or catalogues) differ by one letter between
    #: different artists (Ryan/Bryan Adams): a fuzzy artist match needs the same name without
    #: spaces and punctuation, or this score on a name of ``artist_min_chars`` or more
    artist_threshold: float = Field(default=96.0, ge=0, le=100)
    artist_min_chars: int = Field(default=12, ge=1)
    #: the compact-name rule needs this many letters (E.L.P. is not El-P, Ma$e not Mae)
    artist_min_compact: int = Field(default=6, ge=1)
    #: with a matching title as further evidence, a looser artist score is enough
    artist_threshold_with_title: float = Field(default=90.0, ge=0, le=100)
    #: catalogue artists without an exact artist block that are fuzzy-matched, most played first
    max_fuzzy_artists: int = Field(default=50_000, ge=0)
    #: most-played unmatched tracks listed per source in the coverage report
    top_unmatched: int = Field(default=25, ge=0)

    @model_validator(mode="after")
    def _unique_names(self) -> ContentConfig:
        names = [s.name for s in self.sources]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"content.sources: duplicate name(s) {dup}")
        return self
