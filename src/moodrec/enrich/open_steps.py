"""The open sources' steps of one batch (issue 17): MusicBrainz, Last.fm tags, Deezer.

Each does nothing when its provider is not set up. MusicBrainz runs first among them, MBID
first: its recording gives the artist MBID and the ISRC that Last.fm and Deezer are then
asked by; its artist answers feed the genres step (:mod:`moodrec.enrich.steps`).
"""

from __future__ import annotations

from typing import Any

from moodrec.enrich.lookups import BatchContext, Row, ask, map_rows, map_status_rows, open_key
from moodrec.providers.base import LookupResult, ProviderError


def _tag_rows(
    b: BatchContext, key: str, value: int, prov: str, genres: list[Row], tags: list[Row]
) -> list[Row]:
    """``*_tags`` rows: provider genres (kind ``genre``), then tags (``genre`` when a vocabulary
    genre, else ``tag``); one row per normalised name, the first kept."""
    vocab = b.providers.vocabulary
    out: dict[str, Row] = {}
    for g in genres:
        name = g["name"].lower()
        out.setdefault(
            name, {key: value, "provider": prov, "tag": name, "count": g["count"], "kind": "genre"}
        )
    for t in tags:
        name = t["name"].lower()
        kind = "genre" if vocab.is_genre(name) else "tag"
        out.setdefault(
            name, {key: value, "provider": prov, "tag": name, "count": t["count"], "kind": kind}
        )
    return list(out.values())


def recordings(b: BatchContext) -> tuple[list[Row], list[Row]]:
    """MusicBrainz recording per track (MBID first) → ``track_ids`` rows; fills
    ``b.recording_of`` and the recordings' ``track_tags`` rows."""
    mb = b.providers.musicbrainz
    if mb is None:
        return [], []

    def one(r: Row) -> tuple[list[Row], LookupResult | ProviderError]:
        out: list[Row] = []
        res = ask(
            out,
            r["track_id"],
            "recording",
            "musicbrainz",
            lambda: mb.recording(r["track_mbid"], r["artist_name"], r["track_name"]),
            b.cache,
            open_key(r["track_mbid"], r["artist_name"], r["track_name"]),
        )
        return out, res

    status: list[Row] = []
    ids: list[Row] = []
    for r, (rows_out, res) in zip(b.rows, map_rows(one, b.rows, b.cfg.workers), strict=True):
        status += rows_out
        if isinstance(res, LookupResult) and res.status == "found":
            tid, d = r["track_id"], res.data
            b.recording_of[tid] = d
            ids.append(
                {
                    "track_id": tid,
                    "provider": "musicbrainz",
                    "recording_mbid": d.get("recording_mbid"),
                    "artist_mbid": d.get("artist_mbid"),
                    "isrcs": list(d.get("isrcs") or []),
                    "match": d.get("match"),
                    "score": d.get("score"),
                }
            )
            b.recording_tag_rows += _tag_rows(
                b, "track_id", tid, "musicbrainz", d.get("genres") or [], d.get("tags") or []
            )
    return status, ids


