"""Read the enrich stage's tables as inputs of later stages (``source: enrich``).

The enrich stage writes what the providers answered (see :mod:`moodrec.enrich.stage`);
these readers turn it into the inputs that the genres, clusters and topics stages take from
the sandbox truth or a file otherwise:

- :func:`genre_table_from_enrich`: ``artist_genres`` (+ ``artist_tags`` counts) → tidy
  ``artist, genre, weight``;
- :func:`tracks_from_enrich`: the catalogue's enriched tracks + ``track_features``;
- :func:`lyrics_from_enrich`: ``lyrics_raw`` → ``track_id, text, source (+ valence)``;
- :func:`session_features_from_open`: ``track_moods`` + ``track_tags`` + ``artist_tags`` +
  ``track_audio`` → valence × energy through the open mood model.

Nothing is invented for what the providers could not reach: a track without features keeps
NaN features, an artist without genres has no genre row, a track without lyrics has no text
row; each reader says how many it had (the stages report it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from moodrec.domain import AUDIO_FEATURES
from moodrec.errors import InputDataError

logger = logging.getLogger(__name__)

#: catalogue datasets (ingest + enrich checkpoints) that ``source: enrich`` reads, per use
TRACK_INPUTS: tuple[str, ...] = ("tracks", "track_features", "artist_genres")
#: read too when the enrich stage wrote it (the open providers' tag counts weight genres)
OPTIONAL_TRACK_INPUTS: tuple[str, ...] = ("artist_tags",)
LYRICS_INPUTS: tuple[str, ...] = ("lyrics_raw", "track_features")


def _read(path: Path | str, columns: Sequence[str], what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"{what}: {p} does not exist (run the enrich stage first)")
    frame = pd.read_parquet(p)
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise InputDataError(f"{what}: {p} lacks column(s) {missing}")
    return frame


def best_features(features: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """One row per track: the provider row with the most non-null ``names``.

    Ties keep the earlier row (the enrich stage writes providers in its configured order).
    Returns ``track_id, feature_provider`` + ``names`` (absent names are NaN columns).
    """
    cols = [n for n in names if n in features.columns]
    f = features.reset_index(drop=True)
    filled = f[cols].notna().sum(axis=1) if cols else pd.Series(0, index=f.index)
    order = (
        pd.DataFrame({"track_id": f["track_id"], "filled": filled, "pos": np.arange(len(f))})
        .sort_values(["track_id", "filled", "pos"], ascending=[True, False, True])
        .drop_duplicates("track_id")
    )
    best = f.loc[order.index]
    out = pd.DataFrame(
        {
            "track_id": best["track_id"].astype(np.int64).to_numpy(),
            "feature_provider": best["provider"].astype(str).to_numpy(),
        }
    )
    for n in names:
        out[n] = best[n].astype(np.float64).to_numpy() if n in best else np.nan
    return out[out[list(names)].notna().any(axis=1)].reset_index(drop=True)


def genre_table_from_enrich(
    artist_genres_path: Path | str, artist_tags_path: Path | str | None = None
) -> pd.DataFrame:
    """Tidy ``artist, genre, weight`` from the enrich ``artist_genres`` table.

    ``artist`` is the catalogue's ``artist_id`` as a string (the key :func:`tracks_from_enrich`
    gives its tracks). An artist with genres from two providers gets the union. The weight of
    a genre is its evidence in the open providers' ``artist_tags`` (MusicBrainz genre votes,
    Last.fm tag counts): the tag's count over the artist's top count at that provider, the
    largest over providers, in ``(0, 1]``; a genre no tag row carries (e.g. a Spotify genre
    list, which is unweighted) weighs 1. The weights order an artist's genres for
    ``max_genres_per_artist`` and weight its genre embeddings' average
    (:mod:`moodrec.genres.embedding`).

    Raises
    ------
    InputDataError
        Missing file or columns, or no artist with a genre (e.g. a Spotify app in
        development mode, which gets no genres since 2026).
    """
    from moodrec.genres.sources import validate_genre_table

    path = Path(artist_genres_path)
    ag = _read(path, ["artist_id", "provider", "genres"], "artist genres")
    rows = ag[["artist_id", "genres"]].explode("genres").dropna(subset=["genres"])
    rows = rows[rows["genres"].astype(str).str.strip() != ""]
    if rows.empty:
        raise InputDataError(
            f"artist genres: {path} holds no genre for any artist (providers: "
            f"{sorted(ag['provider'].astype(str).unique())}); the enrich coverage report says "
            "which genre lookups were unavailable. Use a genre file (genres.source: table, "
            "hetrec or spotify_csv) instead."
        )
    table = pd.DataFrame(
        {
            "artist": rows["artist_id"].astype(np.int64).astype(str).to_numpy(),
            "genre": rows["genres"].astype(str).str.strip().str.lower().to_numpy(),
            "weight": 1.0,
        }
    ).drop_duplicates(["artist", "genre"])
    if artist_tags_path is not None and Path(artist_tags_path).is_file():
        table = _tag_weights(table, pd.read_parquet(artist_tags_path))
    return validate_genre_table(table, str(path))


def _tag_weights(table: pd.DataFrame, tags: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each (artist, genre) weighted by its share of the artist's top tag count
    at each provider (the largest over providers); genres without a tag row keep weight 1."""
    if tags.empty:
        return table
    t = tags[["artist_id", "provider", "tag", "count"]].copy()
    t["count"] = pd.to_numeric(t["count"], errors="coerce").fillna(0).clip(lower=0)
    top = t.groupby(["artist_id", "provider"])["count"].transform("max")
    t["share"] = np.where(top > 0, t["count"] / top.where(top > 0, 1), 0.0)
    t = t.assign(
        artist=t["artist_id"].astype(np.int64).astype(str),
        genre=t["tag"].astype(str).str.strip().str.lower(),
    )
    share = t.groupby(["artist", "genre"], as_index=False)["share"].max()
    out = table.drop(columns=["weight"]).merge(share, on=["artist", "genre"], how="left")
    # a zero count (Last.fm lists tags at 0) is weak evidence, not none: keep it above 0
    out["weight"] = out["share"].fillna(1.0).clip(lower=0.01).round(4)
    return out.drop(columns=["share"])


