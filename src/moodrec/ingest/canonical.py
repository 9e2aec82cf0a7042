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


def _smallest_per_key(df: pl.DataFrame, by: list[str], value: str) -> pl.DataFrame:
    """One row per ``by`` key with its smallest ``value``.

    A string ``min`` per group is slow (a quarter of the whole canonicalisation), and
    most keys have one row: only the keys that repeat are aggregated.
    """
    repeated = df.select(by).is_duplicated()
    ties = df.filter(repeated).group_by(by).agg(pl.col(value).min())
    return pl.concat([df.filter(~repeated).select(*by, value), ties])


def _most_frequent(df: pl.DataFrame, by: list[str], code: str, value: str) -> pl.DataFrame:
    """Per ``by`` key, the ``value`` of the ``code`` with most events (ties → smallest value)."""
    counts = df.group_by([*by, code]).agg(pl.col(value).first(), pl.col("n").sum())
    best = counts.filter(pl.col("n") == pl.col("n").max().over(by))
    return _smallest_per_key(best, by, value)


def _dense_ids(keys: pl.Series, out: str) -> pl.Series:
    """Int32 ids dense from 0 for the distinct ``keys``, in order of first appearance."""
    firsts = keys.arg_unique().sort()  # the first row of each distinct key, in row order
    ids = pl.DataFrame(
        [keys.gather(firsts), pl.int_range(0, firsts.len(), dtype=pl.Int32, eager=True).alias(out)]
    )
    return keys.to_frame().join(ids, on=keys.name, how="left", maintain_order="left")[out]


def _filled(df: pl.DataFrame, col: str, fill: pl.DataFrame, by: list[str]) -> pl.Series:
    """``df[col]`` with its nulls taken from ``fill`` (``by`` → ``col``) where ``by`` matches.

    Only the rows with a null are joined (a few percent of them): the result is the
    same as a left join of every row followed by a coalesce.
    """
    missing = df[col].is_null().arg_true()
    if missing.len() == 0 or fill.height == 0:
        return df[col]
    got = df.select(by).gather(missing).join(fill, on=by, how="left", maintain_order="left")[col]
    return df[col].clone().scatter(missing, got)


