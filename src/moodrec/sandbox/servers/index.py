"""The sandbox world's truth, indexed for the fake services, and each entity's id on them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from moodrec.providers.base import match_key

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def spotify_id(kind: str, n: int) -> str:
    """A stable 22-character base62 Spotify-style id for a world entity."""
    digest = int.from_bytes(hashlib.blake2b(f"{kind}:{n}".encode(), digest_size=16).digest())
    chars = []
    for _ in range(22):
        digest, r = divmod(digest, 62)
        chars.append(_B62[r])
    return "".join(chars)


def _in_catalogue(kind: str, n: int, share: float) -> bool:
    h = hashlib.blake2b(f"{kind}-present:{n}".encode(), digest_size=4).digest()
    return int.from_bytes(h) / 2**32 < share


def _slug(text: str) -> str:
    return "-".join(match_key(text).split()) or "untitled"


def genius_path(t: dict[str, Any], artist: dict[str, Any]) -> str:
    """The genius.com page path of a track (``/Artist-title-lyrics``)."""
    return f"/{_slug(artist['name']).capitalize()}-{_slug(t['name'])}-lyrics"


def genius_artist_url(artist: dict[str, Any]) -> str:
    """The genius.com artist page of a world artist."""
    return f"https://genius.com/artists/{_slug(artist['name'])}"


@dataclass
class WorldIndex:
    """The sandbox truth, indexed for the fake APIs."""

    tracks: list[dict[str, Any]]
    artists: dict[int, dict[str, Any]]
    lyrics: dict[int, str]
    by_spotify_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    artist_by_spotify_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    by_genius_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    by_genius_path: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: views built once by a service module (e.g. the open services' ``open_world``)
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_truth(
        cls, truth_dir: Path, spotify_share: float = 0.9, lrclib_share: float = 0.8
    ) -> WorldIndex:
        """Index ``truth/tracks.parquet``, ``artists.parquet`` and ``lyrics.parquet``.

        A deterministic ``spotify_share`` of tracks exists on Spotify; every lyric in the truth
        exists on Genius and ``lrclib_share`` of them on LRCLIB.
        """
        tracks = pl.read_parquet(truth_dir / "tracks.parquet").to_dicts()
        artists = {
            a["artist_id"]: a for a in pl.read_parquet(truth_dir / "artists.parquet").to_dicts()
        }
        lyr = pl.read_parquet(truth_dir / "lyrics.parquet", columns=["track_id", "raw"])
        lyrics = dict(zip(lyr["track_id"].to_list(), lyr["raw"].to_list(), strict=True))
        return cls.from_records(tracks, artists, lyrics, spotify_share, lrclib_share)

    @classmethod
    def from_records(
        cls,
        tracks: list[dict[str, Any]],
        artists: dict[int, dict[str, Any]],
        lyrics: dict[int, str],
        spotify_share: float = 0.9,
        lrclib_share: float = 0.8,
    ) -> WorldIndex:
        """Index truth-shaped records (the columns of ``tracks.parquet`` / ``artists.parquet``),
        e.g. a world relabelled with a real log's names and MBIDs (the open-sources benchmark).
        """
        index = cls(tracks=[], artists=artists, lyrics=lyrics)
        for a in artists.values():
            a["spotify_id"] = spotify_id("artist", a["artist_id"])
            index.artist_by_spotify_id[a["spotify_id"]] = a
        for t in tracks:
            tid = t["track_id"]
            t["on_spotify"] = _in_catalogue("spotify", tid, spotify_share)
            t["on_lrclib"] = tid in lyrics and _in_catalogue("lrclib", tid, lrclib_share)
            t["spotify_id"] = spotify_id("track", tid)
            t["isrc"] = f"QZ{tid:010d}"
            t["genius_id"] = 1_000_000 + tid
            index.tracks.append(t)
            index.by_spotify_id[t["spotify_id"]] = t
            index.by_genius_id[t["genius_id"]] = t
            index.by_genius_path.setdefault(genius_path(t, artists[t["artist_id"]]), t)
            artist = artists[t["artist_id"]]["name"]
            for name in {t["name"], t.get("alt_name") or t["name"]}:
                index.by_key.setdefault((match_key(name), match_key(artist)), []).append(t)
        return index

    def find(self, title: str, artist: str | None) -> list[dict[str, Any]]:
        """Tracks whose normalised title (and artist, when given) match."""
        tk = match_key(title)
        if artist is not None:
            return list(self.by_key.get((tk, match_key(artist)), []))
        # free text "title artist": try every split point
        hits: list[dict[str, Any]] = []
        words = match_key(title).split()
        for i in range(1, len(words)):
            hits += self.by_key.get((" ".join(words[:i]), " ".join(words[i:])), [])
        return hits
