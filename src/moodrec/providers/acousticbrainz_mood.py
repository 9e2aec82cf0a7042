"""From AcousticBrainz classifier outputs to mood coordinates (valence-like, energy-like).

The mood timeline and the session recommender live in the valence × energy plane (Russell's
circumplex, the plane the seed study's Spotify features gave). AcousticBrainz has no
valence or energy; it has binary mood classifiers (``mood_happy``, ``mood_sad``,
``mood_relaxed``, ``mood_aggressive``, ``mood_party``, ``mood_acoustic``,
``mood_electronic``), ``danceability``, ``voice_instrumental``, and low-level ``bpm`` and
``average_loudness``. Both axes are a clipped linear form of these inputs::

    valence = clip(b_v + Σ_i w_v,i · x_i, 0, 1)
    energy  = clip(b_e + Σ_i w_e,i · x_i, 0, 1)

with ``x`` = the probabilities of the kept classes (see
:data:`moodrec.providers.acousticbrainz.BINARY_MODELS`), ``bpm_n = clip((bpm − 60) / 120,
0, 1)`` and ``loudness_n = average_loudness`` (already in [0, 1]). A missing input takes
its neutral value 0.5; a recording with no mood classifier at all gets NaN.

Two named weight sets (``mood_mapping`` in the provider's settings):

* ``formula`` — set by hand from the classifiers' meaning: valence rises with happy and
  party and falls with sad and aggressive; energy rises with aggressive, party, tempo and
  loudness and falls with relaxed and acoustic;
* ``sandbox_fit`` — the same inputs, least squares (ridge 1e-3) on the planted truth of
  sandbox demo worlds of seeds 1, 2, 3 (:func:`fit_mood_mapping`; refitted and checked
  on held-out seeds by ``benchmarks/bench_open_moods.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

MoodMappingName = Literal["formula", "sandbox_fit"]

#: inputs of both axes, in order
MOOD_INPUTS: tuple[str, ...] = (
    "mood_happy",
    "mood_sad",
    "mood_relaxed",
    "mood_aggressive",
    "mood_party",
    "mood_acoustic",
    "mood_electronic",
    "danceability",
    "voice_instrumental",
    "bpm_n",
    "loudness_n",
)
_MOOD_CLASSIFIERS = MOOD_INPUTS[:7]

#: pitch classes as Essentia names them (sharps and flats both accepted)
_PITCH = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
    "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11,
}  # fmt: skip


@dataclass(frozen=True)
class MoodMapping:
    """Intercept and weights (over :data:`MOOD_INPUTS`) of the valence and energy axes."""

    name: str
    valence: tuple[float, ...]  # intercept, then one weight per input
    energy: tuple[float, ...]

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``(n, 2)`` valence, energy of ``(n, len(MOOD_INPUTS))`` inputs (NaN rows stay NaN)."""
        out = np.empty((x.shape[0], 2))
        for j, w in enumerate((self.valence, self.energy)):
            out[:, j] = np.clip(w[0] + x @ np.asarray(w[1:]), 0.0, 1.0)
        return out


#: hand-set from the classifiers' meaning (see the module docstring)
FORMULA = MoodMapping(
    name="formula",
    #        b     happy  sad   relax  aggr  party  acous  elec  dance  instr  bpm   loud
    valence=(0.42, 0.34, -0.26, 0.04, -0.12, 0.16, 0.00, 0.00, 0.06, 0.00, 0.00, 0.00),
    energy=(0.30, 0.00, -0.06, -0.20, 0.24, 0.12, -0.14, 0.04, 0.04, 0.00, 0.10, 0.22),
)

#: fitted on the planted truth of sandbox demo worlds, seeds 1-3 (see fit_mood_mapping)
SANDBOX_FIT = MoodMapping(
    name="sandbox_fit",
    #        b       happy   sad      relax   aggr     party   acous    elec     dance
    #        instr   bpm     loud
    valence=(0.3592, 0.3868, -0.2738, 0.0587, -0.2192, 0.1551, -0.0015, -0.0165, 0.0011,
             -0.002, -0.0169, 0.0019),
    energy=(0.5231, 0.0366, -0.1212, -0.2862, 0.2838, 0.1145, -0.0598, 0.0372, -0.0511,
            -0.0257, 0.0463, 0.0897),
)  # fmt: skip

