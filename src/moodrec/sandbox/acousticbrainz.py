"""AcousticBrainz-like dump files of the sandbox world, derived from the planted truth.

Same layout as the published 2022 dumps (see ``tests/fixtures/acousticbrainz/SOURCE.txt``):
``acousticbrainz/acousticbrainz-{highlevel,lowlevel}-json-20220623/
acousticbrainz-{type}-json-20220623-<part>.tar.zst``, members
``acousticbrainz-{type}-json-20220623/{type}/<mbid[0:2]>/<mbid[2]>/<mbid>-<n>.json`` plus
``COPYING``; high-level documents ``{"highlevel": {model: {"all", "probability", "value",
"version"}}, "metadata"}`` with sorted keys, low-level ones ``{"lowlevel", "metadata",
"rhythm", "tonal"}`` (only the descriptors moodrec reads, not the real 80 KB).

The classifiers are noisy views of the truth: logistic in logit space with a noise of sd
:data:`LOGIT_NOISE` per recording (the same audio fools a model the same way in every
submission) plus :data:`SUBMISSION_NOISE` per submission, and a share
:data:`BLUNDER_SHARE` of outputs replaced by a uniform draw (real AcousticBrainz models
generalise poorly); ``rhythm.bpm`` has octave errors; ``key_scale`` is sometimes wrong.

Coverage and duplicates follow the real dumps' shape: only tracks with an MBID appear (the
dumps are keyed by it); a track is absent with probability :data:`MISSING_SHARE`
(``[most popular, least popular]``, linear in its popularity rank: submissions came from
listeners' libraries); a present track has ``1 + Poisson(λ)`` submissions (offsets
``0..n-1``, at most :data:`MAX_SUBMISSIONS`), ``λ`` rising with popularity to a mean of
:data:`EXTRA_SUBMISSIONS_MEAN` (29.46 M submissions of about 7 M recordings in 2022:
about 4 per MBID). Everything is drawn from the given generator, so equal seeds write
byte-identical archives (fixed tar headers, single-threaded zstd).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from moodrec.sandbox import vocab

DUMP_DATE = "20220623"
DIRNAME = "acousticbrainz"
N_PARTS = 2
MISSING_SHARE = (0.05, 0.45)
EXTRA_SUBMISSIONS_MEAN = 3.0
MAX_SUBMISSIONS = 12
LOGIT_NOISE = 0.8
SUBMISSION_NOISE = 0.6
BLUNDER_SHARE = 0.06
OCTAVE_ERROR_SHARE = 0.08
SCALE_ERROR_SHARE = 0.15
_MTIME = 1_656_633_600  # 2022-07-01, the dumps' publication
_KEYS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_VERSION = {
    "essentia": "2.1-beta1",
    "essentia_build_sha": "8e24b98b71ad84f3024c7541412f02124a26d327",
    "essentia_git_sha": "v2.1_beta1-228-g260734a",
    "extractor": "music 1.0",
    "gaia": "2.4-dev",
    "gaia_git_sha": "857329b",
    "models_essentia_git_sha": "v2.1_beta1",
}
#: super-genre → (rosamerica class, dortmund class)
_GENRE_CLASSES = {
    "pop": ("pop", "pop"),
    "rock": ("roc", "rock"),
    "electronica": ("dan", "electronic"),
    "hip hop": ("hip", "raphiphop"),
    "classical": ("cla", "alternative"),
    "jazz": ("jaz", "jazz"),
    "folk": ("spe", "folkcountry"),
    "metal": ("roc", "rock"),
    "experimental": ("spe", "alternative"),
}
_ROSAMERICA = ("cla", "dan", "hip", "jaz", "pop", "rhy", "roc", "spe")
_DORTMUND = (
    "alternative", "blues", "electronic", "folkcountry", "funksoulrnb", "jazz", "pop",
    "raphiphop", "rock",
)  # fmt: skip


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def classifier_logits(f: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, str, str]]:
    """Noise-free logit of each binary model's first class from the truth features.

    Returns ``model → (logit, positive class, negative class)``.
    """
    v, e = f["valence"], f["energy"]
    d, a, i = f["danceability"], f["acousticness"], f["instrumentalness"]
    return {
        "mood_happy": (7 * (v - 0.5) + 1.5 * (e - 0.5), "happy", "not_happy"),
        "mood_sad": (7 * (0.33 - v) + 4 * (0.42 - e), "sad", "not_sad"),
        "mood_relaxed": (8 * (0.45 - e) + 1.0 * (v - 0.4), "relaxed", "not_relaxed"),
        "mood_aggressive": (8 * (e - 0.72) + 4 * (0.4 - v), "aggressive", "not_aggressive"),
        "mood_party": (5 * (d - 0.6) + 5 * (e - 0.6) + 3 * (v - 0.5), "party", "not_party"),
        "mood_acoustic": (8 * (a - 0.45), "acoustic", "not_acoustic"),
        "mood_electronic": (7 * (0.3 - a) + 2 * (i - 0.3), "electronic", "not_electronic"),
        "danceability": (8 * (d - 0.55), "danceable", "not_danceable"),
        "voice_instrumental": (9 * (i - 0.5), "instrumental", "voice"),
        "tonal_atonal": (2.0 + 0 * v, "tonal", "atonal"),
        "gender": (0 * v, "female", "male"),
        "timbre": (3 * (e - 0.5), "bright", "dark"),
    }


#: the binary models and their (first, second) classes, in document order
_CLASSES = {
    m: (p, n)
    for m, (_, p, n) in classifier_logits({k: np.zeros(1) for k in vocab.AUDIO_FEATURES}).items()
}


def _multiclass(rng: np.random.Generator, classes: tuple[str, ...], favoured: str) -> dict:
    w = rng.gamma(0.6, 1.0, size=len(classes))
    w[classes.index(favoured)] += 2.0 * rng.random()
    p = w / w.sum()
    best = int(np.argmax(p))
    return {
        "all": {c: round(float(x), 12) for c, x in zip(classes, p, strict=True)},
        "probability": round(float(p[best]), 12),
        "value": classes[best],
    }


def _highlevel_doc(
    rng: np.random.Generator,
    logits: dict[str, float],  # with the recording's own noise already added
    super_genre: str,
    meta: dict[str, Any],
) -> dict[str, Any]:
    hl: dict[str, Any] = {}
    for model, (pos, neg) in _CLASSES.items():
        p = float(_sigmoid(np.asarray(logits[model] + rng.normal(0.0, SUBMISSION_NOISE))))
        if rng.random() < BLUNDER_SHARE:
            p = float(rng.random())
        p = min(max(p, 1e-6), 1 - 1e-6)
        value, prob = (pos, p) if p >= 0.5 else (neg, 1.0 - p)
        hl[model] = {
            "all": {pos: round(p, 12), neg: round(1.0 - p, 12)},
            "probability": round(prob, 12),
            "value": value,
        }
    ros, dort = _GENRE_CLASSES.get(super_genre, ("pop", "pop"))
    hl["genre_rosamerica"] = _multiclass(rng, _ROSAMERICA, ros)
    hl["genre_dortmund"] = _multiclass(rng, _DORTMUND, dort)
    hl["genre_electronic"] = _multiclass(
        rng, ("ambient", "dnb", "house", "techno", "trance"), "ambient"
    )
    hl["genre_tzanetakis"] = _multiclass(
        rng, ("blu", "cla", "cou", "dis", "hip", "jaz", "met", "pop", "reg", "roc"), "pop"
    )
    hl["ismir04_rhythm"] = _multiclass(
        rng, ("ChaChaCha", "Jive", "Quickstep", "Rumba-American", "Samba", "Tango", "Waltz"), "Jive"
    )
    hl["moods_mirex"] = _multiclass(
        rng, ("Cluster1", "Cluster2", "Cluster3", "Cluster4", "Cluster5"), "Cluster1"
    )
    for model in hl.values():
        model["version"] = dict(_VERSION)
    return {"highlevel": hl, "metadata": meta}


def _lowlevel_doc(rng: np.random.Generator, f: dict[str, Any], meta: dict) -> dict[str, Any]:
    bpm = float(f["tempo"])
    u = rng.random()
    if u < OCTAVE_ERROR_SHARE / 2:
        bpm *= 2.0
    elif u < OCTAVE_ERROR_SHARE:
        bpm /= 2.0
    bpm = max(bpm + rng.normal(0.0, 2.0), 30.0)
    key = int(f["key"]) if int(f["key"]) >= 0 else int(rng.integers(12))
    major = bool(f["mode"]) != (rng.random() < SCALE_ERROR_SHARE)
    loud = float(_sigmoid(np.asarray((f["loudness"] + 11.0) / 3.0 + rng.normal(0.0, 0.3))))
    return {
        "lowlevel": {
            "average_loudness": round(loud, 12),
            "dynamic_complexity": round(float(rng.gamma(2.0, 1.5)), 9),
        },
        "metadata": meta,
        "rhythm": {
            "bpm": round(bpm, 9),
            "danceability": round(
                float(np.clip(1.6 * f["danceability"] + rng.normal(0, 0.2), 0, 3)), 9
            ),
            "onset_rate": round(float(rng.uniform(1.0, 6.0)), 9),
        },
        "tonal": {
            "key_key": _KEYS[key],
            "key_scale": "major" if major else "minor",
            "key_strength": round(float(rng.uniform(0.3, 0.9)), 9),
        },
    }


def _tar_zst(members: list[tuple[str, bytes]], path: Path) -> Path:
    """A deterministic ``.tar.zst`` of ``(name, bytes)`` members, written atomically."""
    import zstandard

    from moodrec.storage import atomic_path

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = _MTIME
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    raw = zstandard.ZstdCompressor(level=10, threads=0).compress(buf.getvalue())
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(raw)
    return path


def write_acousticbrainz_dumps(
    rng: np.random.Generator,
    out_dir: Path,
    track_mbid: np.ndarray,
    features: dict[str, np.ndarray],
    super_genre: np.ndarray,
    artist_name: np.ndarray,
    track_name: np.ndarray,
    popularity: np.ndarray,
    keep: np.ndarray | None = None,
) -> dict[str, Path]:
    """Write the high-level and low-level dump archives of the world's tracks.

    Parameters
    ----------
    rng
        The world's AcousticBrainz stream.
    out_dir
        The world folder (archives go under ``acousticbrainz/``).
    track_mbid
        ``(n_tracks,)`` MBID per track, ``""`` where none (left out).
    features
        The truth audio features (``vocab.AUDIO_FEATURES`` arrays).
    super_genre, artist_name, track_name
        ``(n_tracks,)`` per track (genre classifiers, metadata tags).
    popularity
        ``(n_tracks,)`` planted popularity (coverage and duplicates rise with it).
    keep
        Optional bool mask of tracks eligible at all (large worlds cap the dump).

    Returns
    -------
    dict
        ``acousticbrainz_<type>_<part>`` → path of each archive.
    """
    n = track_mbid.size
    eligible = np.asarray([bool(m) for m in track_mbid])
    if keep is not None:
        eligible &= keep
    # popularity rank quantile: 0 = most popular, 1 = least
    rank = np.empty(n)
    rank[np.argsort(-popularity, kind="stable")] = np.arange(n) / max(n - 1, 1)
    p_missing = MISSING_SHARE[0] + (MISSING_SHARE[1] - MISSING_SHARE[0]) * rank
    present = eligible & (rng.random(n) >= p_missing)
    weight = 2.0 * (1.0 - rank)  # mean 1 over the catalogue
    n_subs = np.minimum(1 + rng.poisson(EXTRA_SUBMISSIONS_MEAN * weight), MAX_SUBMISSIONS)
    tracks = np.flatnonzero(present)
    logits = {
        m: z + rng.normal(0.0, LOGIT_NOISE, size=n)
        for m, (z, _, _) in classifier_logits(features).items()
    }
    entries: list[tuple[str, int, int]] = [
        (str(track_mbid[t]), int(t), k) for t in tracks for k in range(int(n_subs[t]))
    ]
    order = rng.permutation(len(entries))
    docs: dict[str, list[tuple[str, bytes]]] = {"highlevel": [], "lowlevel": []}
    for idx in order:
        mbid, t, offset = entries[idx]
        f = {k: features[k][t] for k in vocab.AUDIO_FEATURES}
        meta = {
            "audio_properties": {
                "analysis_sample_rate": 44100,
                "length": round(float(f["duration_ms"]) / 1000.0, 6),
                "lossless": False,
                "replay_gain": round(float(-f["loudness"] - 14.0), 6),
            },
            "tags": {
                "artist": [str(artist_name[t])],
                "musicbrainz_recordingid": [mbid],
                "title": [str(track_name[t])],
            },
            "version": {k: _VERSION[k] for k in ("essentia", "essentia_git_sha", "extractor")},
        }
        z = {m: float(zv[t]) for m, zv in logits.items()}
        hl = _highlevel_doc(rng, z, str(super_genre[t]), meta)
        ll = _lowlevel_doc(rng, f, meta)
        for kind, doc in (("highlevel", hl), ("lowlevel", ll)):
            name = (
                f"acousticbrainz-{kind}-json-{DUMP_DATE}/{kind}/{mbid[0:2]}/{mbid[2]}/"
                f"{mbid}-{offset}.json"
            )
            docs[kind].append((name, json.dumps(doc, sort_keys=True).encode()))
    copying = b"AcousticBrainz-like sandbox data (synthetic). CC0 1.0 Universal.\n"
    files: dict[str, Path] = {}
    for kind, members in docs.items():
        folder = out_dir / DIRNAME / f"acousticbrainz-{kind}-json-{DUMP_DATE}"
        size = -(-len(members) // N_PARTS) if members else 0
        for part in range(N_PARTS):
            chunk = members[part * size : (part + 1) * size]
            chunk.append((f"acousticbrainz-{kind}-json-{DUMP_DATE}/COPYING", copying))
            path = folder / f"acousticbrainz-{kind}-json-{DUMP_DATE}-{part}.tar.zst"
            files[f"acousticbrainz_{kind}_{part}"] = _tar_zst(chunk, path)
    return files
