"""What the open services (MusicBrainz, Last.fm, Deezer) know about the sandbox world.

Derived from the planted truth, deterministically (a hash of each entity's id decides every
draw), with the gaps and noise the real services have:

* MusicBrainz: every track is a recording (its truth ``track_mbid``, or a stable made-up one
  when the log has none); ``isrc_share`` of recordings list the ISRC; recordings rarely
  carry genres (``recording_genre_share``), artists mostly do (``artist_genre_share``: the
  planted genres with vote counts), some artists only have tags, a few nothing. Tags mix the
  planted genres, the super-genre and non-genre noise ("seen live", "favorites", a decade).
* Last.fm: top tags per artist and per track (counts 0–100, the super-genre on top, the
  planted genres below, noise in between); ``lastfm_missing_share`` of tracks are unknown
  (error 6). Some tracks also carry listeners' mood tags (:func:`mood_tags`: ``sad``,
  ``happy``, ``chill``, ``energetic``, ``aggressive``), noisy views of the planted valence and
  energy, more often on popular tracks.
* Deezer: ``deezer_share`` of tracks exist (id, the same ISRC, ``bpm`` = the planted tempo,
  0 for ``bpm_missing_share``, ``gain`` from the planted loudness); albums of ten tracks
  carry the Deezer genre of the artist's super-genre.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import uuid
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from moodrec.providers.base import match_key
from moodrec.sandbox.servers.index import WorldIndex

#: the Deezer genre name of each super-genre (Deezer's own genre list)
DEEZER_GENRES = {
    "pop": "Pop",
    "rock": "Rock",
    "electronica": "Electro",
    "hip hop": "Rap/Hip Hop",
    "classical": "Classical",
    "jazz": "Jazz",
    "folk": "Folk",
    "metal": "Metal",
    "experimental": "Alternative",
}
DEEZER_GENRE_IDS = {
    "Pop": 132, "Rock": 152, "Electro": 106, "Rap/Hip Hop": 116, "Classical": 98,
    "Jazz": 129, "Folk": 466, "Metal": 464, "Alternative": 85,
}  # fmt: skip
#: the mood words listeners tag tracks with, and the noise-free logit of each from the
#: planted (valence, energy); applied where the noisy logit is positive
MOOD_TAG_LOGITS: dict[str, tuple[float, float, float]] = {
    # word: (a_v, a_e, c) → logit = a_v·valence + a_e·energy + c
    "happy": (7.0, 1.0, -4.7),
    "sad": (-7.0, -3.0, 3.45),
    "chill": (1.0, -8.0, 2.8),
    "energetic": (0.0, 8.0, -5.76),
    "aggressive": (-4.0, 8.0, -4.4),
}
#: share of tracks with listeners' mood tags: ``[least popular, most popular]``, linear in the
#: track's popularity rank (taggers tag what they play)
MOOD_TAGGED_SHARE = (0.2, 0.7)
#: sd of the taggers' noise on each word's logit (the AcousticBrainz classifiers: ~1.0)
MOOD_TAG_NOISE = 1.5
#: share of tagged tracks that also get one mood word at random (tags used ironically, mis-tags)
MOOD_TAG_BLUNDER = 0.1
NOISE_TAGS = ("seen live", "favorites", "female vocalists", "male vocalists", "awesome", "love")
DECADES = ("80s", "90s", "00s", "2010s")


def draw(kind: str, n: int | str) -> float:
    """A deterministic uniform draw in [0, 1) for entity ``n`` and purpose ``kind``."""
    h = hashlib.blake2b(f"open:{kind}:{n}".encode(), digest_size=8).digest()
    return int.from_bytes(h) / 2**64


def _normal(kind: str, n: int | str) -> float:
    """A deterministic standard-normal draw (inverse CDF of :func:`draw`)."""
    return NormalDist().inv_cdf(min(max(draw(kind, n), 1e-12), 1 - 1e-12))


def mood_tags(t: dict[str, Any], popular_q: float) -> list[tuple[str, int]]:
    """Listeners' mood tags of track ``t`` (``(word, count)``, count 10–60), or none.

    ``popular_q`` is the track's popularity rank quantile (1 = most popular). A track is
    tagged with probability :data:`MOOD_TAGGED_SHARE` (by popularity); then each word of
    :data:`MOOD_TAG_LOGITS` whose logit plus N(0, :data:`MOOD_TAG_NOISE`) is positive, with a
    count that rises with it, plus a random word for :data:`MOOD_TAG_BLUNDER` of tracks.
    """
    tid = t["track_id"]
    lo, hi = MOOD_TAGGED_SHARE
    v, e = t.get("valence"), t.get("energy")
    if v is None or e is None or draw("mood-tagged", tid) >= lo + (hi - lo) * popular_q:
        return []
    out: dict[str, int] = {}
    for word, (a_v, a_e, c) in MOOD_TAG_LOGITS.items():
        z = a_v * float(v) + a_e * float(e) + c + MOOD_TAG_NOISE * _normal(f"mood-{word}", tid)
        if z > 0:
            out[word] = int(min(60, round(100 / (1 + math.exp(-z)) - 40)))
    if draw("mood-blunder", tid) < MOOD_TAG_BLUNDER:
        words = list(MOOD_TAG_LOGITS)
        word = words[int(draw("mood-blunder-word", tid) * len(words))]
        out.setdefault(word, 10 + int(20 * draw("mood-blunder-count", tid)))
    return sorted(out.items(), key=lambda kv: -kv[1])


def made_up_mbid(kind: str, n: int) -> str:
    """A stable UUID-shaped MBID for a world entity the log gave none."""
    return str(
        uuid.UUID(bytes=hashlib.blake2b(f"mbid:{kind}:{n}".encode(), digest_size=16).digest())
    )


@dataclass
class OpenWorld:
    """The open services' view of one world (built once per :class:`WorldIndex`)."""

    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)
    artists: dict[str, dict[str, Any]] = field(default_factory=dict)
    artist_mbid_of: dict[int, str] = field(default_factory=dict)
    mbid_of_track: dict[int, str] = field(default_factory=dict)
    artists_by_name: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deezer_tracks: dict[int, dict[str, Any]] = field(default_factory=dict)
    deezer_by_isrc: dict[str, dict[str, Any]] = field(default_factory=dict)
    deezer_albums: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    lastfm_by_mbid: dict[str, dict[str, Any]] = field(default_factory=dict)