MAPPINGS: dict[str, MoodMapping] = {"formula": FORMULA, "sandbox_fit": SANDBOX_FIT}


def mood_inputs(records: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
    """``(n, len(MOOD_INPUTS))`` inputs of AcousticBrainz rows (extract columns).

    Missing values take the neutral 0.5; rows with no mood classifier at all are NaN.
    """
    frame = pd.DataFrame([records]) if isinstance(records, Mapping) else records
    n = len(frame)

    def col(name: str) -> np.ndarray:
        if name not in frame:
            return np.full(n, np.nan)
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)

    x = np.column_stack(
        [
            *(col(c) for c in MOOD_INPUTS[:9]),
            np.clip((col("bpm") - 60.0) / 120.0, 0.0, 1.0),
            np.clip(col("average_loudness"), 0.0, 1.0),
        ]
    )
    none = np.isnan(x[:, : len(_MOOD_CLASSIFIERS)]).all(axis=1)
    x = np.where(np.isnan(x), 0.5, x)
    x[none] = np.nan
    return x


def mood_coordinates(records: pd.DataFrame, mapping: str | MoodMapping = "formula") -> np.ndarray:
    """``(n, 2)`` valence, energy of AcousticBrainz rows through a named mapping."""
    m = MAPPINGS[mapping] if isinstance(mapping, str) else mapping
    return m.apply(mood_inputs(records))


def fit_mood_mapping(
    records: pd.DataFrame, truth: np.ndarray, name: str = "fitted", ridge: float = 1e-3
) -> MoodMapping:
    """Least-squares weights of both axes on ``(n, 2)`` truth (valence, energy).

    Rows with NaN inputs or truth are left out; ``ridge`` shrinks the weights (not the
    intercept).
    """
    x = mood_inputs(records)
    ok = ~np.isnan(x).any(axis=1) & ~np.isnan(truth).any(axis=1)
    a = np.column_stack([np.ones(int(ok.sum())), x[ok]])
    reg = ridge * np.eye(a.shape[1])
    reg[0, 0] = 0.0
    coef = np.linalg.solve(a.T @ a + reg, a.T @ truth[ok])
    return MoodMapping(
        name=name,
        valence=tuple(round(float(v), 4) for v in coef[:, 0]),
        energy=tuple(round(float(v), 4) for v in coef[:, 1]),
    )


def spotify_shaped_features(record: Mapping[str, Any], mapping: str = "formula") -> dict[str, Any]:
    """The Spotify audio features an AcousticBrainz row stands in for (others ``None``).

    ``valence``/``energy`` through the mood mapping; ``danceability`` = P(danceable),
    ``acousticness`` = P(acoustic), ``instrumentalness`` = P(instrumental), ``tempo`` =
    bpm, ``key`` = pitch class of ``key_key``, ``mode`` = 1 major / 0 minor. AcousticBrainz
    has no loudness in dB, speechiness, liveness or duration: those stay ``None``.
    """
    ve = mood_coordinates(pd.DataFrame([dict(record)]), mapping)[0]

    def num(key: str) -> float | None:
        v = record.get(key)
        try:
            f = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return f if np.isfinite(f) else None

    scale = record.get("key_scale")
    return {
        "valence": None if np.isnan(ve[0]) else round(float(ve[0]), 4),
        "energy": None if np.isnan(ve[1]) else round(float(ve[1]), 4),
        "danceability": num("danceability"),
        "acousticness": num("mood_acoustic"),
        "instrumentalness": num("voice_instrumental"),
        "tempo": num("bpm"),
        "key": _PITCH.get(str(record.get("key_key") or "")),
        "mode": {"major": 1, "minor": 0}.get(str(scale)) if scale else None,
    }
