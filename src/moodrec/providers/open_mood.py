"""Mood coordinates from every open source at once: AcousticBrainz, Last.fm tags, Deezer.

:mod:`moodrec.providers.acousticbrainz_mood` maps one AcousticBrainz record to (valence,
energy); a track without a record (about a fifth of the plays in the sandbox, more on a real
log) gets nothing there. This model also reads what the other open providers answered for the
track, so such tracks get coordinates too, and tracks with a record get a sharper estimate:

* **AcousticBrainz** (``track_moods`` rows): the 11 inputs of
  :data:`~moodrec.providers.acousticbrainz_mood.MOOD_INPUTS` (binary mood classifiers,
  danceability, voice/instrumental, ``bpm_n``, ``loudness_n``) and ``tonal_atonal``;
* **Last.fm track tags** (``track_tags`` rows of ``lastfm_tags``): the weight (count / 100)
  of each mood word of :data:`MOOD_WORDS` (``sad``, ``happy``, ``chill``, ...; a word's
  synonyms count for it), ``has_mood_tags``;
* **genre evidence** (``track_tags`` and ``artist_tags`` of every provider): the weight of each
  broad genre of :data:`BROAD_GENRES` (track tags first, else the artist's; count / the
  item's top count at that provider, the largest over providers) — genres shift the prior of
  both axes (metal is loud, classical calm);
* **Deezer** (``track_audio``): ``bpm_n = clip((bpm − 60) / 120, 0, 1)`` and ``gain_n =
  clip((gain + 30) / 30, 0, 1)`` with a presence flag each (missing → 0).

Two linear maps (:class:`OpenMoodModel`), each ``clip(b + w · x, 0, 1)`` per axis: one for
tracks with an AcousticBrainz record (all the inputs), one for tracks without (tags, genres,
Deezer). A track with no AcousticBrainz record, no mood tag and no Deezer tempo or gain gets
no coordinates (genres alone say too little; the session stage treats it as unknown).

The shipped weights (``providers/data/open_mood_fit.json``) are ridge least squares on the
planted truth of sandbox demo worlds of seeds 1, 2, 3 (:func:`fit_open_mood_model`; refitted
and validated on held-out seeds 42, 7, 11 by ``benchmarks/bench_open_moods.py``). Only the
model's *form* transfers to real data: the sandbox's taggers, classifiers and Deezer values are
planted noisy views of its truth, so the weights are a starting point to be refitted on real
labels (e.g. a few thousand tracks with Spotify valence/energy from an old export).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from moodrec.errors import InputDataError
from moodrec.providers.acousticbrainz_mood import MOOD_INPUTS, mood_inputs

#: mood words read from track tags → their synonyms (lower-case tag names)
MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "happy": ("happy", "happy music", "feel good", "upbeat", "cheerful"),
    "sad": ("sad", "melancholy", "melancholic", "depressing", "sad songs"),
    "chill": ("chill", "chillout", "mellow", "relaxing", "calm", "relax"),
    "energetic": ("energetic", "energy", "high energy", "party"),
    "aggressive": ("aggressive", "angry", "heavy", "brutal"),
}
#: broad genres read from tags → their synonyms
BROAD_GENRES: dict[str, tuple[str, ...]] = {
    "pop": ("pop",),
    "rock": ("rock",),
    "electronic": ("electronic", "electronica", "electro", "dance", "techno", "house"),
    "hip hop": ("hip hop", "hip-hop", "hiphop", "rap"),
    "classical": ("classical",),
    "jazz": ("jazz",),
    "folk": ("folk", "singer-songwriter", "acoustic"),
    "metal": ("metal",),
    "experimental": ("experimental", "avant-garde", "noise"),
}
AB_INPUTS: tuple[str, ...] = (*MOOD_INPUTS, "tonal_atonal")
TAG_INPUTS: tuple[str, ...] = (*(f"tag_{w}" for w in MOOD_WORDS), "has_mood_tags")
GENRE_INPUTS: tuple[str, ...] = tuple(f"genre_{g.replace(' ', '_')}" for g in BROAD_GENRES)
DEEZER_INPUTS: tuple[str, ...] = ("bpm_n", "has_bpm", "gain_n", "has_gain")
#: the inputs of the map for tracks with an AcousticBrainz record, in order
WITH_AB: tuple[str, ...] = (
    *(f"ab_{c}" for c in AB_INPUTS),
    *TAG_INPUTS,
    *GENRE_INPUTS,
    *DEEZER_INPUTS,
)
#: the inputs of the map for tracks without one
WITHOUT_AB: tuple[str, ...] = (*TAG_INPUTS, *GENRE_INPUTS, *DEEZER_INPUTS)

_WORD_OF = {syn: w for w, syns in MOOD_WORDS.items() for syn in syns}
_GENRE_OF = {syn: g for g, syns in BROAD_GENRES.items() for syn in syns}


@dataclass(frozen=True)
class LinearMap:
    """``clip(b + w · x, 0, 1)`` per axis over named inputs."""

    inputs: tuple[str, ...]
    valence: tuple[float, ...]  # intercept, then one weight per input
    energy: tuple[float, ...]

    def apply(self, x: pd.DataFrame) -> np.ndarray:
        """``(n, 2)`` valence, energy of the rows of ``x`` (columns ``inputs``)."""
        a = x[list(self.inputs)].to_numpy(dtype=float)
        return np.column_stack(
            [np.clip(w[0] + a @ np.asarray(w[1:]), 0.0, 1.0) for w in (self.valence, self.energy)]
        )


@dataclass(frozen=True)
class OpenMoodModel:
    """The two maps: for tracks with an AcousticBrainz record and for tracks without."""

    name: str
    with_ab: LinearMap
    without_ab: LinearMap

    def predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        """``track_id, valence, energy, mood_source`` of :func:`open_mood_inputs` rows.

        ``mood_source`` is ``acousticbrainz+`` (the record, with whatever else answered) or
        ``tags/deezer``; rows with no usable evidence are left out.
        """
        ab = inputs["has_ab"].to_numpy(bool)
        out = np.full((len(inputs), 2), np.nan)
        if ab.any():
            out[ab] = self.with_ab.apply(inputs[ab])
        if (~ab).any():
            out[~ab] = self.without_ab.apply(inputs[~ab])
        usable = inputs["usable"].to_numpy(bool)
        return pd.DataFrame(
            {
                "track_id": inputs["track_id"].to_numpy()[usable],
                "valence": out[usable, 0].round(4),
                "energy": out[usable, 1].round(4),
                "mood_source": np.where(ab, "acousticbrainz+", "tags/deezer")[usable],
            }
        )

    def to_json(self) -> dict[str, Any]:
        """The model as plain JSON (inputs and weights of both maps)."""
        return {
            "name": self.name,
            **{
                key: {
                    "inputs": list(m.inputs),
                    "valence": list(m.valence),
                    "energy": list(m.energy),
                }
                for key, m in (("with_ab", self.with_ab), ("without_ab", self.without_ab))
            },
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> OpenMoodModel:
        """Read :meth:`to_json`'s output.

        Raises
        ------
        InputDataError
            The inputs differ from this version's (:data:`WITH_AB`, :data:`WITHOUT_AB`).
        """
        maps = {}
        for key, want in (("with_ab", WITH_AB), ("without_ab", WITHOUT_AB)):
            m = doc[key]
            if tuple(m["inputs"]) != want or len(m["valence"]) != len(want) + 1:
                raise InputDataError(f"open mood model {doc.get('name')!r}: {key} inputs differ")
            maps[key] = LinearMap(
                tuple(m["inputs"]), tuple(map(float, m["valence"])), tuple(map(float, m["energy"]))
            )
        return cls(str(doc.get("name", "open_fit")), maps["with_ab"], maps["without_ab"])


@cache
def shipped_model() -> OpenMoodModel:
    """The weights fitted on the sandbox (``providers/data/open_mood_fit.json``)."""
    text = resources.files("moodrec.providers").joinpath("data/open_mood_fit.json").read_text()
    return OpenMoodModel.from_json(json.loads(text))


def _weights(rows: pd.DataFrame, key: str, vocab: dict[str, str], prefix: str) -> pd.DataFrame:
    """Per ``key``: each vocabulary word's largest share of its item's top count at a
    provider (counts are on each provider's own scale: Last.fm 0-100, MusicBrainz votes)."""
    if rows.empty:
        return pd.DataFrame(columns=[key])
    r = rows[[key, "tag", "count"]].copy()
    r["provider"] = rows["provider"].to_numpy() if "provider" in rows else ""
    r["tag"] = r["tag"].astype(str).str.strip().str.lower()
    r["count"] = pd.to_numeric(r["count"], errors="coerce").fillna(0.0)
    top = r.groupby([key, "provider"])["count"].transform("max").clip(lower=1)
    r["w"] = (r["count"].astype(float) / top).clip(0.0, 1.0)
    r["word"] = r["tag"].map(vocab)
    r = r.dropna(subset=["word"])
    wide = r.pivot_table(index=key, columns="word", values="w", aggfunc="max")
    wide.columns = [f"{prefix}{str(c).replace(' ', '_')}" for c in wide.columns]
    return wide.reset_index()


def open_mood_inputs(
    tracks: pd.DataFrame,
    moods: pd.DataFrame | None = None,
    track_tags: pd.DataFrame | None = None,
    artist_tags: pd.DataFrame | None = None,
    audio: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row of model inputs per track, from the enrich tables.

    Parameters
    ----------
    tracks
        ``track_id, artist_id`` per catalogue track.
    moods
        AcousticBrainz records (``track_moods``: ``track_id`` + the extract's columns).
    track_tags, artist_tags
        ``track_id``/``artist_id, provider, tag, count`` rows (any provider). Mood words are
        read from Last.fm's track tags only (MusicBrainz "moods" are a separate field).
    audio
        ``track_audio`` (``track_id, bpm, gain``).

    Returns
    -------
    pandas.DataFrame
        ``track_id, has_ab, usable`` + every name of :data:`WITH_AB` (missing → 0).
    """
    base = tracks[["track_id", "artist_id"]].drop_duplicates("track_id").reset_index(drop=True)
    out = base.copy()
    if moods is not None and not moods.empty:
        m = moods.drop_duplicates("track_id").reset_index(drop=True)
        x = mood_inputs(m)
        ab = pd.DataFrame(x, columns=[f"ab_{c}" for c in MOOD_INPUTS])
        ab["ab_tonal_atonal"] = (
            pd.to_numeric(m["tonal_atonal"], errors="coerce").fillna(0.5).to_numpy()
            if "tonal_atonal" in m
            else 0.5
        )
        ab["track_id"] = m["track_id"].to_numpy()
        ab = ab[~np.isnan(x).any(axis=1)]
        out = out.merge(ab, on="track_id", how="left")
    out["has_ab"] = out.get("ab_mood_happy", pd.Series(np.nan, index=out.index)).notna()
    tt = track_tags if track_tags is not None else pd.DataFrame(columns=["track_id"])
    lf = tt[tt["provider"] == "lastfm_tags"] if "provider" in tt else tt
    out = out.merge(_weights(lf, "track_id", _WORD_OF, "tag_"), on="track_id", how="left")
    mood_cols = [f"tag_{w}" for w in MOOD_WORDS]
    for c in mood_cols:
        if c not in out:
            out[c] = np.nan
    out["has_mood_tags"] = out[mood_cols].notna().any(axis=1).astype(float)
    # genre evidence: the track's own tags, else its artist's
    g_track = _weights(tt, "track_id", _GENRE_OF, "genre_")
    at = artist_tags if artist_tags is not None else pd.DataFrame(columns=["artist_id"])
    g_artist = _weights(at, "artist_id", _GENRE_OF, "genre_")
    gt = base.merge(g_track, on="track_id", how="left")
    ga = base.merge(g_artist, on="artist_id", how="left")
    has_track = gt.drop(columns=["track_id", "artist_id"]).notna().any(axis=1)
    for c in GENRE_INPUTS:
        t_col = gt[c] if c in gt else pd.Series(np.nan, index=gt.index)
        a_col = ga[c] if c in ga else pd.Series(np.nan, index=ga.index)
        out[c] = np.where(has_track, t_col.fillna(0.0), a_col.fillna(0.0))
    if audio is not None and not audio.empty:
        a = audio.drop_duplicates("track_id")[["track_id", "bpm", "gain"]]
        out = out.merge(a, on="track_id", how="left")
    else:
        out["bpm"] = np.nan
        out["gain"] = np.nan
    bpm = pd.to_numeric(out["bpm"], errors="coerce").where(lambda s: s > 0)
    gain = pd.to_numeric(out["gain"], errors="coerce")
    out["bpm_n"] = ((bpm - 60.0) / 120.0).clip(0.0, 1.0).fillna(0.0)
    out["has_bpm"] = bpm.notna().astype(float)
    out["gain_n"] = ((gain + 30.0) / 30.0).clip(0.0, 1.0).fillna(0.0)
    out["has_gain"] = gain.notna().astype(float)
    for c in WITH_AB:
        if c not in out:
            out[c] = 0.0
        out[c] = out[c].astype(float).fillna(0.0)
    out["usable"] = (
        out["has_ab"] | (out["has_mood_tags"] > 0) | (out["has_bpm"] > 0) | (out["has_gain"] > 0)
    )
    return out[["track_id", "has_ab", "usable", *WITH_AB]]


def _ridge(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    a = np.column_stack([np.ones(len(x)), x])
    reg = ridge * np.eye(a.shape[1])
    reg[0, 0] = 0.0
    return np.linalg.solve(a.T @ a + reg, a.T @ y)


def fit_open_mood_model(
    inputs: pd.DataFrame, truth: np.ndarray, name: str = "open_fit", ridge: float = 1.0
) -> OpenMoodModel:
    """Ridge least squares of both maps on ``(n, 2)`` truth (valence, energy).

    ``inputs`` are :func:`open_mood_inputs` rows; only usable rows with finite truth are
    used, those with a record for :attr:`OpenMoodModel.with_ab`, the others for
    ``without_ab``. ``ridge`` shrinks the weights, not the intercepts.

    Raises
    ------
    InputDataError
        Fewer rows than inputs for either map.
    """
    ok = inputs["usable"].to_numpy(bool) & np.isfinite(truth).all(axis=1)
    ab = inputs["has_ab"].to_numpy(bool)
    maps = {}
    for key, cols, rows in (("with_ab", WITH_AB, ok & ab), ("without_ab", WITHOUT_AB, ok & ~ab)):
        if rows.sum() <= len(cols):
            raise InputDataError(f"open mood fit: {int(rows.sum())} rows for {key}")
        coef = _ridge(inputs.loc[rows, list(cols)].to_numpy(float), truth[rows], ridge)
        maps[key] = LinearMap(
            cols,
            tuple(round(float(v), 5) for v in coef[:, 0]),
            tuple(round(float(v), 5) for v in coef[:, 1]),
        )
    return OpenMoodModel(name, maps["with_ab"], maps["without_ab"])
