"""Canonical artist and track identities from the distinct raw name combinations.

Rules
-----
* Names are compared after :func:`normalise_names`: NFKC, case folding, runs of
  whitespace collapsed to one space, ends stripped.
* **Artist** = its artist MBID; a row without one takes the MBID most often seen
  (by events; ties → smallest MBID) with the same normalised artist name, and
  otherwise is identified by the normalised name.
* **Track** = its track MBID; a row without one takes the MBID most often seen with
  the same (canonical artist, normalised track name) key, and otherwise is
  identified by that key. The artist is part of the key, so one title by two artists
  is two tracks.
* Display name = the most frequent raw spelling (ties → lexicographically smallest);
  ``name_variants`` lists the other spellings seen, sorted.
* Ids are dense from 0 in order of first appearance in the log, so equal input gives
  equal ids whatever the thread count.

All work happens on the distinct combinations (about a million rows for the full
Last.fm 1K log), never on the 19M events, and groups on 64-bit hashes of the strings
(equality codes; a collision among ~1M distinct strings has probability ~3e-8)
rather than on the strings themselves.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import polars as pl

#: every cased code point lies below this (Adlam ends at U+1E943); scanning stops there
_LAST_CASED = 0x1E9FF


@functools.cache
def _casefold_special() -> str:
    """Regex class of the characters whose casefold differs from their lowercase.

    For strings without them, Unicode lowercase (polars) equals ``str.casefold``;
    capital sigma is included because lowercasing it depends on its context.
    """
    chars = {
        ch
        for ch in map(chr, range(_LAST_CASED + 1))
        if not 0xD800 <= ord(ch) <= 0xDFFF and ch.casefold() != ch.lower()
    }
    chars.add("\u03a3")
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


def normalise_names(names: pl.Series) -> pl.Series:
    """Normalise names for identity: NFKC, casefold, whitespace collapsed and stripped.

    Equivalent to ``" ".join(unicodedata.normalize("NFKC", s).casefold().split())``
    (on Unicode whitespace); polars does NFKC (non-ASCII names only) and lowercasing,
    and only the few names holding characters whose casefold differs from their
    lowercase (``ß``, final sigma, ...) go through Python's ``str.casefold``.

    Parameters
    ----------
    names
        String series (nulls become ``""``).

    Returns
    -------
    pl.Series
        Normalised strings, same length and order.
    """
    s = names.fill_null("")
    non_ascii = s.str.len_bytes() != s.str.len_chars()
    if non_ascii.any():
        idx = non_ascii.arg_true()
        nfkc = s.gather(idx).str.normalize("NFKC")
        s = s.scatter(idx, nfkc)
        special = nfkc.str.contains(_casefold_special())
        out = s.str.to_lowercase()
        if special.any():
            sidx = idx.filter(special)
            folded = [x.casefold() for x in s.gather(sidx).to_list()]
            out = out.scatter(sidx, pl.Series(folded, dtype=pl.String))
    else:
        out = s.str.to_lowercase()
    has_ws = out.str.contains(r"^\s|\s$|\s\s|[^\S ]")
    if has_ws.any():
        idx = has_ws.arg_true()
        out = out.scatter(idx, out.gather(idx).str.replace_all(r"\s+", " ").str.strip_chars())
    return out.alias(names.name)


def _codes(col: str) -> pl.Expr:
    """64-bit hash per string, used as an equality code (null stays null)."""
    return pl.when(pl.col(col).is_not_null()).then(pl.col(col).hash())


def _most_frequent(df: pl.DataFrame, by: list[str], code: str, value: str) -> pl.DataFrame:
    """Per ``by`` key, the ``value`` of the ``code`` with most events (ties → smallest value)."""
    counts = df.group_by([*by, code]).agg(pl.col(value).first(), pl.col("n").sum())
    return (
        counts.filter(pl.col("n") == pl.col("n").max().over(by))
        .group_by(by)
        .agg(pl.col(value).min(), pl.col(code).sort_by(value).first())
    )


def _dense_by_first(df: pl.DataFrame, key: str, out: str) -> pl.DataFrame:
    """Ids dense from 0 for the distinct ``key`` values, in order of first appearance."""
    ids = (
        df.group_by(key)
        .agg(pl.col("first").min())
        .sort("first")
        .with_row_index(out)
        .select(key, pl.col(out).cast(pl.Int32))
    )
    return df.join(ids, on=key, how="left")


def _display(df: pl.DataFrame, by: str, name: str) -> pl.DataFrame:
    """Display name (most frequent; ties → smallest) and sorted other spellings per id."""
    counts = df.group_by(by, f"{name}_code").agg(pl.col(name).first(), pl.col("n").sum())
    best = (
        counts.filter(pl.col("n") == pl.col("n").max().over(by))
        .group_by(by)
        .agg(pl.col(name).min())
    )
    others = (
        counts.join(best, on=[by, name], how="anti")
        .group_by(by)
        .agg(pl.col(name).sort().alias("name_variants"))
    )
    return best.join(others, on=by, how="left").with_columns(
        pl.col("name_variants").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )


@dataclass
class Canonical:
    """Canonical tables and the map from raw combination key to ids.

    Attributes
    ----------
    key_map
        ``artist_id``, ``track_id`` (Int32), one row per input combination, in input
        order (row ``i`` is combination ``i``).
    artists
        ``artist_id, artist_mbid, artist_name, name_variants, n_events``.
    tracks
        ``track_id, track_mbid, artist_id, artist_name, track_name, name_variants,
        n_events`` (``n_listeners`` is added from the plays).
    stats
        Event counts: ``missing_artist_mbid``, ``missing_track_mbid`` (raw log),
        ``filled_artist_mbid``, ``filled_track_mbid`` (taken from elsewhere).
    """

    key_map: pl.DataFrame
    artists: pl.DataFrame
    tracks: pl.DataFrame
    stats: dict[str, int]


def canonicalise(combos: pl.DataFrame) -> Canonical:
    """Resolve artist and track identities for the distinct raw name combinations.

    Parameters
    ----------
    combos
        ``key`` (UInt64), ``artist_mbid``, ``artist_name``, ``track_mbid``,
        ``track_name`` (String, null = empty), ``n`` (events with that combination),
        in order of first appearance in the log.

    Returns
    -------
    Canonical
    """
    df = combos.with_row_index("first").with_columns(
        pl.col("n").cast(pl.Int64),
        pl.col("artist_name").fill_null(""),
        pl.col("track_name").fill_null(""),
    )
    df = df.with_columns(
        normalise_names(df["artist_name"]).alias("artist_norm"),
        normalise_names(df["track_name"]).alias("track_norm"),
    ).with_columns(
        _codes("artist_norm").alias("an"),
        _codes("track_norm").alias("tn"),
        _codes("artist_mbid").alias("am"),
        _codes("track_mbid").alias("tm"),
        _codes("artist_name").alias("artist_name_code"),
        _codes("track_name").alias("track_name_code"),
    )
    # --- artists: MBID, else the MBID most seen with the normalised name, else the name
    fill = _most_frequent(df.filter(pl.col("am").is_not_null()), ["an"], "am", "artist_mbid")
    df = df.join(
        fill.rename({"am": "am_fill", "artist_mbid": "artist_mbid_fill"}), on="an", how="left"
    ).with_columns(
        pl.coalesce("artist_mbid", "artist_mbid_fill").alias("artist_mbid_c"),
        # identity: the (filled) MBID, else the normalised name (NUL cannot be in an MBID)
        pl.coalesce("artist_mbid", "artist_mbid_fill", pl.lit("\x00") + pl.col("artist_norm"))
        .hash()
        .alias("akey"),
    )
    df = _dense_by_first(df, "akey", "artist_id")
    artists = (
        _display(df, "artist_id", "artist_name")
        .join(
            df.group_by("artist_id").agg(
                pl.col("artist_mbid_c").first().alias("artist_mbid"),
                pl.col("n").sum().alias("n_events"),
            ),
            on="artist_id",
        )
        .sort("artist_id")
        .select("artist_id", "artist_mbid", "artist_name", "name_variants", "n_events")
    )
    # --- tracks: MBID, else the MBID most seen with (artist, normalised title), else that
    by = ["artist_id", "tn"]
    fill = _most_frequent(df.filter(pl.col("tm").is_not_null()), by, "tm", "track_mbid")
    df = df.join(
        fill.rename({"tm": "tm_fill", "track_mbid": "track_mbid_fill"}), on=by, how="left"
    ).with_columns(
        pl.coalesce("track_mbid", "track_mbid_fill").alias("track_mbid_c"),
        pl.coalesce(
            "track_mbid",
            "track_mbid_fill",
            pl.concat_str(
                pl.lit("\x00"), pl.col("artist_id").cast(pl.String), pl.lit("\x00"), "track_norm"
            ),
        )
        .hash()
        .alias("tkey"),
    )
    df = _dense_by_first(df, "tkey", "track_id")
    # a track MBID seen with several artists belongs to its most frequent one
    track_artist = (
        df.group_by("track_id", "artist_id")
        .agg(pl.col("n").sum())
        .filter(pl.col("n") == pl.col("n").max().over("track_id"))
        .group_by("track_id")
        .agg(pl.col("artist_id").min())
    )
    tracks = (
        _display(df, "track_id", "track_name")
        .join(
            df.group_by("track_id").agg(
                pl.col("track_mbid_c").first().alias("track_mbid"),
                pl.col("n").sum().alias("n_events"),
            ),
            on="track_id",
        )
        .join(track_artist, on="track_id")
        .join(artists.select("artist_id", "artist_name"), on="artist_id", how="left")
        .sort("track_id")
        .select(
            "track_id",
            "track_mbid",
            "artist_id",
            "artist_name",
            "track_name",
            "name_variants",
            "n_events",
        )
    )
    missing_a = pl.col("artist_mbid").is_null()
    missing_t = pl.col("track_mbid").is_null()
    stats = df.select(
        pl.col("n").filter(missing_a).sum().alias("missing_artist_mbid"),
        pl.col("n").filter(missing_t).sum().alias("missing_track_mbid"),
        pl.col("n")
        .filter(missing_a & pl.col("artist_mbid_c").is_not_null())
        .sum()
        .alias("filled_artist_mbid"),
        pl.col("n")
        .filter(missing_t & pl.col("track_mbid_c").is_not_null())
        .sum()
        .alias("filled_track_mbid"),
    ).row(0, named=True)
    return Canonical(
        key_map=df.select("artist_id", "track_id", "first").sort("first").drop("first"),
        artists=artists,
        tracks=tracks,
        stats={k: int(v or 0) for k, v in stats.items()},
    )
