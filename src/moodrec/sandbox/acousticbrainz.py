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
:data:`EXTRA_SUBMISSIONS_MEAN` (the 2022 dumps hold 29.46 M submissions of about 7 M
recordings, about 4 per MBID; the sandbox writes about 2.5 to keep the demo world quick:
submissions share their recording's noise, so more of them change little). Everything is
drawn from the given generator, so equal seeds write byte-identical archives (fixed tar
headers, single-threaded zstd at level 3; the real dumps used level 10, which the format
does not record).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from moodrec.sandbox import vocab
from moodrec.storage import atomic_path

DUMP_DATE = "20220623"
DIRNAME = "acousticbrainz"
N_PARTS = 2
MISSING_SHARE = (0.05, 0.45)
EXTRA_SUBMISSIONS_MEAN = 1.5
MAX_SUBMISSIONS = 8
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


#: multi-class models: classes and the class favoured (by super-genre for the two genre ones)
_MULTICLASS: dict[str, tuple[str, ...]] = {
    "genre_rosamerica": _ROSAMERICA,
    "genre_dortmund": _DORTMUND,
    "genre_electronic": ("ambient", "dnb", "house", "techno", "trance"),
    "genre_tzanetakis": ("blu", "cla", "cou", "dis", "hip", "jaz", "met", "pop", "reg", "roc"),
    "ismir04_rhythm": (
        "ChaChaCha", "Jive", "Quickstep", "Rumba-American", "Samba", "Tango", "Waltz",
    ),
    "moods_mirex": ("Cluster1", "Cluster2", "Cluster3", "Cluster4", "Cluster5"),
}  # fmt: skip
_FAVOURED = {"genre_electronic": 0, "genre_tzanetakis": 7, "ismir04_rhythm": 1, "moods_mirex": 0}


def _draw_highlevel(
    rng: np.random.Generator, logits: np.ndarray, super_genre: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per submission: ``(m, n_binary)`` probabilities of the first classes, and each
    multi-class model's ``(m, k)`` probabilities (all draws vectorised, in a fixed order).

    ``logits``: ``(m, n_binary)`` with the recording's own noise already added.
    """
    m, n_bin = logits.shape
    p = _sigmoid(logits + rng.normal(0.0, SUBMISSION_NOISE, size=(m, n_bin)))
    blunder = rng.random((m, n_bin)) < BLUNDER_SHARE
    p = np.clip(np.where(blunder, rng.random((m, n_bin)), p), 1e-6, 1 - 1e-6)
    multi: dict[str, np.ndarray] = {}
    for j, (model, classes) in enumerate(_MULTICLASS.items()):
        w = rng.gamma(0.6, 1.0, size=(m, len(classes)))
        if j < 2:  # the genre classifiers lean towards the recording's super-genre
            fav = np.asarray([classes.index(_GENRE_CLASSES[g][j]) for g in super_genre], int)
        else:
            fav = np.full(m, _FAVOURED[model])
        w[np.arange(m), fav] += 2.0 * rng.random(m)
        multi[model] = w / w.sum(axis=1, keepdims=True)
    return p, multi


def _highlevel_doc(p: np.ndarray, multi: dict[str, np.ndarray], i: int, meta: dict) -> dict:
    """Submission ``i``'s high-level document (the dump's shape, ``version`` per model)."""
    hl: dict[str, Any] = {}
    for j, (model, (pos, neg)) in enumerate(_CLASSES.items()):
        q = float(p[i, j])
        hl[model] = {
            "all": {pos: round(q, 12), neg: round(1.0 - q, 12)},
            "probability": round(max(q, 1.0 - q), 12),
            "value": pos if q >= 0.5 else neg,
        }
    for model, classes in _MULTICLASS.items():
        row = multi[model][i]
        best = int(np.argmax(row))
        hl[model] = {
            "all": {c: round(float(x), 12) for c, x in zip(classes, row, strict=True)},
            "probability": round(float(row[best]), 12),
            "value": classes[best],
        }
    for entry in hl.values():
        entry["version"] = dict(_VERSION)
    return {"highlevel": hl, "metadata": meta}


def _draw_lowlevel(rng: np.random.Generator, f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per submission (rows of ``f``, the truth features): the low-level descriptors."""
    m = f["tempo"].size
    u = rng.random(m)
    octave = np.where(u < OCTAVE_ERROR_SHARE / 2, 2.0, np.where(u < OCTAVE_ERROR_SHARE, 0.5, 1.0))
    key = np.where(f["key"] >= 0, f["key"], rng.integers(0, 12, size=m)).astype(int)
    major = (f["mode"] > 0) != (rng.random(m) < SCALE_ERROR_SHARE)
    return {
        "bpm": np.maximum(f["tempo"] * octave + rng.normal(0.0, 2.0, size=m), 30.0),
        "key": key,
        "major": major,
        "average_loudness": _sigmoid((f["loudness"] + 11.0) / 3.0 + rng.normal(0.0, 0.3, size=m)),
        "dynamic_complexity": rng.gamma(2.0, 1.5, size=m),
        "danceability": np.clip(1.6 * f["danceability"] + rng.normal(0, 0.2, size=m), 0, 3),
        "onset_rate": rng.uniform(1.0, 6.0, size=m),
        "key_strength": rng.uniform(0.3, 0.9, size=m),
    }


def _lowlevel_doc(d: dict[str, np.ndarray], i: int, meta: dict) -> dict[str, Any]:
    """Submission ``i``'s low-level document (only the descriptors moodrec reads)."""
    return {
        "lowlevel": {
            "average_loudness": round(float(d["average_loudness"][i]), 12),
            "dynamic_complexity": round(float(d["dynamic_complexity"][i]), 9),
        },
        "metadata": meta,
        "rhythm": {
            "bpm": round(float(d["bpm"][i]), 9),
            "danceability": round(float(d["danceability"][i]), 9),
            "onset_rate": round(float(d["onset_rate"][i]), 9),
        },
        "tonal": {
            "key_key": _KEYS[int(d["key"][i])],
            "key_scale": "major" if d["major"][i] else "minor",
            "key_strength": round(float(d["key_strength"][i]), 9),
        },
    }


class _Buffered:
    """Batches tarfile's many small writes into ~1 MiB writes to the zstd stream."""

    def __init__(self, raw: Any, size: int = 1 << 20) -> None:
        self._raw, self._buf, self._size = raw, bytearray(), size

    def write(self, data: bytes) -> int:
        self._buf += data
        if len(self._buf) >= self._size:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._buf:
            self._raw.write(bytes(self._buf))
            self._buf.clear()


class _TarZstWriter:
    """A deterministic ``.tar.zst`` streamed into ``fh`` member by member.

    Fixed tar headers (mtime, mode, no owner) and single-threaded zstd at level 3: equal
    members give equal bytes; memory stays one member, whatever the archive's size. Uses the
    ``zstandard`` package, or the ``zstd`` command (``-3 -T1``) when it is not installed.
    """

    def __init__(self, fh: IO[bytes]) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            import zstandard

            self._zst: Any = zstandard.ZstdCompressor(level=3).stream_writer(fh, closefd=False)
        except ImportError:
            fh.flush()
            self._proc = subprocess.Popen(
                ["zstd", "-3", "-T1", "-qc"], stdin=subprocess.PIPE, stdout=fh
            )
            self._zst = self._proc.stdin
        self._buf = _Buffered(self._zst)
        self._tar = tarfile.open(  # noqa: SIM115 - closed in close(), with the stream
            fileobj=self._buf, mode="w|", format=tarfile.PAX_FORMAT
        )

    def add(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = _MTIME
        info.mode = 0o644
        self._tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        self._tar.close()
        self._buf.flush()
        self._zst.close()
        if self._proc is not None and self._proc.wait() != 0:
            raise OSError(f"zstd exited with {self._proc.returncode}")


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
    copying = b"AcousticBrainz-like sandbox data (synthetic). CC0 1.0 Universal.\n"
    size = -(-len(entries) // N_PARTS) if entries else 0
    files: dict[str, Path] = {}
    for part in range(N_PARTS):
        paths = {
            kind: out_dir
            / DIRNAME
            / f"acousticbrainz-{kind}-json-{DUMP_DATE}"
            / f"acousticbrainz-{kind}-json-{DUMP_DATE}-{part}.tar.zst"
            for kind in ("highlevel", "lowlevel")
        }
        with contextlib.ExitStack() as stack:
            writers = {
                kind: _TarZstWriter(
                    stack.enter_context(stack.enter_context(atomic_path(p)).open("wb"))
                )
                for kind, p in paths.items()
            }
            chunk = [entries[i] for i in order[part * size : (part + 1) * size]]
            names = (super_genre, artist_name, track_name)
            _write_part(rng, writers, chunk, features, logits, *names)
            for kind, w in writers.items():
                w.add(f"acousticbrainz-{kind}-json-{DUMP_DATE}/COPYING", copying)
                w.close()
        files |= {f"acousticbrainz_{kind}_{part}": p for kind, p in paths.items()}
    return files


def _write_part(
    rng: np.random.Generator,
    writers: dict[str, _TarZstWriter],
    entries: list[tuple[str, int, int]],
    features: dict[str, np.ndarray],
    logits: dict[str, np.ndarray],
    super_genre: np.ndarray,
    artist_name: np.ndarray,
    track_name: np.ndarray,
) -> None:
    """One part's documents, in the given order (noise drawn for the whole part at once)."""
    if not entries:
        return
    t = np.asarray([e[1] for e in entries], dtype=np.int64)
    p, multi = _draw_highlevel(
        rng, np.column_stack([logits[m][t] for m in _CLASSES]), super_genre[t]
    )
    low = _draw_lowlevel(rng, {k: np.asarray(features[k])[t] for k in vocab.AUDIO_FEATURES})
    for i, (mbid, track, offset) in enumerate(entries):
        meta = {
            "audio_properties": {
                "analysis_sample_rate": 44100,
                "length": round(float(features["duration_ms"][track]) / 1000.0, 6),
                "lossless": False,
                "replay_gain": round(float(-features["loudness"][track] - 14.0), 6),
            },
            "tags": {
                "artist": [str(artist_name[track])],
                "musicbrainz_recordingid": [mbid],
                "title": [str(track_name[track])],
            },
            "version": {k: _VERSION[k] for k in ("essentia", "essentia_git_sha", "extractor")},
        }
        docs = {
            "highlevel": _highlevel_doc(p, multi, i, meta),
            "lowlevel": _lowlevel_doc(low, i, meta),
        }
        for kind, doc in docs.items():
            writers[kind].add(
                f"acousticbrainz-{kind}-json-{DUMP_DATE}/{kind}/{mbid[0:2]}/{mbid[2]}/"
                f"{mbid}-{offset}.json",
                json.dumps(doc, sort_keys=True).encode(),
            )