def open_world(idx: WorldIndex) -> OpenWorld:
    """The :class:`OpenWorld` of ``idx`` (cached on it)."""
    cached = idx.extras.get("open_world")
    if cached is None:
        cached = idx.extras["open_world"] = _build(idx)
    return cached


def _counts(names: list[str], top: int, step: int) -> list[dict[str, Any]]:
    return [{"name": n, "count": max(1, top - i * step)} for i, n in enumerate(names)]


def _with_moods(tags: list[dict[str, Any]], moods: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """``tags`` plus the mood tags, by count (Last.fm lists top tags by count)."""
    have = {g["name"] for g in tags}
    extra = [{"name": w, "count": c} for w, c in moods if w not in have]
    return sorted(tags + extra, key=lambda g: -g["count"])


def _build(idx: WorldIndex) -> OpenWorld:
    w = OpenWorld()
    for aid, a in idx.artists.items():
        mbid = a.get("mbid") or made_up_mbid("artist", aid)
        w.artist_mbid_of[aid] = mbid
        genres = list(a.get("genres") or [])
        sup = a.get("super_genre") or ""
        u = draw("artist-genres", aid)
        mb_genres = genres if u < 0.75 else []
        mb_tags = [] if u > 0.92 else [*genres, sup, NOISE_TAGS[aid % len(NOISE_TAGS)]]
        if u > 0.92:
            mb_genres = []
        lf = [sup, *genres[:2], NOISE_TAGS[(aid + 1) % len(NOISE_TAGS)], *genres[2:]]
        rec = {
            "artist_id": aid,
            "mbid": mbid,
            "name": a["name"],
            "super_genre": sup,
            "mb_genres": _counts(mb_genres, 5, 1),
            "mb_tags": _counts(list(dict.fromkeys(t for t in mb_tags if t)), 6, 1),
            "lastfm_tags": _counts(list(dict.fromkeys(t for t in lf if t)), 100, 17),
            "lastfm_known": draw("lastfm-artist", aid) < 0.95,
        }
        w.artists[mbid] = rec
        w.artists_by_name.setdefault(match_key(a["name"]), []).append(rec)
    pops = sorted(float(t.get("popularity") or 0.0) for t in idx.tracks)
    for t in idx.tracks:
        tid = t["track_id"]
        below = bisect.bisect_left(pops, float(t.get("popularity") or 0.0))
        popular_q = below / max(len(pops) - 1, 1)
        artist = w.artists[w.artist_mbid_of[t["artist_id"]]]
        mbid = t.get("track_mbid") or made_up_mbid("recording", tid)
        sup = artist["super_genre"]
        genres = [g["name"] for g in artist["mb_genres"]] or [
            g["name"] for g in artist["lastfm_tags"][1:3]
        ]
        rec_genres = genres[:1] if draw("rec-genres", tid) < 0.15 else []
        rec_tags = [sup] if draw("rec-tags", tid) < 0.3 else []
        recording = {
            "track": t,
            "mbid": mbid,
            "artist": artist,
            "isrcs": [t["isrc"]] if draw("isrc", tid) < 0.85 else [],
            "genres": _counts(rec_genres, 2, 1),
            "tags": _counts(rec_tags, 3, 1),
            "lastfm_tags": _with_moods(
                _counts(
                    list(dict.fromkeys([sup, *genres[:2], DECADES[tid % len(DECADES)]])), 100, 23
                ),
                mood_tags(t, popular_q),
            ),
            "lastfm_known": draw("lastfm-track", tid) < 0.8,
        }
        w.recordings[mbid] = recording
        w.mbid_of_track[tid] = mbid
        w.lastfm_by_mbid[mbid] = recording
        if draw("deezer", tid) < 0.85:
            tempo = t.get("tempo")
            loud = t.get("loudness")
            dz = {
                "track": t,
                "recording": recording,
                "id": 3_000_000 + tid,
                "isrc": t["isrc"],
                "bpm": 0
                if draw("bpm-missing", tid) < 0.2 or tempo is None
                else round(float(tempo), 1),
                "gain": round(float(loud), 1) if loud is not None else -9.0,
                "album_id": 400_000 + tid // 10,
                "genre": DEEZER_GENRES.get(sup, "Pop"),
            }
            w.deezer_tracks[dz["id"]] = dz
            w.deezer_by_isrc[dz["isrc"]] = dz
            w.deezer_albums.setdefault(dz["album_id"], []).append(dz)
    return w
