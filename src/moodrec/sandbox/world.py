"""The deterministic sandbox world: a synthetic Last.fm 1K log with planted, recorded truth.

``generate_world(cfg, out_dir)`` writes, as a pure function of ``(cfg.profile, cfg.seed)``:

* ``userid-timestamp-artid-artname-traid-traname.tsv`` — the listening log in the exact
  Last.fm 1K layout (no header, each user's plays newest first, users ascending), with the
  real file's quirks planted: missing artist / track MBIDs (some tracks only in part of
  their plays), names with inner and leading double quotes, non-ASCII names, and an MBID
  seen under two spellings of its track name;
* ``userid-profile.tsv`` — the profile file in the real layout;
* ``truth/`` — what was planted (genre tree, artists, tracks with audio features and topic
  mixtures, lyrics with and without Genius artifacts, topics, users' latent tastes and mood
  chains, sessions), as Parquet and JSON;
* ``acousticbrainz/`` — AcousticBrainz-like dump archives (real layout, MBID-keyed, noisy
  classifier outputs derived from the truth; :mod:`moodrec.sandbox.acousticbrainz`);
* ``world.json`` — profile, seed, generator version, counts, file list, ``"synthetic": true``.

Every random draw comes from one ``numpy.random.SeedSequence(seed)`` tree, one spawned
child per part, so equal seeds give byte-identical files and parts are independent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from moodrec.errors import MoodrecError
from moodrec.ingest.lastfm1k import LOG_FILENAME, PROFILE_FILENAME
from moodrec.sandbox import vocab
from moodrec.sandbox.acousticbrainz import write_acousticbrainz_dumps
from moodrec.sandbox.config import SandboxConfig
from moodrec.sandbox.listening import (
    LOG_END,
    LOG_START,
    MIN_SESSION_GAP_S,
    MOOD_FIT_SIGMA,
    REGISTER_START,
    TOPIC_AFFINITY_BETA,
    Listening,
    Users,
    build_users,
    simulate_listening,
)
from moodrec.sandbox.lyrics import ARTIFACT_SHARE, generate_lyrics, topic_word_weights
from moodrec.sandbox.music import (
    Artists,
    GenreTree,
    Tracks,
    build_artists,
    build_genre_tree,
    build_tracks,
)
from moodrec.sandbox.names import artist_names, dedupe_within, make_mbids, track_names
from moodrec.storage import atomic_path, write_json_atomic, write_parquet_atomic, write_text_atomic

logger = logging.getLogger(__name__)

WORLD_FILENAME = "world.json"
TRUTH_DIRNAME = "truth"
#: Bumped whenever the same (profile, seed) would produce different bytes.
GENERATOR_VERSION = "1"

#: Target shares of log events with an empty artist MBID / empty track MBID (real file:
#: about 3 % and 11 %), and the part of the latter from tracks missing it only sometimes.
ARTIST_MBID_EMPTY_SHARE = 0.03
TRACK_MBID_EMPTY_SHARE = 0.11
PARTIAL_MBID_SHARE = 0.01

# Independent random sub-streams, one per part; append new parts at the end only.
# appended streams keep the earlier ones' draws (SeedSequence children are keyed by index)
_STREAMS = (
    "artists",
    "tracks",
    "users",
    "listening",
    "names",
    "quirks",
    "lyrics",
    "profiles",
    "acousticbrainz",
)


@dataclass(frozen=True)
class WorldSize:
    """How big a world is.

    Attributes
    ----------
    n_users, n_artists, n_tracks, n_events
        Exact counts (every artist has ≥ 1 track; not every track need be played).
    lyrics_max
        Write lyrics for at most this many vocal tracks (a seeded sample); ``None`` = all.
    event_truth
        Also write ``truth/events.parquet`` (the world track id and session of each play).
    acousticbrainz_max
        Write AcousticBrainz-like dump records for at most this many tracks (the most
        played first); ``None`` = every track with an MBID.
    chunk_events
        Log rows formatted per write (bounds memory for the large world).
    """

    n_users: int
    n_artists: int
    n_tracks: int
    n_events: int
    lyrics_max: int | None = None
    event_truth: bool = True
    chunk_events: int = 2_000_000
    acousticbrainz_max: int | None = None


PROFILES: dict[str, WorldSize] = {
    "tiny": WorldSize(n_users=10, n_artists=40, n_tracks=200, n_events=4_000),
    "demo": WorldSize(n_users=100, n_artists=600, n_tracks=5_000, n_events=200_000),
    "large": WorldSize(
        n_users=992,
        n_artists=170_000,
        n_tracks=1_000_000,
        n_events=19_150_868,
        lyrics_max=20_000,
        event_truth=False,
        acousticbrainz_max=20_000,
    ),
}


@dataclass(frozen=True)
class WorldSummary:
    """Where a generated world lies and how big it is."""

    out_dir: Path
    log_path: Path
    profile_path: Path
    truth_dir: Path
    n_users: int
    n_artists: int
    n_tracks: int
    n_events: int
    profile: str
    seed: int


def generate_world(cfg: SandboxConfig, out_dir: Path) -> WorldSummary:
    """Generate the sandbox world for ``cfg`` into ``out_dir`` (byte-identical per seed).

    Parameters
    ----------
    cfg
        Profile (``tiny`` | ``demo`` | ``large``) and seed.
    out_dir
        Folder to write into (created); existing files of the same names are replaced
        atomically.

    Returns
    -------
    WorldSummary
        Paths of the log, the profile file and the truth folder, and the counts.

    Raises
    ------
    MoodrecError
        If the profile is unknown.
    """
    if cfg.profile not in PROFILES:
        raise MoodrecError(f"sandbox: unknown profile {cfg.profile!r} (known: {sorted(PROFILES)})")
    return build_world(PROFILES[cfg.profile], cfg.seed, Path(out_dir), profile=cfg.profile)


def build_world(size: WorldSize, seed: int, out_dir: Path, profile: str = "custom") -> WorldSummary:
    """Generate a world of any ``size`` (``generate_world`` with a named profile uses this).

    Parameters
    ----------
    size
        World dimensions.
    seed
        Root seed of the ``SeedSequence`` tree.
    out_dir
        Output folder.
    profile
        Name recorded in ``world.json``.
    """
    if min(size.n_users, size.n_artists) < 1 or size.n_tracks < size.n_artists:
        raise MoodrecError(f"sandbox: inconsistent world size {size}")
    out_dir = Path(out_dir)
    truth_dir = out_dir / TRUTH_DIRNAME
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    rngs = {name: np.random.default_rng(ss) for name, ss in zip(_STREAMS, children, strict=True)}

    tree = build_genre_tree()
    artists = build_artists(rngs["artists"], tree, size.n_artists, size.n_tracks)
    tracks = build_tracks(rngs["tracks"], artists)
    artist_start = np.concatenate([[0], np.cumsum(artists.n_tracks)[:-1]]).astype(np.int64)
    track_super = artists.super_genre[tracks.artist]
    users = build_users(rngs["users"], size.n_users, size.n_events)
    listening = simulate_listening(
        rngs["listening"], users, tracks, track_super, artist_start, artists.n_tracks
    )
    logger.debug("sandbox: simulated %d events", listening.track.size)

    names = _draw_names(rngs["names"], tracks)
    catalogue = _plant_quirks(rngs["quirks"], artists, tracks, listening, names)

    log_path = out_dir / LOG_FILENAME
    _write_log(log_path, listening, catalogue, size.chunk_events)
    profile_rows = _draw_profiles(rngs["profiles"], listening.user_first_ts)
    profile_path = out_dir / PROFILE_FILENAME
    _write_profiles(profile_path, profile_rows)

    files: dict[str, Path] = {}
    files.update(_write_catalogue_truth(truth_dir, tree, artists, tracks, catalogue))
    lyric_info = _write_lyrics_truth(
        rngs["lyrics"], truth_dir, tracks, artists, catalogue, size.lyrics_max
    )
    files.update(lyric_info.pop("files"))
    files.update(_write_people_truth(truth_dir, users, listening, profile_rows, size.event_truth))
    files.update(
        _write_acousticbrainz(rngs["acousticbrainz"], out_dir, tracks, artists, catalogue, size)
    )

    n_events = int(listening.track.size)
    counts = {
        "users": size.n_users,
        "artists": size.n_artists,
        "tracks": size.n_tracks,
        "events": n_events,
        "sessions": int(listening.session_user.size),
        "played_tracks": int(np.count_nonzero(catalogue.plays)),
        "played_artists": int(np.count_nonzero(np.bincount(tracks.artist[listening.track]))),
    }
    written = [log_path, profile_path, *files.values()]
    rel = [*sorted(str(p.relative_to(out_dir)) for p in written), WORLD_FILENAME]
    world = {
        "synthetic": True,
        "generator": "moodrec.sandbox",
        "generator_version": GENERATOR_VERSION,
        "profile": profile,
        "seed": seed,
        "size": {
            "n_users": size.n_users,
            "n_artists": size.n_artists,
            "n_tracks": size.n_tracks,
            "n_events": size.n_events,
        },
        "counts": counts,
        "files": rel,
        "log": {
            "filename": LOG_FILENAME,
            "layout": "userid, timestamp, artist mbid, artist name, track mbid, track name",
            "order": "users ascending; each user's events newest first",
            "period": [_iso(LOG_START), _iso(LOG_END)],
            "artist_mbid_empty_share": catalogue.artist_mbid_empty_share,
            "track_mbid_empty_share": catalogue.track_mbid_empty_share,
            "tracks_with_partial_mbid": int(catalogue.partial.size),
            "tracks_with_spelling_variants": int(catalogue.spelling.size),
        },
        "sessions": {
            "complete": True,
            "min_gap_between_sessions_s": MIN_SESSION_GAP_S,
            "max_gap_within_session_s": 29 * 60,
        },
        "events_truth": size.event_truth,
        "lyrics": lyric_info,
        "vocabularies": {
            "super_genres": list(vocab.SUPER_GENRES),
            "audio_clusters": [label for label, _ in vocab.AUDIO_CLUSTERS],
            "topics": [label for label, _ in vocab.TOPICS],
            "moods": [name for name, _, _ in vocab.MOOD_STATES],
            "audio_features": list(vocab.AUDIO_FEATURES),
        },
        "model": {
            "mood_fit_sigma": MOOD_FIT_SIGMA,
            "topic_affinity_beta": TOPIC_AFFINITY_BETA,
            "see": "moodrec.sandbox.listening module docstring",
        },
    }
    write_json_atomic(out_dir / WORLD_FILENAME, world)
    logger.info(
        "sandbox world %s seed %d: %d users, %d artists, %d tracks, %d events in %s",
        profile,
        seed,
        size.n_users,
        size.n_artists,
        size.n_tracks,
        n_events,
        out_dir,
    )
    return WorldSummary(
        out_dir=out_dir,
        log_path=log_path,
        profile_path=profile_path,
        truth_dir=truth_dir,
        n_users=size.n_users,
        n_artists=size.n_artists,
        n_tracks=size.n_tracks,
        n_events=n_events,
        profile=profile,
        seed=seed,
    )


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- names and quirks -------------------------------------------------------------------


@dataclass(frozen=True)
class _Names:
    artist: np.ndarray
    track: np.ndarray
    artist_mbid: np.ndarray
    track_mbid: np.ndarray


def _draw_names(rng: np.random.Generator, tracks: Tracks) -> _Names:
    n_artists = int(tracks.artist[-1]) + 1
    return _Names(
        artist=artist_names(rng, n_artists, non_ascii_share=0.04),
        track=track_names(rng, tracks.artist, non_ascii_share=0.03),
        artist_mbid=make_mbids(rng, n_artists),
        track_mbid=make_mbids(rng, tracks.artist.size),
    )


@dataclass(frozen=True)
class _Catalogue:
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


def _plant_quirks(
    rng: np.random.Generator,
    artists: Artists,
    tracks: Tracks,
    listening: Listening,
    names: _Names,
) -> _Catalogue:
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
    return _Catalogue(
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


# --- the log and the profile file -------------------------------------------------------


def _write_log(path: Path, listening: Listening, cat: _Catalogue, chunk: int) -> None:
    """Write the log in the Last.fm 1K layout: users ascending, each user newest first."""
    n = listening.user.size
    n_users = int(listening.user_first_ts.size)
    counts = np.bincount(listening.user, minlength=n_users)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    user_ids = pl.Series("user", [f"user_{i + 1:06d}" for i in range(n_users)])
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            pos = np.arange(lo, hi)
            u = listening.user[lo:hi]
            src = start[u] + counts[u] - 1 - (pos - start[u])  # reverse within each user
            frame = pl.DataFrame(
                {
                    "user": user_ids.gather(u),
                    "ts": pl.from_epoch(pl.Series(listening.ts[src]), time_unit="s"),
                    "tail": cat.tails.gather(cat.event_tail[src]),
                }
            )
            frame.write_csv(
                fh,
                separator="\t",
                quote_style="never",
                include_header=False,
                datetime_format="%Y-%m-%dT%H:%M:%SZ",
            )


@dataclass(frozen=True)
class _Profiles:
    gender: list[str]
    age: list[str]
    country: list[str]
    registered: list[str]


def _draw_profiles(rng: np.random.Generator, first_ts: np.ndarray) -> _Profiles:
    n = first_ts.size
    gender = np.asarray(["m", "f", ""])[rng.choice(3, size=n, p=[0.51, 0.38, 0.11])]
    has_age = rng.random(n) < 0.3
    ages = np.clip(np.round(rng.normal(25.0, 6.5, size=n)), 14, 70).astype(int)
    countries = np.asarray([c for c, _ in vocab.COUNTRIES] + [""], dtype=object)
    weights = np.asarray([w for _, w in vocab.COUNTRIES] + [85.0])
    country = countries[rng.choice(countries.size, size=n, p=weights / weights.sum())]
    days_before = rng.uniform(0, 500, size=n) * 86_400
    reg = np.maximum(first_ts - days_before, REGISTER_START).astype(np.int64)
    has_reg = rng.random(n) >= 0.01
    registered = []
    for ts, ok in zip(reg.tolist(), has_reg.tolist(), strict=True):
        d = datetime.fromtimestamp(ts, tz=UTC)
        registered.append(f"{vocab.MONTH_ABBR[d.month - 1]} {d.day}, {d.year}" if ok else "")
    return _Profiles(
        gender=gender.tolist(),
        age=[str(a) if h else "" for a, h in zip(ages.tolist(), has_age.tolist(), strict=True)],
        country=country.tolist(),
        registered=registered,
    )


def _write_profiles(path: Path, p: _Profiles) -> None:
    lines = ["#id\tgender\tage\tcountry\tregistered"]
    for i, row in enumerate(zip(p.gender, p.age, p.country, p.registered, strict=True)):
        lines.append("\t".join([f"user_{i + 1:06d}", *row]))
    write_text_atomic(path, "\n".join(lines) + "\n")


# --- truth --------------------------------------------------------------------------------


def _list_column(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A ``list<double>`` column from the rows of ``matrix`` (null where not ``valid``)."""
    n, k = matrix.shape
    values = pa.array(np.nan_to_num(matrix).ravel(), type=pa.float64())
    offsets = pa.array(np.arange(0, (n + 1) * k, k, dtype=np.int32))
    mask = None if valid is None else pa.array(~valid)
    return pa.ListArray.from_arrays(offsets, values, mask=mask)


