"""Enrich one batch of tracks: link → audio features → (MusicBrainz recording → artist
tags) → artist genres → lyrics → (track tags → Deezer audio).

The steps in brackets are the open sources (MusicBrainz, Last.fm, Deezer; issue 17); each
does nothing when its provider is not set up. MusicBrainz runs first among them, MBID first:
its recording gives the artist MBID and the ISRC that Last.fm and Deezer are then asked by.

Each capability asks its providers in the configured order (``features_order``,
``genres_order``, ``lyrics_order``) and keeps the first ``found`` answer; every attempt is a
row of ``enrich_status``. Every answer is looked up in the per-key cache first and stored
there. Per-track lookups (links, lyrics) run on ``workers`` threads; results are gathered in
catalogue order, so the tables do not depend on thread timing.

Adding a provider to a capability: its client on :class:`~moodrec.enrich.clients.Providers`
and a branch in that capability's ``_*_answer`` function below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl

from moodrec.domain import AUDIO_FEATURES
from moodrec.enrich.cache import EnrichCache
from moodrec.enrich.clients import Providers
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.parts import LINK_FIELDS, part_tables
from moodrec.providers.base import UNREACHABLE, LookupResult, ProviderError, RateLimitExceeded
from moodrec.providers.spotify import SpotifyProvider

logger = logging.getLogger(__name__)
T = TypeVar("T")
Row = dict[str, Any]


def track_key(artist: str, title: str) -> str:
    """The cache key of an artist/title lookup (exact input; providers normalise)."""
    return f"{artist}\x1f{title}"


def _status_row(track_id: int, cap: str, prov: str, status: str) -> Row:
    return {"track_id": track_id, "capability": cap, "provider": prov, "status": status}


def _try(
    rows: list[Row],
    track_id: int,
    cap: str,
    prov: str,
    fn: Callable[[], Any],
    cache: EnrichCache | None = None,
    key: str | None = None,
):
    """Call one provider for one key (cache first); a ProviderError becomes a status row.

    Only settled answers are in the cache; a failure is not stored (the next run asks again).
    """
    hit = cache.get(prov, cap, key) if cache is not None and key is not None else None
    try:
        result = hit if hit is not None else fn()
    except RateLimitExceeded:
        raise
    except ProviderError as exc:
        logger.warning("track %s %s via %s: %s", track_id, cap, prov, exc)
        rows.append(_status_row(track_id, cap, prov, exc.status))
        return exc
    if hit is None and cache is not None and key is not None and isinstance(result, LookupResult):
        cache.put(prov, cap, key, result)
    status = result.status if isinstance(result, LookupResult) else "found"
    rows.append(_status_row(track_id, cap, prov, status))
    return result


def _map(fn: Callable[[Any], T], items: list[Any], workers: int) -> list[T]:
    """``[fn(x) for x in items]`` on up to ``workers`` threads; the first exception is raised
    once every started call has ended (so the cache holds every answer already got)."""
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="enrich")
    try:
        futures = [pool.submit(fn, x) for x in items]
        wait(futures)
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM): drop the queued lookups instead of running them all
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [f.result() for f in futures]


def _cached_many(
    cache: EnrichCache | None,
    prov: str,
    cap: str,
    keys: list[str],
    fetch: Callable[[list[str]], dict[str, LookupResult]],
) -> dict[str, LookupResult]:
    """Answers for many keys: fresh cache rows, then one batched ``fetch`` of the rest."""
    out: dict[str, LookupResult] = {}
    missing: list[str] = []
    for k in dict.fromkeys(keys):
        hit = cache.get(prov, cap, k) if cache is not None else None
        if hit is None:
            missing.append(k)
        else:
            out[k] = hit
    if not missing:
        return out
    try:
        fetched = fetch(missing)
    except RateLimitExceeded:
        raise
    except ProviderError as exc:
        fetched = {k: LookupResult(exc.status, detail=str(exc)) for k in missing}
    for k, res in fetched.items():
        if cache is not None:
            cache.put(prov, cap, k, res)
        out[k] = res
    return out


@dataclass
class _Batch:
    """One batch's tracks and what every capability step needs."""

    rows: list[Row]
    cfg: EnrichConfig
    providers: Providers
    cache: EnrichCache | None
    #: the probed Spotify capabilities (live: a 403 during the batch closes one)
    spotify_caps: dict[str, str] = field(init=False)
    #: the Spotify client when its search was reachable at the batch's start (else ``None``)
    spotify: SpotifyProvider | None = field(init=False)
    #: the Spotify link found per track (filled by :func:`_link_tracks`)
    link_of: dict[int, Row] = field(default_factory=dict)
    #: the MusicBrainz recording found per track (filled by :func:`_recordings`)
    recording_of: dict[int, Row] = field(default_factory=dict)
    #: per artist id, the open providers' artist answers (filled by :func:`_artist_tags`)
    artist_answers: dict[int, dict[str, LookupResult]] = field(default_factory=dict)
    #: ``track_tags`` rows of the MusicBrainz recordings (written by :func:`_track_tags`)
    recording_tag_rows: list[Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.spotify_caps = self.providers.capabilities.get("spotify", {})
        reachable = self.spotify_caps.get("search", "available") == "available"
        self.spotify = self.providers.spotify if reachable else None

    @property
    def spotify_closed(self) -> str:
        """The status of a Spotify key not asked: ``error`` (unsettled, asked again next run)
        when the host was unreachable, else ``unavailable`` (closed to these credentials)."""
        return "error" if UNREACHABLE in self.spotify_caps.values() else "unavailable"


def enrich_batch(
    batch: pl.DataFrame,
    cfg: EnrichConfig,
    providers: Providers,
    cache: EnrichCache | None = None,
) -> dict[str, pl.DataFrame]:
    """Enrich one batch of tracks; returns the part tables (see :mod:`moodrec.enrich.parts`).

    Every answer is looked up in ``cache`` first and stored there; the cache is committed
    once at the end of the batch (also when it fails, keeping every answer already got).

    Raises
    ------
    RateLimitExceeded
        A server asked to wait beyond the cap; the whole batch must be retried later.
    CacheError
        The cache file is corrupt or locked.
    """
    try:
        return _enrich_batch(_Batch(batch.to_dicts(), cfg, providers, cache))
    finally:
        if cache is not None:
            cache.commit()


def _enrich_batch(b: _Batch) -> dict[str, pl.DataFrame]:
    status: list[Row] = []
    tables: dict[str, list[Row]] = {"enrich_status": status}
    for name, step in (
        ("track_links", _link_tracks),
        ("track_features", _audio_features),
        ("track_ids", _recordings),
        ("artist_tags", _artist_tags),
        ("artist_genres", _artist_genres),
        ("lyrics_raw", _lyrics),
        ("track_tags", _track_tags),
        ("track_audio", _track_audio),
        ("track_moods", _track_moods),
    ):
        step_status, values = step(b)
        status += step_status
        tables[name] = values
    return part_tables(tables)


def _link_tracks(b: _Batch) -> tuple[list[Row], list[Row]]:
    """Spotify search per track → ``track_links`` rows; fills ``b.link_of``."""
    sp = b.spotify

    def link_one(r: Row) -> tuple[list[Row], Row | None]:
        out: list[Row] = []
        tid = r["track_id"]
        if b.providers.spotify is not None and sp is None:
            out.append(_status_row(tid, "track_link", "spotify", b.spotify_closed))
        elif sp is not None:
            res = _try(
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
    for r, (rows_out, data) in zip(b.rows, _map(link_one, b.rows, b.cfg.workers), strict=True):
        status += rows_out
        if data is not None:
            tid = r["track_id"]
            b.link_of[tid] = data
            links.append(
                {"track_id": tid, "provider": "spotify", **{k: data.get(k) for k in LINK_FIELDS}}
            )
    return status, links


def _audio_features(b: _Batch) -> tuple[list[Row], list[Row]]:
    """Audio features per track, providers in ``features_order`` → ``track_features`` rows."""
    sp = b.spotify
    sp_feats: dict[str, LookupResult] = {}
    if sp is not None and "spotify" in b.cfg.features_order:
        ids = [link["spotify_id"] for link in b.link_of.values()]
        sp_feats = _cached_many(b.cache, "spotify", "audio_features", ids, sp.audio_features)
    status: list[Row] = []
    features: list[Row] = []
    for r in b.rows:
        tid = r["track_id"]
        for prov in b.cfg.features_order:
            res = _features_answer(b, prov, r, sp_feats)
            if res is None:
                continue
            status.append(_status_row(tid, "audio_features", prov, res.status))
            if res.status == "found":
                feats = res.data.get("features", res.data)
                features.append(
                    {"track_id": tid, "provider": prov, **{f: feats.get(f) for f in AUDIO_FEATURES}}
                )
                break
    return status, features


def _features_answer(
    b: _Batch, prov: str, r: Row, sp_feats: dict[str, LookupResult]
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


def _track_moods(b: _Batch) -> tuple[list[Row], list[Row]]:
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


def _artist_genres(b: _Batch) -> tuple[list[Row], list[Row]]:
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
        sp_artists = _cached_many(
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
            status.append(_status_row(r["track_id"], "artist_genres", prov, res.status))
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
    b: _Batch, prov: str, r: Row, spotify_answer: tuple[str | None, LookupResult | None]
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


def _open_genres_answer(b: _Batch, prov: str, artist_id: int) -> LookupResult | None:
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


def _lyrics(b: _Batch) -> tuple[list[Row], list[Row]]:
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
                out.append(_status_row(tid, "lyrics", prov, "blocked"))
                continue
            res = _try(
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

    status: list[Row] = []
    lyrics: list[Row] = []
    for rows_out, row in _map(lyrics_one, b.rows, b.cfg.workers):
        status += rows_out
        if row is not None:
            lyrics.append(row)
    return status, lyrics


# --- the open sources (issue 17) ----------------------------------------------------------


def open_key(*parts: str | None) -> str:
    """The cache key of an open-source lookup: its ids and names (an absent id is empty)."""
    return "\x1f".join(p or "" for p in parts)


def _tag_rows(
    b: _Batch, key: str, value: int, prov: str, genres: list[Row], tags: list[Row]
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


def _recordings(b: _Batch) -> tuple[list[Row], list[Row]]:
    """MusicBrainz recording per track (MBID first) → ``track_ids`` rows; fills
    ``b.recording_of`` and the recordings' ``track_tags`` rows."""
    mb = b.providers.musicbrainz
    if mb is None:
        return [], []

    def one(r: Row) -> tuple[list[Row], LookupResult | ProviderError]:
        out: list[Row] = []
        res = _try(
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
    for r, (rows_out, res) in zip(b.rows, _map(one, b.rows, b.cfg.workers), strict=True):
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


def _artist_tags(b: _Batch) -> tuple[list[Row], list[Row]]:
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
            res = _try(
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

        for aid, (rows_out, res) in zip(artists, _map(one, artists, b.cfg.workers), strict=True):
            status += rows_out
            answers[aid][prov] = res
    for aid in artists:
        b.artist_answers[aid] = answers[aid]
        for prov, res in answers[aid].items():
            if res.status == "found":
                genres = res.data.get("genres") or []
                tags += _tag_rows(b, "artist_id", aid, prov, genres, res.data.get("tags") or [])
    return status, tags


def _track_tags(b: _Batch) -> tuple[list[Row], list[Row]]:
    """Last.fm track top tags (recording MBID first) + the MusicBrainz recordings' tags →
    ``track_tags`` rows."""
    lf = b.providers.lastfm_tags
    rows = list(b.recording_tag_rows)
    if lf is None:
        return [], rows

    def one(r: Row) -> tuple[list[Row], LookupResult | ProviderError]:
        out: list[Row] = []
        mbid = (b.recording_of.get(r["track_id"]) or {}).get("recording_mbid") or r["track_mbid"]
        res = _try(
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
    for r, (rows_out, res) in zip(b.rows, _map(one, b.rows, b.cfg.workers), strict=True):
        status += rows_out
        if isinstance(res, LookupResult) and res.status == "found":
            rows += _tag_rows(b, "track_id", r["track_id"], "lastfm_tags", [], res.data["tags"])
    return status, rows


def _track_audio(b: _Batch) -> tuple[list[Row], list[Row]]:
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
        res = _try(
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
            album = _try(
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

    status: list[Row] = []
    audio: list[Row] = []
    for rows_out, row in _map(one, b.rows, b.cfg.workers):
        status += rows_out
        if row is not None:
            audio.append(row)
    return status, audio