def tracks_from_enrich(
    tracks_path: Path | str,
    features_path: Path | str,
    feature_names: Sequence[str],
    *,
    require_features: bool = False,
) -> pd.DataFrame:
    """The enriched tracks with names and audio features.

    Parameters
    ----------
    tracks_path
        The catalogue's ``tracks`` table (``track_id, artist_id, artist_name, track_name``).
    features_path
        The enrich ``track_features`` table.
    feature_names
        Audio features to carry (NaN where no provider answered).
    require_features
        Keep only tracks with every one of ``feature_names`` (clustering); otherwise every
        catalogue track, with NaN features where no provider answered.

    Returns
    -------
    pandas.DataFrame
        ``track_id, artist_id, artist`` (str artist id), ``artist_name, name,
        feature_provider`` + ``feature_names``.

    Raises
    ------
    InputDataError
        Missing files/columns, or ``require_features`` and no track has all features.
    """
    catalogue = _read(tracks_path, ["track_id", "artist_id", "artist_name", "track_name"], "tracks")
    feats = best_features(
        _read(features_path, ["track_id", "provider"], "track features"), feature_names
    )
    base = pd.DataFrame(
        {
            "track_id": catalogue["track_id"].astype(np.int64).to_numpy(),
            "artist_id": catalogue["artist_id"].astype(np.int64).to_numpy(),
            "artist": catalogue["artist_id"].astype(np.int64).astype(str).to_numpy(),
            "artist_name": catalogue["artist_name"].astype(str).to_numpy(),
            "name": catalogue["track_name"].astype(str).to_numpy(),
        }
    )
    if require_features:
        feats = feats[feats[list(feature_names)].notna().all(axis=1)]
        if feats.empty:
            raise InputDataError(
                f"track features: no track in {features_path} has all of "
                f"{list(feature_names)} (audio features are closed to apps created after "
                "November 2024; the enrich coverage report says which provider answered). "
                "Use a features file (source: file) instead."
            )
        return base.merge(feats, on="track_id", how="inner").reset_index(drop=True)
    if feats.empty:
        logger.warning("track features: no track has any audio feature in %s", features_path)
    out = base.merge(feats, on="track_id", how="left")
    for n in feature_names:
        out[n] = out[n].astype(np.float64)
    return out


def session_features_from_enrich(
    tracks_path: Path | str, features_path: Path | str
) -> pd.DataFrame:
    """Item mood features for the session stage (``session.features_source: enrich``).

    Returns ``track_mbid, artist_name, track_name, feature_provider`` + ``valence, energy,
    tempo, danceability, acousticness``: the catalogue's tracks with a valence and an
    energy from some provider (e.g. AcousticBrainz moods through the mood mapping), keyed
    as :func:`moodrec.session.data.link_item_features` links them.

    Raises
    ------
    InputDataError
        Missing files/columns, or no track with both valence and energy.
    """
    names = ("valence", "energy", "tempo", "danceability", "acousticness")
    catalogue = _read(tracks_path, ["track_id", "artist_name", "track_name"], "tracks")
    feats = best_features(_read(features_path, ["track_id", "provider"], "track features"), names)
    feats = feats[feats["valence"].notna() & feats["energy"].notna()]
    if feats.empty:
        raise InputDataError(
            f"track features: no track in {features_path} has valence and energy (configure "
            "a provider that gives them, e.g. enrich.acousticbrainz_dump)"
        )
    return _named_by_catalogue(catalogue, feats)