def _nullable_str(values: np.ndarray) -> pa.Array:
    arr = values.astype(str)
    return pa.array(arr, type=pa.string(), mask=arr == "")


def _write_catalogue_truth(
    truth: Path, tree: GenreTree, artists: Artists, tracks: Tracks, cat: _Catalogue
) -> dict[str, Path]:
    files: dict[str, Path] = {}
    genres = pa.table(
        {
            "genre": pa.array(tree.names.astype(str)),
            "parent": pa.array(
                np.where(tree.parent >= 0, tree.names[np.maximum(tree.parent, 0)], "").astype(str),
                mask=tree.parent < 0,
            ),
            "level": pa.array(tree.level),
            "super_genre": pa.array(np.asarray(vocab.SUPER_GENRES)[tree.super_index]),
        }
    )
    files["genres"] = write_parquet_atomic(genres, truth / "genres.parquet")
    nested = {
        super_name: {sub: list(micros) for sub, micros in subs}
        for super_name, subs in vocab.GENRE_TREE
    }
    files["genre_tree"] = write_json_atomic(truth / "genre_tree.json", nested)

    n_artists = artists.n_tracks.size
    genre_names = pa.array(tree.names[artists.genre_ids].astype(str))
    artist_table = pa.table(
        {
            "artist_id": pa.array(np.arange(n_artists, dtype=np.int32)),
            "mbid": _nullable_str(cat.artist_mbid),
            "name": pa.array(cat.artist_name.astype(str)),
            "genres": pa.ListArray.from_arrays(
                pa.array(artists.genre_offsets.astype(np.int32)), genre_names
            ),
            "super_genre": pa.array(np.asarray(vocab.SUPER_GENRES)[artists.super_genre]),
            "popularity": pa.array(artists.popularity),
            "n_tracks": pa.array(artists.n_tracks.astype(np.int32)),
            "language": pa.array(artists.language.astype(str)),
            "cluster_mix": _list_column(artists.cluster_probs),
        }
    )
    files["artists"] = write_parquet_atomic(artist_table, truth / "artists.parquet")

    n_tracks = tracks.artist.size
    partial = np.zeros(n_tracks, dtype=bool)
    partial[cat.partial] = True
    alt = np.full(n_tracks, "", dtype=object)
    alt[cat.spelling] = cat.alt_name
    vocal = ~tracks.is_instrumental
    language = np.where(vocal, artists.language[tracks.artist], "").astype(str)
    labels = np.asarray([label for label, _ in vocab.AUDIO_CLUSTERS])
    columns: dict[str, Any] = {
        "track_id": pa.array(np.arange(n_tracks, dtype=np.int32)),
        "track_mbid": _nullable_str(cat.track_mbid),
        "mbid_partial": pa.array(partial),
        "artist_id": pa.array(tracks.artist),
        "artist_name": pa.array(cat.artist_name[tracks.artist].astype(str)),
        "name": pa.array(cat.track_name.astype(str)),
        "alt_name": _nullable_str(alt),
        "audio_cluster": pa.array(tracks.cluster),
        "audio_cluster_label": pa.array(labels[tracks.cluster]),
        "super_genre": pa.array(np.asarray(vocab.SUPER_GENRES)[artists.super_genre[tracks.artist]]),
    }
    for feature in vocab.AUDIO_FEATURES:
        columns[feature] = pa.array(tracks.features[feature])
    columns.update(
        {
            "is_instrumental": pa.array(tracks.is_instrumental),
            "language": pa.array(language, mask=language == ""),
            "topic_mixture": _list_column(tracks.topics, valid=vocal),
            "popularity": pa.array(tracks.popularity),
            "plays": pa.array(cat.plays.astype(np.int64)),
        }
    )
    files["tracks"] = write_parquet_atomic(pa.table(columns), truth / "tracks.parquet")

    topics = [
        {
            "topic_id": k,
            "label": label,
            "words": [[w, round(float(p), 6)] for w, p in zip(words, weights, strict=True)],
        }
        for k, ((label, words), weights) in enumerate(
            zip(vocab.TOPICS, topic_word_weights(), strict=True)
        )
    ]
    files["topics"] = write_json_atomic(truth / "topics.json", {"topics": topics})
    return files


