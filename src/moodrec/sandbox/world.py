"""The deterministic sandbox world: a synthetic Last.fm 1K log with planted, recorded truth.

``generate_world(cfg, out_dir)`` writes, as a pure function of ``(cfg.profile, cfg.seed)``:

* ``userid-timestamp-artid-artname-traid-traname.tsv`` — the listening log in the exact
  Last.fm 1K layout (no header, each user's plays newest first, users ascending), with the
  real file's quirks planted: missing artist / track MBIDs (some tracks only in part of
  their plays), names with inner and leading double quotes, non-ASCII names, and an MBID
  seen under two spellings of its track name (:mod:`moodrec.sandbox.quirks`,
  :mod:`moodrec.sandbox.logfile`);
* ``userid-profile.tsv`` — the profile file in the real layout;
* ``truth/`` — what was planted (genre tree, artists, tracks with audio features and topic
  mixtures, lyrics with and without Genius artifacts, topics, users' latent tastes and mood
  chains, sessions), as Parquet and JSON (:mod:`moodrec.sandbox.truth`);
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

import numpy as np

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
    TOPIC_AFFINITY_BETA,
    build_users,
    simulate_listening,
)
from moodrec.sandbox.logfile import draw_profiles, write_log, write_profiles
from moodrec.sandbox.music import Artists, Tracks, build_artists, build_genre_tree, build_tracks
from moodrec.sandbox.quirks import Catalogue, draw_names, plant_quirks
from moodrec.sandbox.truth import write_catalogue_truth, write_lyrics_truth, write_people_truth
from moodrec.storage import write_json_atomic

logger = logging.getLogger(__name__)

WORLD_FILENAME = "world.json"
TRUTH_DIRNAME = "truth"
#: Bumped whenever the same (profile, seed) would produce different bytes.
GENERATOR_VERSION = "1"

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

    names = draw_names(rngs["names"], tracks)
    catalogue = plant_quirks(rngs["quirks"], artists, tracks, listening, names)

    log_path = out_dir / LOG_FILENAME
    write_log(log_path, listening, catalogue, size.chunk_events)
    profile_rows = draw_profiles(rngs["profiles"], listening.user_first_ts)
    profile_path = out_dir / PROFILE_FILENAME
    write_profiles(profile_path, profile_rows)

    files: dict[str, Path] = {}
    files.update(write_catalogue_truth(truth_dir, tree, artists, tracks, catalogue))
    lyric_info = write_lyrics_truth(
        rngs["lyrics"], truth_dir, tracks, artists, catalogue, size.lyrics_max
    )
    files.update(lyric_info.pop("files"))
    files.update(write_people_truth(truth_dir, users, listening, profile_rows, size.event_truth))
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


def _write_acousticbrainz(
    rng: np.random.Generator,
    out_dir: Path,
    tracks: Tracks,
    artists: Artists,
    cat: Catalogue,
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
