"""Random-looking but seeded identifiers and names: UUID4 MBIDs, artist and track names."""

from __future__ import annotations

import numpy as np
import polars as pl

from moodrec.sandbox import vocab

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Byte positions of the 32 hex digits inside the 36-character canonical UUID text.
_HEX_POS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def make_mbids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` UUID4 strings (MusicBrainz id layout) from ``rng``.

    Parameters
    ----------
    rng
        The stream to draw from; equal streams give equal ids.
    n
        How many ids.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``, dtype ``<U36``, e.g. ``"f1b1cf71-bd35-4e99-8624-24a6e15f133a"``.
    """
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    text[:, _HEX_POS] = _HEX[nibbles]
    return text.view("S36").ravel().astype("U36")


def _pick(rng: np.random.Generator, words: tuple[str, ...], n: int) -> np.ndarray:
    return np.asarray(words, dtype=object)[rng.integers(0, len(words), size=n)]


def _non_ascii_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Names in Japanese, Cyrillic or accented Latin (one or two words)."""
    script = rng.integers(0, 3, size=n)
    jp = _pick(rng, vocab.JAPANESE_WORDS, n) + _pick(rng, vocab.JAPANESE_WORDS, n)
    cy = _pick(rng, vocab.CYRILLIC_WORDS, n) + " " + _pick(rng, vocab.CYRILLIC_WORDS, n)
    la = _pick(rng, vocab.ACCENTED_WORDS, n) + " " + _pick(rng, vocab.LAST_NAMES, n)
    return np.where(script == 0, jp, np.where(script == 1, cy, la))


def artist_names(rng: np.random.Generator, n: int, non_ascii_share: float) -> np.ndarray:
    """Draw ``n`` distinct artist names (band names, person names, prefixed names).

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``, dtype object; all names distinct, no tabs or newlines.
    """
    out = np.empty(n, dtype=object)
    todo = np.arange(n)
    # The first round mixes all patterns; redraws of clashing names use the two patterns
    # with millions of combinations, so big worlds converge in a round or two.
    first_round = [0.17, 0.15, 0.14, 0.13, 0.24, 0.07, 0.10]
    redraw = [0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.5]
    for round_ in range(8):
        m = todo.size
        pattern = rng.choice(7, size=m, p=first_round if round_ == 0 else redraw)
        adjective = _pick(rng, vocab.ADJECTIVES, m)
        the_band = "The " + adjective + " " + _pick(rng, vocab.PLURAL_NOUNS, m)
        adj_noun = _pick(rng, vocab.ADJECTIVES, m) + " " + _pick(rng, vocab.NOUNS, m)
        noun_noun = _pick(rng, vocab.NOUNS, m) + " " + _pick(rng, vocab.NOUNS, m)
        person = _pick(rng, vocab.FIRST_NAMES, m) + " " + _pick(rng, vocab.LAST_NAMES, m)
        initial = np.asarray([chr(ord("A") + i) for i in range(26)], dtype=object)[
            rng.integers(0, 26, size=m)
        ]
        first = _pick(rng, vocab.FIRST_NAMES, m)
        person_mid = first + " " + initial + ". " + _pick(rng, vocab.LAST_NAMES, m)
        prefixed = _pick(rng, vocab.ARTIST_PREFIXES, m) + " " + _pick(rng, vocab.NOUNS, m)
        three = (
            _pick(rng, vocab.ADJECTIVES, m)
            + " "
            + _pick(rng, vocab.NOUNS, m)
            + " "
            + _pick(rng, vocab.PLURAL_NOUNS, m)
        )
        names = np.choose(
            pattern, [the_band, adj_noun, noun_noun, person, person_mid, prefixed, three]
        )
        exotic = rng.random(m) < non_ascii_share
        names = np.where(exotic, _non_ascii_names(rng, m), names)
        if round_ == 7:  # last resort: a number makes it unique
            names = names + " " + (todo + 1).astype(str).astype(object)
        out[todo] = names
        todo = _duplicates(out)
        if todo.size == 0:
            break
    return out


def _duplicates(names: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """Positions of every later occurrence of an already seen (group, name)."""
    frame = pl.DataFrame({"name": names.astype(str)})
    if group is not None:
        frame = frame.with_columns(pl.Series("group", group))
        keys = ["group", "name"]
    else:
        keys = ["name"]
    dup = frame.select(pl.int_range(pl.len()).over(keys).alias("k"))["k"].to_numpy()
    return np.flatnonzero(dup > 0)


def track_names(
    rng: np.random.Generator, artist_of_track: np.ndarray, non_ascii_share: float
) -> np.ndarray:
    """Draw track names, distinct within each artist.

    Parameters
    ----------
    rng
        Stream to draw from.
    artist_of_track
        Shape ``(n_tracks,)``: artist index of each track.
    non_ascii_share
        Share of names in a non-Latin script or with accents.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_tracks,)``, dtype object.
    """
    n = artist_of_track.size
    pattern = rng.choice(6, size=n, p=[0.28, 0.18, 0.10, 0.20, 0.12, 0.12])
    adj_noun = _pick(rng, vocab.ADJECTIVES, n) + " " + _pick(rng, vocab.NOUNS, n)
    noun = _pick(rng, vocab.NOUNS, n)
    the_noun = "The " + _pick(rng, vocab.NOUNS, n)
    phrase = _pick(rng, vocab.TRACK_PHRASES, n) + " " + _pick(rng, vocab.NOUNS, n)
    of_noun = _pick(rng, vocab.NOUNS, n) + " of " + _pick(rng, vocab.PLURAL_NOUNS, n)
    adj_plural = _pick(rng, vocab.ADJECTIVES, n) + " " + _pick(rng, vocab.PLURAL_NOUNS, n)
    names = np.choose(pattern, [adj_noun, noun, the_noun, phrase, of_noun, adj_plural])
    exotic = rng.random(n) < non_ascii_share
    names = np.where(exotic, _non_ascii_names(rng, n), names)
    suffixed = rng.random(n) < 0.08
    names = np.where(suffixed, names + _pick(rng, vocab.TRACK_SUFFIXES, n), names)
    return dedupe_within(names, artist_of_track)


def dedupe_within(names: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Make names distinct within each group by appending ``Pt. 2``, ``Pt. 3`` …"""
    names = names.copy()
    for _ in range(4):
        dup = _duplicates(names, group)
        if dup.size == 0:
            return names
        frame = pl.DataFrame({"g": group[dup], "name": names[dup].astype(str)})
        k = frame.select(pl.int_range(pl.len()).over(["g", "name"]).alias("k"))["k"]
        names[dup] = names[dup] + " Pt. " + (k.to_numpy() + 2).astype(str).astype(object)
    return names