def artist_tags(b: BatchContext) -> tuple[list[Row], list[Row]]:
    """MusicBrainz and Last.fm artist answers (artist MBID from the recordings first) →
    ``artist_tags`` rows; fills ``b.artist_answers`` for the genres step."""
    clients = [(p, getattr(b.providers, p)) for p in ("musicbrainz", "lastfm_tags")]
    clients = [(p, c) for p, c in clients if c is not None]
    if not clients:
        return [], []
    first: dict[int, Row] = {}
    mbid_of: dict[int, str] = {}
    for r in b.rows:
        first.setdefault(r["artist_id"], r)
        mbid = (b.recording_of.get(r["track_id"]) or {}).get("artist_mbid")
        if mbid and r["artist_id"] not in mbid_of:
            mbid_of[r["artist_id"]] = mbid
    artists = list(first)

    status: list[Row] = []
    tags: list[Row] = []
    answers: dict[int, dict[str, LookupResult]] = {aid: {} for aid in artists}
    # one provider after the other: each phase keeps its own host busy at its own rate
    for prov, client in clients:
        fetch = client.artist if prov == "musicbrainz" else client.artist_tags

        def one(aid: int, prov: str = prov, fetch: Any = fetch) -> tuple[list[Row], LookupResult]:
            out: list[Row] = []
            r, mbid = first[aid], mbid_of.get(aid)
            res = ask(
                out,
                r["track_id"],
                "artist_tags",
                prov,
                lambda: fetch(mbid, r["artist_name"]),
                b.cache,
                open_key(mbid, r["artist_name"]),
            )
            # a failure is kept as its status: the genres step reports it, not "not found"
            return out, res if isinstance(res, LookupResult) else LookupResult(res.status)

        for aid, (rows_out, res) in zip(
            artists, map_rows(one, artists, b.cfg.workers), strict=True
        ):
            status += rows_out
            answers[aid][prov] = res
    for aid in artists:
        b.artist_answers[aid] = answers[aid]
        for prov, res in answers[aid].items():
            if res.status == "found":
                genres = res.data.get("genres") or []
                tags += _tag_rows(b, "artist_id", aid, prov, genres, res.data.get("tags") or [])
    return status, tags


def track_tags(b: BatchContext) -> tuple[list[Row], list[Row]]:
    """Last.fm track top tags (recording MBID first) + the MusicBrainz recordings' tags →
    ``track_tags`` rows."""
    lf = b.providers.lastfm_tags
    rows = list(b.recording_tag_rows)
    if lf is None:
        return [], rows

    def one(r: Row) -> tuple[list[Row], LookupResult | ProviderError]:
        out: list[Row] = []
        mbid = (b.recording_of.get(r["track_id"]) or {}).get("recording_mbid") or r["track_mbid"]
        res = ask(
            out,
            r["track_id"],
            "track_tags",
            "lastfm_tags",
            lambda: lf.track_tags(mbid, r["artist_name"], r["track_name"]),
            b.cache,
            open_key(mbid, r["artist_name"], r["track_name"]),
        )
        return out, res

    status: list[Row] = []
    for r, (rows_out, res) in zip(b.rows, map_rows(one, b.rows, b.cfg.workers), strict=True):
        status += rows_out
        if isinstance(res, LookupResult) and res.status == "found":
            rows += _tag_rows(b, "track_id", r["track_id"], "lastfm_tags", [], res.data["tags"])
    return status, rows


def track_audio(b: BatchContext) -> tuple[list[Row], list[Row]]:
    """Deezer per track (ISRC from MusicBrainz or Spotify first) + its album's genres →
    ``track_audio`` rows."""
    dz = b.providers.deezer
    if dz is None:
        return [], []

    def one(r: Row) -> tuple[list[Row], Row | None]:
        out: list[Row] = []
        tid = r["track_id"]
        isrcs = (b.recording_of.get(tid) or {}).get("isrcs") or []
        isrc = isrcs[0] if isrcs else b.link_of.get(tid, {}).get("isrc")
        res = ask(
            out,
            tid,
            "track_audio",
            "deezer",
            lambda: dz.track(isrc, r["artist_name"], r["track_name"]),
            b.cache,
            open_key(isrc, r["artist_name"], r["track_name"]),
        )
        if not isinstance(res, LookupResult) or res.status != "found":
            return out, None
        d = res.data
        genres: list[str] | None = None
        if d.get("album_id") is not None:
            album = ask(
                out,
                tid,
                "album_genres",
                "deezer",
                lambda: dz.album_genres(d["album_id"]),
                b.cache,
                str(d["album_id"]),
            )
            if isinstance(album, LookupResult) and album.status == "found":
                genres = list(album.data["genres"])
        return out, {
            "track_id": tid,
            "provider": "deezer",
            "deezer_id": d.get("deezer_id"),
            "isrc": d.get("isrc"),
            "bpm": d.get("bpm"),
            "gain": d.get("gain"),
            "album_id": d.get("album_id"),
            "album_genres": genres,
        }

    return map_status_rows(one, b.rows, b.cfg.workers)