def _write_acousticbrainz(
    rng: np.random.Generator,
    out_dir: Path,
    tracks: Tracks,
    artists: Artists,
    cat: _Catalogue,
    size: WorldSize,
) -> dict[str, Path]:
    """The world's AcousticBrainz-like dumps (see :mod:`moodrec.sandbox.acousticbrainz`)."""
    keep = None
    if size.acousticbrainz_max is not None and tracks.artist.size > size.acousticbrainz_max:
        order = np.argsort(-cat.plays, kind="stable")[: size.acousticbrainz_max]
        keep = np.zeros(tracks.artist.size, dtype=bool)
        keep[order] = True
    return write_acousticbrainz_dumps(
        rng,
        out_dir,
        cat.track_mbid,
        tracks.features,
        np.asarray(vocab.SUPER_GENRES)[artists.super_genre[tracks.artist]],
        cat.artist_name[tracks.artist],
        cat.track_name,
        tracks.popularity,
        keep,
    )


def _write_lyrics_truth(
    rng: np.random.Generator,
    truth: Path,
    tracks: Tracks,
    artists: Artists,
    cat: _Catalogue,
    lyrics_max: int | None,
) -> dict[str, Any]:
    vocal = np.flatnonzero(~tracks.is_instrumental)
    if lyrics_max is not None and vocal.size > lyrics_max:
        # Sample played tracks first so lyrics cover what the log shows.
        played = vocal[cat.plays[vocal] > 0]
        pick = rng.permutation(played)[:lyrics_max]
        if pick.size < lyrics_max:
            rest = rng.permutation(vocal[cat.plays[vocal] == 0])[: lyrics_max - pick.size]
            pick = np.concatenate([pick, rest])
        ids = np.sort(pick)
    else:
        ids = vocal
    texts = generate_lyrics(
        rng,
        titles=cat.track_name[ids].astype(str).tolist(),
        artists=cat.artist_name[tracks.artist[ids]].astype(str).tolist(),
        topics=tracks.topics[ids],
        languages=artists.language[tracks.artist[ids]].astype(str).tolist(),
    )
    table = pa.table(
        {
            "track_id": pa.array(ids.astype(np.int32)),
            "raw": pa.array(texts.raw, type=pa.string()),
            "clean": pa.array(texts.clean, type=pa.string()),
            "language": pa.array(artists.language[tracks.artist[ids]].astype(str)),
            "has_artifacts": pa.array(texts.has_artifacts),
        }
    )
    path = write_parquet_atomic(table, truth / "lyrics.parquet")
    return {
        "files": {"lyrics": path},
        "coverage": "all vocal tracks" if ids.size == vocal.size else "sample of vocal tracks",
        "n_lyrics": int(ids.size),
        "n_vocal_tracks": int(vocal.size),
        "artifact_share_target": ARTIFACT_SHARE,
        "non_english_note": "non-English lyrics use small word lists and do not express "
        "the track's topic mixture",
    }