def _named_by_catalogue(catalogue: pd.DataFrame, per_track: pd.DataFrame) -> pd.DataFrame:
    """``per_track`` (keyed by ``track_id``) with the catalogue's artist and track names (and
    MBID when it has one) in place of the id: what the session stage joins plays on."""
    cols = ["track_id", "artist_name", "track_name"]
    if "track_mbid" in catalogue.columns:
        cols.append("track_mbid")
    out = catalogue[cols].merge(per_track, on="track_id", how="inner")
    return out.drop(columns=["track_id"]).reset_index(drop=True)


#: the enrich tables :func:`session_features_from_open` reads (any may be absent)
OPEN_MOOD_INPUTS: tuple[str, ...] = ("track_moods", "track_tags", "artist_tags", "track_audio")


def session_features_from_open(
    tracks_path: Path | str,
    tables: dict[str, Path | str],
    min_evidence: str = "acousticbrainz",
) -> pd.DataFrame:
    """Item mood features for the session stage through the open mood model.

    Parameters
    ----------
    tracks_path
        The catalogue's ``tracks`` table.
    tables
        Paths of the enrich tables of :data:`OPEN_MOOD_INPUTS` that exist.
    min_evidence
        ``acousticbrainz`` (tracks with a record), ``mood_tags`` (also tracks with Last.fm
        mood tags) or ``any`` (also tracks with only a Deezer BPM/gain).

    Returns
    -------
    pandas.DataFrame
        As :func:`session_features_from_enrich`, plus ``mood_source``.

    Raises
    ------
    InputDataError
        Missing catalogue, or no track with enough evidence.
    """
    from moodrec.providers.open_mood import open_mood_inputs, shipped_model

    catalogue = _read(tracks_path, ["track_id", "artist_id", "artist_name", "track_name"], "tracks")

    def table(name: str) -> pd.DataFrame | None:
        path = tables.get(name)
        return pd.read_parquet(path) if path is not None and Path(path).is_file() else None

    x = open_mood_inputs(
        catalogue,
        table("track_moods"),
        table("track_tags"),
        table("artist_tags"),
        table("track_audio"),
    )
    if min_evidence == "acousticbrainz":
        x = x[x["has_ab"]]
    elif min_evidence == "mood_tags":
        x = x[x["has_ab"] | (x["has_mood_tags"] > 0)]
    pred = shipped_model().predict(x)
    if pred.empty:
        raise InputDataError(
            f"open moods: no track of {tracks_path} has enough evidence ({min_evidence}) for "
            "valence and energy (configure enrich.acousticbrainz_dump, lastfm_tags or deezer)"
        )
    return _named_by_catalogue(catalogue, pred)


def lyrics_from_enrich(
    lyrics_path: Path | str, features_path: Path | str | None = None
) -> pd.DataFrame:
    """``track_id, text, source`` (the provider) from the enrich ``lyrics_raw`` table.

    One text per track (the first provider that found it); ``valence`` from
    ``track_features`` when a provider gave it (it only colours the topic map).

    Raises
    ------
    InputDataError
        Missing file/columns, or no lyrics at all (Genius blocked and LRCLIB unreachable).
    """
    raw = _read(lyrics_path, ["track_id", "provider", "text"], "lyrics")
    raw = raw[raw["text"].notna() & (raw["text"].astype(str).str.strip() != "")]
    if raw.empty:
        raise InputDataError(
            f"lyrics: {lyrics_path} holds no lyrics (the enrich coverage report says which "
            "lyrics providers were blocked or unreachable). Use a lyrics file (source: file)."
        )
    raw = raw.drop_duplicates("track_id", keep="first")
    out = pd.DataFrame(
        {
            "track_id": raw["track_id"].astype(np.int64).to_numpy(),
            "text": raw["text"].astype(str).to_numpy(),
            "source": raw["provider"].astype(str).to_numpy(),
        }
    )
    if features_path is not None and Path(features_path).is_file():
        # the same provider row as every other stage takes (the most complete one)
        val = best_features(pd.read_parquet(features_path), AUDIO_FEATURES)
        out = out.merge(val[["track_id", "valence"]], on="track_id", how="left")
    return out
