"""The real Last.fm 1K log's quirks, planted into the sandbox world's catalogue.

Missing artist / track MBIDs (some tracks only in part of their plays), names with inner and
leading double quotes, non-ASCII names, and an MBID seen under two spellings of its track
name. :func:`plant_quirks` returns the :class:`Catalogue`: names and MBIDs as the log shows
them and, per event, which rendering of its track the log line carries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from moodrec.sandbox import vocab
from moodrec.sandbox.listening import Listening
from moodrec.sandbox.music import Artists, Tracks
from moodrec.sandbox.names import artist_names, dedupe_within, make_mbids, track_names

#: Target shares of log events with an empty artist MBID / empty track MBID (real file:
#: about 3 % and 11 %), and the part of the latter from tracks missing it only sometimes.
ARTIST_MBID_EMPTY_SHARE = 0.03
TRACK_MBID_EMPTY_SHARE = 0.11
PARTIAL_MBID_SHARE = 0.01


@dataclass(frozen=True)
class Names:
    artist: np.ndarray
    track: np.ndarray
    artist_mbid: np.ndarray
    track_mbid: np.ndarray


def draw_names(rng: np.random.Generator, tracks: Tracks) -> Names:
    n_artists = int(tracks.artist[-1]) + 1
    return Names(
        artist=artist_names(rng, n_artists, non_ascii_share=0.04),
        track=track_names(rng, tracks.artist, non_ascii_share=0.03),
        artist_mbid=make_mbids(rng, n_artists),
        track_mbid=make_mbids(rng, tracks.artist.size),
    )


@dataclass(frozen=True)
class Catalogue:
    """Names and MBIDs as they appear in the log, and how each event renders."""

    artist_name: np.ndarray
    artist_mbid: np.ndarray  # "" where the artist has no MBID
    track_name: np.ndarray  # canonical spelling
    track_mbid: np.ndarray  # "" where the track never has an MBID
    plays: np.ndarray  # plays per track
    partial: np.ndarray  # track ids whose MBID is dropped in some plays
    spelling: np.ndarray  # track ids with a second spelling
    alt_name: np.ndarray  # per spelling track
    tails: pl.Series  # "artist mbid\tartist\ttrack mbid\ttrack" per variant
    event_tail: np.ndarray  # per event (chronological order): index into tails
    artist_mbid_empty_share: float
    track_mbid_empty_share: float


def _greedy_pick(order: np.ndarray, counts: np.ndarray, target: float) -> list[int]:
    """Take items in ``order`` whose counts add up to about ``target`` without overshoot."""
    taken: list[int] = []
    if target <= 0:
        return taken
    total = 0
    hi = target * 1.15
    for i in order.tolist():
        c = int(counts[i])
        if c == 0 or total + c > hi:
            continue
        taken.append(i)
        total += c
        if total >= target:
            break
    return taken


def plant_quirks(
    rng: np.random.Generator,
    artists: Artists,
    tracks: Tracks,
    listening: Listening,
    names: Names,
) -> Catalogue:
    n_events = listening.track.size
    n_tracks = tracks.artist.size
    n_artists = artists.n_tracks.size
    plays = np.bincount(listening.track, minlength=n_tracks)
    artist_plays = np.bincount(tracks.artist, weights=plays, minlength=n_artists).astype(np.int64)
    artist_name = names.artist.copy()
    track_name = names.track.copy()

    # Planted awkward names go to played artists / tracks so they show up in the log.
    clash = np.flatnonzero(np.isin(artist_name, list(vocab.PLANTED_ARTIST_NAMES)))
    artist_name[clash] = artist_name[clash] + " II"
    played_artists = rng.permutation(np.flatnonzero(artist_plays > 0))
    k = min(len(vocab.PLANTED_ARTIST_NAMES), played_artists.size)
    artist_name[played_artists[:k]] = np.asarray(vocab.PLANTED_ARTIST_NAMES[:k], dtype=object)

    # Spelling variants: one "Don't Stop" / "Dont Stop", plus lower-case variants in bigger
    # worlds; they need ≥ 2 plays and keep their MBID.
    n_spelling = max(1, n_tracks // 5_000)
    multi = rng.permutation(np.flatnonzero(plays >= 2))
    spelling = np.sort(multi[:n_spelling])
    planted_tracks = rng.permutation(np.setdiff1d(np.flatnonzero(plays > 0), spelling))
    k = min(len(vocab.PLANTED_TRACK_NAMES), planted_tracks.size)
    track_name[planted_tracks[:k]] = np.asarray(vocab.PLANTED_TRACK_NAMES[:k], dtype=object)
    if spelling.size:
        track_name[spelling[0]] = vocab.SPELLING_VARIANT[0]
    track_name = dedupe_within(track_name, tracks.artist)
    alt_name = np.asarray([s.lower() for s in track_name[spelling]], dtype=object)
    if spelling.size:
        alt_name[0] = vocab.SPELLING_VARIANT[1]

    # Artists without an MBID (their tracks have none either), chosen by actual plays.
    protected_artists = np.unique(tracks.artist[spelling])
    order = rng.permutation(n_artists)
    order = order[~np.isin(order, protected_artists)]
    no_artist_mbid = np.zeros(n_artists, dtype=bool)
    no_artist_mbid[_greedy_pick(order, artist_plays, ARTIST_MBID_EMPTY_SHARE * n_events)] = True
    unplayed = artist_plays == 0
    no_artist_mbid |= unplayed & (rng.random(n_artists) < ARTIST_MBID_EMPTY_SHARE)
    artist_mbid = np.where(no_artist_mbid, "", names.artist_mbid).astype(object)

    # Tracks without an MBID: all tracks of MBID-less artists, then whole tracks.
    no_track_mbid = no_artist_mbid[tracks.artist].copy()
    already = int(plays[no_track_mbid].sum())
    whole_target = (TRACK_MBID_EMPTY_SHARE - PARTIAL_MBID_SHARE) * n_events - already
    order = rng.permutation(n_tracks)
    eligible = ~no_track_mbid
    eligible[spelling] = False
    order = order[eligible[order]]
    no_track_mbid[_greedy_pick(order, plays, whole_target)] = True
    no_track_mbid |= (plays == 0) & (rng.random(n_tracks) < 0.07)

    # Tracks whose MBID is missing in only some plays (about half; first play keeps it).
    eligible = ~no_track_mbid & (plays >= 2)
    eligible[spelling] = False
    order = rng.permutation(n_tracks)
    order = order[eligible[order]]
    partial = np.sort(
        np.asarray(_greedy_pick(order, plays // 2, PARTIAL_MBID_SHARE * n_events), dtype=np.int64)
    )
    track_mbid = np.where(no_track_mbid, "", names.track_mbid).astype(object)

    # Tail strings: one per track, then the MBID-less variant of each partial track, then the
    # second spelling of each spelling track.
    artist_of = tracks.artist
    base = pl.DataFrame(
        {
            "am": artist_mbid[artist_of].astype(str),
            "an": artist_name[artist_of].astype(str),
            "tm": track_mbid.astype(str),
            "tn": track_name.astype(str),
        }
    )
    extra_tracks = np.concatenate([partial, spelling])
    extra_mbid = np.concatenate([np.full(partial.size, "", dtype=object), track_mbid[spelling]])
    extra = pl.DataFrame(
        {
            "am": artist_mbid[artist_of[extra_tracks]].astype(str),
            "an": artist_name[artist_of[extra_tracks]].astype(str),
            "tm": extra_mbid.astype(str),
            "tn": np.concatenate([track_name[partial], alt_name]).astype(str),
        }
    )
    tails = pl.concat([base, extra]).select(
        pl.concat_str(["am", "an", "tm", "tn"], separator="\t").alias("tail")
    )["tail"]

    event_tail = listening.track.copy()
    first_play = np.zeros(n_events, dtype=bool)
    _, first_idx = np.unique(listening.track, return_index=True)
    first_play[first_idx] = True
    last_play = np.zeros(n_events, dtype=bool)
    _, last_idx = np.unique(listening.track[::-1], return_index=True)
    last_play[n_events - 1 - last_idx] = True

    partial_rank = np.full(n_tracks, -1, dtype=np.int64)
    partial_rank[partial] = np.arange(partial.size)
    drop = (partial_rank[listening.track] >= 0) & ~first_play
    drop &= last_play | (rng.random(n_events) < 0.5)
    event_tail[drop] = n_tracks + partial_rank[listening.track[drop]]

    spelling_rank = np.full(n_tracks, -1, dtype=np.int64)
    spelling_rank[spelling] = np.arange(spelling.size)
    alt = (spelling_rank[listening.track] >= 0) & ~first_play
    alt &= last_play | (rng.random(n_events) < 0.35)
    event_tail[alt] = n_tracks + partial.size + spelling_rank[listening.track[alt]]

    empty_track = no_track_mbid[listening.track] | drop
    return Catalogue(
        artist_name=artist_name,
        artist_mbid=artist_mbid,
        track_name=track_name,
        track_mbid=track_mbid,
        plays=plays,
        partial=partial,
        spelling=spelling,
        alt_name=alt_name,
        tails=tails,
        event_tail=event_tail,
        artist_mbid_empty_share=round(float(no_artist_mbid[artist_of[listening.track]].mean()), 6),
        track_mbid_empty_share=round(float(empty_track.mean()), 6),
    )
