"""The sandbox world's planted truth, written to ``truth/`` as Parquet and JSON.

Genre tree, artists, tracks with audio features and topic mixtures, lyrics with and without
Genius artifacts, topics, users' latent tastes and mood chains, sessions and (optionally)
every event's world track id and session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from moodrec.sandbox import vocab
from moodrec.sandbox.listening import MOOD_FIT_SIGMA, Listening, Users
from moodrec.sandbox.logfile import Profiles
from moodrec.sandbox.lyrics import ARTIFACT_SHARE, generate_lyrics, topic_word_weights
from moodrec.sandbox.music import Artists, GenreTree, Tracks
from moodrec.sandbox.quirks import Catalogue
from moodrec.storage import write_json_atomic, write_parquet_atomic


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


def write_catalogue_truth(
    truth: Path, tree: GenreTree, artists: Artists, tracks: Tracks, cat: Catalogue
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


def write_lyrics_truth(
    rng: np.random.Generator,
    truth: Path,
    tracks: Tracks,
    artists: Artists,
    cat: Catalogue,
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


def write_people_truth(
    truth: Path, users: Users, listening: Listening, profiles: Profiles, event_truth: bool
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
