"""The enrichment tables, stored per batch (``parts/<batch key>/``) and combined at the end.

Each batch writes its part tables atomically and then a ``_done.json`` marker, so a killed
run resumes at the first unfinished batch and never duplicates a key. A batch with an
unsettled key (:func:`count_unsettled`: ``error``, ``rate_limited``, ``blocked``, or an
``unavailable`` that no closed capability explains) is not done and is redone by the next
plain run; its settled answers then come from the per-key cache.

Tables (schemas below):

``track_links``     ``track_id, provider, spotify_id, isrc, album, release_date,
                    spotify_artist_id, match_score``
``track_features``  ``track_id, provider`` + the 12 audio features (nullable)
``artist_genres``   ``artist_id, provider, spotify_artist_id, genres`` (list[str], never [])
``lyrics_raw``      ``track_id, provider, text, match_score``
``track_moods``     ``track_id, provider, mbid`` + the AcousticBrainz values kept per
                    recording and the dump file/member they came from
``enrich_status``   ``track_id, capability, provider, status`` (one row per attempt)

The open sources (issue 17) add:

``track_ids``       ``track_id, provider, recording_mbid, artist_mbid, isrcs, match, score``
                    (the MusicBrainz recording a track resolved to)
``artist_tags``     ``artist_id, provider, tag, count, kind`` (``kind``: ``genre`` when the
                    tag is a genre of the vocabulary or a MusicBrainz genre, else ``tag``)
``track_tags``      ``track_id, provider, tag, count, kind`` (MusicBrainz recording genres
                    and tags, Last.fm track top tags)
``track_audio``     ``track_id, provider, deezer_id, isrc, bpm, gain, album_id,
                    album_genres`` (Deezer; ``bpm`` null when Deezer has none)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from moodrec.domain import AUDIO_FEATURES
from moodrec.enrich.config import SETTLED
from moodrec.enrich.coverage import coverage_report
from moodrec.providers import acousticbrainz_scan as ab
from moodrec.storage import stage_outputs, write_json_atomic, write_parquet_atomic

TABLES = (
    "track_links",
    "track_features",
    "artist_genres",
    "lyrics_raw",
    "enrich_status",
    "track_ids",
    "artist_tags",
    "track_tags",
    "track_audio",
    "track_moods",
)
#: the columns of ``track_links`` that a link answer carries
LINK_FIELDS = ("spotify_id", "isrc", "album", "release_date", "spotify_artist_id", "match_score")


def _ab_dtype(column: str) -> Any:
    """The polars type of an AcousticBrainz per-recording column."""
    if column in ab.STRING_COLUMNS:
        return pl.String
    return pl.Int64 if column in ab.INT_COLUMNS else pl.Float64


SCHEMAS: dict[str, dict[str, Any]] = {
    "track_links": {
        "track_id": pl.Int32,
        "provider": pl.String,
        **{f: pl.Float64 if f == "match_score" else pl.String for f in LINK_FIELDS},
    },
    "track_features": {
        "track_id": pl.Int32,
        "provider": pl.String,
        **{f: pl.Float64 for f in AUDIO_FEATURES},
    },
    "artist_genres": {
        "artist_id": pl.Int32,
        "provider": pl.String,
        "spotify_artist_id": pl.String,
        "genres": pl.List(pl.String),
    },
    "lyrics_raw": {
        "track_id": pl.Int32,
        "provider": pl.String,
        "text": pl.String,
        "match_score": pl.Float64,
    },
    "track_moods": {
        "track_id": pl.Int32,
        "provider": pl.String,
        **{c: _ab_dtype(c) for c in ab.COLUMNS},
    },
    "enrich_status": {
        "track_id": pl.Int32,
        "capability": pl.String,
        "provider": pl.String,
        "status": pl.String,
    },
    "track_ids": {
        "track_id": pl.Int32,
        "provider": pl.String,
        "recording_mbid": pl.String,
        "artist_mbid": pl.String,
        "isrcs": pl.List(pl.String),
        "match": pl.String,
        "score": pl.Float64,
    },
    "artist_tags": {
        "artist_id": pl.Int32,
        "provider": pl.String,
        "tag": pl.String,
        "count": pl.Int32,
        "kind": pl.String,
    },
    "track_tags": {
        "track_id": pl.Int32,
        "provider": pl.String,
        "tag": pl.String,
        "count": pl.Int32,
        "kind": pl.String,
    },
    "track_audio": {
        "track_id": pl.Int32,
        "provider": pl.String,
        "deezer_id": pl.Int64,
        "isrc": pl.String,
        "bpm": pl.Float64,
        "gain": pl.Float64,
        "album_id": pl.Int64,
        "album_genres": pl.List(pl.String),
    },
}


def part_tables(rows: dict[str, list[dict[str, Any]]]) -> dict[str, pl.DataFrame]:
    """The part tables of one batch from its rows per table (every table, empty or not)."""
    return {name: pl.DataFrame(rows.get(name, []), schema=SCHEMAS[name]) for name in TABLES}


#: a capability → the other probed capabilities whose closure makes it ``unavailable`` too
#: (a Spotify link, features or genres need its search; Last.fm genres are artist tags)
_NEEDS: dict[str, tuple[str, ...]] = {
    "track_link": ("search",),
    "audio_features": ("search",),
    "artist_genres": ("search", "artist_tags"),
}


def count_unsettled(status: pl.DataFrame, capabilities: dict[str, dict[str, str]]) -> int:
    """Rows of ``enrich_status`` whose key the next run must ask again.

    Settled are ``found`` / ``not_found`` and an ``unavailable`` explained by a capability
    the provider's probe (or its answers during the batch) closed to these credentials,
    e.g. Spotify's audio features in 2026; a batch keyed on those capabilities is redone when
    they change. Everything else is unsettled: ``error``, ``rate_limited``, ``blocked``, and an
    ``unavailable`` of one key while the capability is open (a 403 during the batch).

    Parameters
    ----------
    status
        ``enrich_status`` rows (``capability, provider, status``).
    capabilities
        ``provider → capability → available | unavailable`` as the batch ended.
    """
    open_rows = status.filter(~pl.col("status").is_in(list(SETTLED)))
    n = 0
    for (cap, prov, st), rows in open_rows.group_by(["capability", "provider", "status"]):
        caps = capabilities.get(str(prov), {})
        needs = (str(cap), *_NEEDS.get(str(cap), ()))
        closed = any(caps.get(c) == "unavailable" for c in needs)
        if not (st == "unavailable" and closed):
            n += rows.height
    return n


def part_done(parts_dir: Path, key: str, probed: dict[str, dict[str, str]] | None = None) -> bool:
    """True when batch ``key`` finished with every key settled (see :func:`count_unsettled`)
    and, when ``probed`` is given, under the same probed capabilities (other credentials
    that open a capability redo the batch)."""
    marker = parts_dir / key / "_done.json"
    if not marker.is_file():
        return False
    done = json.loads(marker.read_text())
    if probed is not None and done.get("probed") != probed:
        return False
    return bool(done.get("n_unsettled", 1) == 0)


def clear_part(parts_dir: Path, key: str) -> None:
    """Mark batch ``key`` not done (its tables are rewritten next; a crash then redoes it)."""
    (parts_dir / key / "_done.json").unlink(missing_ok=True)


def write_part(
    parts_dir: Path,
    key: str,
    tables: dict[str, pl.DataFrame],
    probed: dict[str, dict[str, str]],
    capabilities: dict[str, dict[str, str]],
) -> int:
    """Write one batch's tables atomically, the ``_done.json`` marker last.

    ``probed`` are the capabilities the batch started with (recorded for
    :func:`part_done`), ``capabilities`` the providers' as it ended
    (``Providers.live_capabilities``). Returns the number of unsettled rows
    (:func:`count_unsettled`; 0: the part is done).
    """
    folder = parts_dir / key
    for name, df in tables.items():
        write_parquet_atomic(df.to_arrow(), folder / f"{name}.parquet")
    status = tables["enrich_status"]
    n_error = int((status["status"] == "error").sum())
    n_unsettled = count_unsettled(status, capabilities)
    n_tracks = int(status["track_id"].n_unique()) if status.height else 0
    write_json_atomic(
        folder / "_done.json",
        {"n_error": n_error, "n_unsettled": n_unsettled, "n_tracks": n_tracks, "probed": probed},
    )
    return n_unsettled


def combine_parts(
    parts_dir: Path, keys: list[str], out_dir: Path, capabilities: dict[str, Any]
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Concatenate the batches' parts into the final tables and compute the report.

    The report (also ``enrich_coverage.json``) is
    :func:`~moodrec.enrich.coverage.coverage_report` of the combined tables.
    """
    outputs: dict[str, Path] = {}
    frames: dict[str, pl.DataFrame] = {}
    # the batches' parts are resumable on their own; the combined tables are all or none
    with stage_outputs(out_dir, label="enrich") as staging:
        for name in TABLES:
            dfs = [pl.read_parquet(parts_dir / k / f"{name}.parquet") for k in keys]
            df = pl.concat(dfs, how="vertical") if dfs else pl.DataFrame(schema=SCHEMAS[name])
            frames[name] = df
            outputs[name] = staging.write_parquet(df.to_arrow(), out_dir / f"{name}.parquet")
        report = coverage_report(frames, capabilities)
        outputs["enrich_coverage"] = staging.write_json(out_dir / "enrich_coverage.json", report)
    return outputs, report
