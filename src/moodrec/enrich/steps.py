"""The capability steps of one batch: Spotify link → audio features (+ AcousticBrainz moods)
→ artist genres → lyrics.

Each capability asks its providers in the configured order (``features_order``,
``genres_order``, ``lyrics_order``) and keeps the first ``found`` answer. Adding a provider
to a capability: its client on :class:`~moodrec.enrich.clients.Providers` and a branch in
that capability's ``_*_answer`` function here. The open sources' steps (MusicBrainz,
Last.fm, Deezer) are :mod:`moodrec.enrich.open_steps`.
"""

from __future__ import annotations

import logging

from moodrec.domain import AUDIO_FEATURES
from moodrec.enrich.lookups import (
    BatchContext,
    Row,
    ask,
    cached_many,
    map_rows,
    map_status_rows,
    status_row,
    track_key,
)
from moodrec.enrich.parts import LINK_FIELDS
from moodrec.providers.base import UNREACHABLE, LookupResult, ProviderError

logger = logging.getLogger(__name__)


def link_tracks(b: BatchContext) -> tuple[list[Row], list[Row]]:
    """Spotify search per track → ``track_links`` rows; fills ``b.link_of``."""
    sp = b.spotify

    def link_one(r: Row) -> tuple[list[Row], Row | None]:
        out: list[Row] = []
        tid = r["track_id"]
        if b.providers.spotify is not None and sp is None:
            out.append(status_row(tid, "track_link", "spotify", b.spotify_closed))
        elif sp is not None:
            res = ask(
                out,
                tid,
                "track_link",
                "spotify",
                lambda: sp.link_track(r["artist_name"], r["track_name"]),
                b.cache,
                track_key(r["artist_name"], r["track_name"]),
            )
            if isinstance(res, LookupResult) and res.status == "found":
                return out, res.data
        return out, None

    status: list[Row] = []
    links: list[Row] = []
    for r, (rows_out, data) in zip(b.rows, map_rows(link_one, b.rows, b.cfg.workers), strict=True):
        status += rows_out
        if data is not None:
            tid = r["track_id"]
            b.link_of[tid] = data
            links.append(
                {"track_id": tid, "provider": "spotify", **{k: data.get(k) for k in LINK_FIELDS}}
            )
    return status, links


def audio_features(b: BatchContext) -> tuple[list[Row], list[Row]]:
    """Audio features per track, providers in ``features_order`` → ``track_features`` rows."""
    sp = b.spotify
    sp_feats: dict[str, LookupResult] = {}
    if sp is not None and "spotify" in b.cfg.features_order:
        ids = [link["spotify_id"] for link in b.link_of.values()]
        sp_feats = cached_many(b.cache, "spotify", "audio_features", ids, sp.audio_features)
    status: list[Row] = []
    features: list[Row] = []
    for r in b.rows:
        tid = r["track_id"]
        for prov in b.cfg.features_order:
            res = _features_answer(b, prov, r, sp_feats)
            if res is None:
                continue
            status.append(status_row(tid, "audio_features", prov, res.status))
            if res.status == "found":
                feats = res.data.get("features", res.data)
                features.append(
                    {"track_id": tid, "provider": prov, **{f: feats.get(f) for f in AUDIO_FEATURES}}
                )
                break
    return status, features


def _features_answer(
    b: BatchContext, prov: str, r: Row, sp_feats: dict[str, LookupResult]
) -> LookupResult | None:
    """Provider ``prov``'s features answer for track ``r`` (``None``: provider not set up)."""
    tid = r["track_id"]
    link = b.link_of.get(tid, {})
    if prov == "spotify" and b.providers.spotify is not None:
        if b.spotify is None or b.spotify_caps.get("audio_features") == UNREACHABLE:
            return LookupResult(b.spotify_closed)
        if b.spotify_caps.get("audio_features") == "unavailable":
            return LookupResult("unavailable")
        sid = link.get("spotify_id")
        return sp_feats.get(sid) if sid else LookupResult("not_found")
    if prov == "acousticbrainz_dump" and b.providers.acousticbrainz_dump is not None:
        res = b.providers.acousticbrainz_dump.lookup(r["track_mbid"])
        if res.status == "found" and all(v is None for v in res.data["features"].values()):
            return LookupResult("not_found")
        return res
    if prov == "features_file" and b.providers.features_file is not None:
        res = b.providers.features_file.lookup(
            spotify_id=link.get("spotify_id"),
            isrc=link.get("isrc"),
            mbid=r["track_mbid"],
            artist=r["artist_name"],
            title=r["track_name"],
        )
        if res.status == "found" and not res.data.get("features"):
            return LookupResult("not_found")
        return res
    return None


def track_moods(b: BatchContext) -> tuple[list[Row], list[Row]]:
    """The AcousticBrainz values of each track's recording MBID → ``track_moods`` rows.

    No status rows: the ``audio_features`` step already recorded this provider's answer.
    """
    ab = b.providers.acousticbrainz_dump
    if ab is None:
        return [], []
    rows: list[Row] = []
    for r in b.rows:
        res = ab.lookup(r["track_mbid"])
        if res.status == "found":
            rows.append({"track_id": r["track_id"], "provider": ab.name, **res.data["record"]})
    return [], rows