def _write_people_truth(
    truth: Path, users: Users, listening: Listening, profiles: _Profiles, event_truth: bool
) -> dict[str, Path]:
    files: dict[str, Path] = {}
    n_users = users.n_events.size
    user_ids = np.asarray([f"user_{i + 1:06d}" for i in range(n_users)])
    transition = users.mood_transition()
    user_table = pa.table(
        {
            "user_id": pa.array(user_ids),
            "n_events": pa.array(users.n_events),
            "taste_super": _list_column(users.taste_super),
            "taste_cluster": _list_column(users.taste_cluster),
            "topic_pref": _list_column(users.topic_pref),
            "mood_baseline_valence": pa.array(users.mood_baseline[:, 0]),
            "mood_baseline_energy": pa.array(users.mood_baseline[:, 1]),
            "mood_stationary": _list_column(users.mood_stationary),
            "mood_persistence": pa.array(users.mood_persistence),
            "mood_transition": _list_column(transition.reshape(n_users, -1)),
            "repeat_p": pa.array(users.repeat_p),
            "continue_p": pa.array(users.continue_p),
            "session_mean_len": pa.array(users.session_mean_len),
            "favourites_per_mood": pa.array(users.pool_size),
            "gender": pa.array(profiles.gender),
            "age": pa.array(profiles.age),
            "country": pa.array(profiles.country),
            "registered": pa.array(profiles.registered),
        }
    )
    files["users"] = write_parquet_atomic(user_table, truth / "users.parquet")

    moods = [name for name, _, _ in vocab.MOOD_STATES]
    files["mood_states"] = write_json_atomic(
        truth / "mood_states.json",
        {
            "states": [
                {"id": i, "name": name, "valence": v, "energy": e}
                for i, (name, v, e) in enumerate(vocab.MOOD_STATES)
            ],
            "mean_transition": np.round(transition.mean(axis=0), 6).tolist(),
            "transition_model": "per user: persistence * I + (1 - persistence) * 1 stationaryᵀ "
            "(users.parquet mood_transition, row-major from-state × to-state)",
            "fit_sigma": MOOD_FIT_SIGMA,
        },
    )

    s_ts = pa.timestamp("s", tz="UTC")
    sessions = pa.table(
        {
            "user_id": pa.array(user_ids[listening.session_user]),
            "session_index": pa.array(listening.session_index.astype(np.int32)),
            "start": pa.array(listening.session_start, type=pa.int64()).cast(s_ts),
            "end": pa.array(listening.session_end, type=pa.int64()).cast(s_ts),
            "n_events": pa.array(listening.session_n_events.astype(np.int32)),
            "mood": pa.array(np.asarray(moods)[listening.session_mood]),
        }
    )
    files["sessions"] = write_parquet_atomic(sessions, truth / "sessions.parquet")

    if event_truth:
        events = pa.table(
            {
                "user_id": pa.array(user_ids[listening.user]),
                "timestamp": pa.array(listening.ts, type=pa.int64()).cast(s_ts),
                "track_id": pa.array(listening.track.astype(np.int32)),
                "session": pa.array(listening.session.astype(np.int32)),
                "kind": pa.array(np.asarray(["fresh", "favourite", "continue"])[listening.kind]),
            }
        )
        files["events"] = write_parquet_atomic(events, truth / "events.parquet")
    return files