def _display(df: pl.DataFrame, by: str, name: str) -> pl.DataFrame:
    """Display name (most frequent; ties → smallest) and sorted other spellings per id.

    One row per id, sorted by id.
    """
    counts = df.group_by(by, f"{name}_code").agg(pl.col(name).first(), pl.col("n").sum())
    best = _smallest_per_key(counts.filter(pl.col("n") == pl.col("n").max().over(by)), [by], name)
    # only ids spelt more than one way have other spellings
    others = (
        counts.filter(pl.col(by).is_duplicated())
        .join(best.rename({name: "_best"}), on=by, how="left")
        .filter(pl.col(name) != pl.col("_best"))
        .group_by(by)
        .agg(pl.col(name).sort().alias("name_variants"))
    )
    return (
        best.join(others, on=by, how="left")
        .with_columns(pl.col("name_variants").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .sort(by)
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
    # every column below stays in input order (row i = combination i), so no join may
    # reorder the rows: the ids come from order of first appearance
    df = combos.select(
        "artist_mbid",
        pl.col("artist_name").fill_null(""),
        "track_mbid",
        pl.col("track_name").fill_null(""),
        pl.col("n").cast(pl.Int64),
    ).with_columns(
        _codes("artist_mbid").alias("am"),
        _codes("track_mbid").alias("tm"),
        pl.col("artist_name").hash().alias("artist_name_code"),
        pl.col("track_name").hash().alias("track_name_code"),
    )
    # a few spellings cover many combinations: normalise each distinct artist spelling once
    # (its name code stands for it, as in _display) and keep two codes of the result
    firsts = df["artist_name_code"].arg_unique()
    norm = normalise_names(df["artist_name"].gather(firsts))
    spellings = pl.DataFrame([df["artist_name_code"].gather(firsts), norm.alias("norm")]).select(
        "artist_name_code",
        pl.col("norm").hash().alias("an"),
        (pl.lit("\x00") + pl.col("norm")).hash().alias("_name_key"),
    )
    df = pl.concat(
        [
            df,
            df.select("artist_name_code")
            .join(spellings, on="artist_name_code", how="left", maintain_order="left")
            .drop("artist_name_code"),
        ],
        how="horizontal",
    )
    track_norm = normalise_names(df["track_name"])
    df = df.with_columns(track_norm.hash().alias("tn"))
    # --- artists: MBID, else the MBID most seen with the normalised name, else the name
    fill = _most_frequent(df.filter(pl.col("am").is_not_null()), ["an"], "am", "artist_mbid")
    df = df.with_columns(_filled(df, "artist_mbid", fill, ["an"]).alias("artist_mbid_c"))
    # identity: the (filled) MBID, else the normalised name (NUL cannot be in an MBID)
    akey = df.select(
        pl.when(pl.col("artist_mbid_c").is_not_null())
        .then(pl.col("artist_mbid_c").hash())
        .otherwise(pl.col("_name_key"))
    ).to_series()
    df = df.with_columns(_dense_ids(akey.alias("akey"), "artist_id"))
    artist_totals = (
        df.group_by("artist_id")
        .agg(
            pl.col("artist_mbid_c").first().alias("artist_mbid"),
            pl.col("n").sum().alias("n_events"),
        )
        .sort("artist_id")
    )
    artists = pl.concat(
        [_display(df, "artist_id", "artist_name"), artist_totals.drop("artist_id")],
        how="horizontal",
    ).select("artist_id", "artist_mbid", "artist_name", "name_variants", "n_events")
    # --- tracks: MBID, else the MBID most seen with (artist, normalised title), else that
    by = ["artist_id", "tn"]
    fill = _most_frequent(df.filter(pl.col("tm").is_not_null()), by, "tm", "track_mbid")
    df = df.with_columns(_filled(df, "track_mbid", fill, by).alias("track_mbid_c"))
    tkey = df["track_mbid_c"].hash()
    no_mbid = df["track_mbid_c"].is_null().arg_true()
    if no_mbid.len():
        title_key = pl.concat_str(
            pl.lit("\x00"), pl.col("artist_id").cast(pl.String), pl.lit("\x00"), "track_norm"
        ).hash()
        keyed = pl.DataFrame(
            [df["artist_id"].gather(no_mbid), track_norm.gather(no_mbid).alias("track_norm")]
        )
        tkey = tkey.scatter(no_mbid, keyed.select(title_key).to_series())
    df = df.with_columns(_dense_ids(tkey.alias("tkey"), "track_id"))
    # a track MBID seen with several artists belongs to its most frequent one
    pair = (pl.col("track_id").cast(pl.Int64) * (1 << 32) + pl.col("artist_id")).alias("_pair")
    track_artist = (
        df.group_by(pair)
        .agg(pl.col("n").sum())
        .select(
            (pl.col("_pair") // (1 << 32)).cast(pl.Int32).alias("track_id"),
            (pl.col("_pair") % (1 << 32)).cast(pl.Int32).alias("artist_id"),
            "n",
        )
        .filter(pl.col("n") == pl.col("n").max().over("track_id"))
        .group_by("track_id")
        .agg(pl.col("artist_id").min())
        .sort("track_id")
    )
    track_totals = (
        df.group_by("track_id")
        .agg(
            pl.col("track_mbid_c").first().alias("track_mbid"), pl.col("n").sum().alias("n_events")
        )
        .sort("track_id")
    )
    tracks = pl.concat(
        [
            _display(df, "track_id", "track_name"),
            track_totals.drop("track_id"),
            track_artist.select(
                "artist_id", artists["artist_name"].gather(track_artist["artist_id"])
            ),
        ],
        how="horizontal",
    ).select(
        "track_id",
        "track_mbid",
        "artist_id",
        "artist_name",
        "track_name",
        "name_variants",
        "n_events",
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
        key_map=df.select("artist_id", "track_id"),
        artists=artists,
        tracks=tracks,
        stats={k: int(v or 0) for k, v in stats.items()},
    )