def artist_genres(b: BatchContext) -> tuple[list[Row], list[Row]]:
    """Genres per artist (reported on its first track of the batch) → ``artist_genres`` rows."""
    sp = b.spotify
    artist_rows: dict[int, Row] = {}
    for r in b.rows:
        artist_rows.setdefault(r["artist_id"], r)
    artist_of_track = {r["track_id"]: r for r in b.rows}
    sp_artist_ids = {
        link["spotify_artist_id"]: artist_of_track[tid]["artist_id"]
        for tid, link in b.link_of.items()
        if link.get("spotify_artist_id")
    }
    sp_artists: dict[str, LookupResult] = {}
    if sp is not None and "spotify" in b.cfg.genres_order and sp_artist_ids:
        sp_artists = cached_many(
            b.cache, "spotify", "artist_genres", sorted(sp_artist_ids), sp.artists
        )
    by_artist_sp = {aid: (said, sp_artists.get(said)) for said, aid in sp_artist_ids.items()}
    status: list[Row] = []
    genres: list[Row] = []
    for aid, r in artist_rows.items():
        for prov in b.cfg.genres_order:
            said, res = _genres_answer(b, prov, r, by_artist_sp.get(aid, (None, None)))
            if res is None:
                continue
            status.append(status_row(r["track_id"], "artist_genres", prov, res.status))
            if res.status == "found":
                genres.append(
                    {
                        "artist_id": aid,
                        "provider": prov,
                        "spotify_artist_id": said,
                        "genres": list(res.data.get("genres") or []),
                    }
                )
                break
    return status, genres


def _genres_answer(
    b: BatchContext, prov: str, r: Row, spotify_answer: tuple[str | None, LookupResult | None]
) -> tuple[str | None, LookupResult | None]:
    """``(spotify artist id, answer)`` of provider ``prov`` for the artist of track ``r``."""
    if prov == "spotify" and b.providers.spotify is not None:
        said, res = spotify_answer
        if b.spotify is None:
            res = LookupResult(b.spotify_closed)
        return said, res or LookupResult("not_found")
    if prov == "features_file" and b.providers.features_file is not None:
        res = b.providers.features_file.lookup(artist=r["artist_name"], title=r["track_name"])
        if res.status == "found" and not res.data.get("genres"):
            res = LookupResult("not_found")
        return None, res
    if prov in ("musicbrainz", "lastfm_tags"):
        return None, _open_genres_answer(b, prov, r["artist_id"])
    return None, None


def _open_genres_answer(b: BatchContext, prov: str, artist_id: int) -> LookupResult | None:
    """Genres of an artist from its MusicBrainz or Last.fm answer (no request here).

    MusicBrainz: its curated ``genres``, else its tags that are vocabulary genres. Last.fm:
    the top tags that are vocabulary genres. ``None`` when the provider is not set up and
    not reported ``unavailable``.
    """
    if getattr(b.providers, prov) is None:
        caps = b.providers.capabilities.get(prov, {})
        return LookupResult("unavailable") if "unavailable" in caps.values() else None
    res = b.artist_answers.get(artist_id, {}).get(prov)
    if res is None or res.status != "found":
        return res or LookupResult("not_found")
    vocab = b.providers.vocabulary
    names = [g["name"].lower() for g in res.data.get("genres") or []]
    if not names:
        names = vocab.genres(t["name"] for t in res.data.get("tags") or [])
    if not names:
        return LookupResult("not_found", detail="no genre among the tags")
    return LookupResult("found", {"genres": names})


def lyrics(b: BatchContext) -> tuple[list[Row], list[Row]]:
    """Lyrics per track, providers in ``lyrics_order`` → ``lyrics_raw`` rows.

    A provider that answered ``blocked`` is not asked again in this batch.
    """
    blocked: set[str] = set()

    def lyrics_one(r: Row) -> tuple[list[Row], Row | None]:
        out: list[Row] = []
        tid = r["track_id"]
        for prov in b.cfg.lyrics_order:
            client = getattr(b.providers, prov)
            if client is None:
                continue
            if prov in blocked:
                out.append(status_row(tid, "lyrics", prov, "blocked"))
                continue
            res = ask(
                out,
                tid,
                "lyrics",
                prov,
                lambda c=client: c.lyrics(r["artist_name"], r["track_name"]),
                b.cache,
                track_key(r["artist_name"], r["track_name"]),
            )
            if isinstance(res, ProviderError):
                if res.status == "blocked":
                    if prov not in blocked:
                        logger.warning("%s blocked (%s); falling back", prov, res)
                    blocked.add(prov)
                continue
            if res.status == "found":
                return out, {
                    "track_id": tid,
                    "provider": prov,
                    "text": res.data["text"],
                    "match_score": res.data.get("match_score"),
                }
        return out, None

    return map_status_rows(lyrics_one, b.rows, b.cfg.workers)
