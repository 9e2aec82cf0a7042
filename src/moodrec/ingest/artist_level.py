"""The artist-level catalogue: HetRec's play counts per (user, artist), with any
timestamped inputs' plays summed per (user, artist), in one set of ids.

Items are artists. ``tracks.parquet`` holds one item per canonical artist (``track_id`` is
the item id, ``track_name`` empty) so every later stage reads one shape; HetRec artists come
first, in the order of ``artists.dat`` (tagged-only ones included: cold items with tags), so
their item ids are HetRec's own wherever no two share a normalised name. Artists of other
inputs join them by MBID, then by normalised name (:mod:`moodrec.ingest.canonical`).
HetRec's ``artist_tags`` and ``friends`` are rewritten in the catalogue's ids; its own
tables stay in ``interim/hetrec/``. No ``events``/``sessions`` exist at this level.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import polars as pl

from moodrec.errors import InputDataError
from moodrec.ingest.canonical import canonicalise
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.hetrec import ingest_hetrec
from moodrec.ingest.lastfm1k import _write_rejects as write_rejects
from moodrec.ingest.reader import NAME_COLUMNS, ParsedLog
from moodrec.ingest.sessions import rate_plays
from moodrec.storage import StagedOutputs, with_stage_outputs

logger = logging.getLogger(__name__)

#: the sub-folder of ``interim`` where HetRec's own tables go (tags, friends, ...)
HETREC_SUBDIR = "hetrec"


def _hetrec_name() -> pl.Expr:
    """A HetRec artist's name; the tagged-only artists missing from artists.dat get one."""
    return pl.col("artist_name").fill_null(pl.format("hetrec artist {}", "hetrec_artist_id"))


def _write_parquet(df: pl.DataFrame, path: Path) -> Path:
    # into the stage's staging folder, renamed into place with the other tables
    df.write_parquet(path, compression="zstd", compression_level=1)
    return path


@with_stage_outputs("ingest", dirs=lambda out_dir, **_: [out_dir])
def write_artist_level(
    staging: StagedOutputs,
    parsed: ParsedLog,
    dups: int,
    infos: list[dict[str, Any]],
    hetrec: Path | None,
    cfg: IngestConfig,
    out_dir: Path,
) -> tuple[dict[str, Path], dict[str, Any]]:
    """Artist-level catalogue: the event inputs' plays summed per (user, artist) plus HetRec.

    Parameters
    ----------
    staging
        Passed by :func:`~moodrec.storage.with_stage_outputs`, not by callers.
    parsed
        The timestamped inputs' events (exact duplicates already dropped, ``dups`` of them).
    infos
        One entry per timestamped input (kind, path, layout, user), for the summary.
    hetrec
        The HetRec folder of the population, or None.
    cfg
        Rating and confidence parameters.
    out_dir
        The ``interim`` folder; HetRec's own tables go to its ``hetrec/`` sub-folder.

    Returns
    -------
    (outputs, summary)
        ``plays, tracks, artists, users, rejects`` (+ ``artist_tags, friends`` with HetRec)
        → path, written all or none (HetRec's own tables included); the summary of
        :func:`moodrec.ingest.listens.ingest_sources`.

    Raises
    ------
    InputDataError
        A user name in both HetRec and another input.
    """
    # --- the event inputs, per (user, raw artist fields); the combos' track fields dropped
    names = parsed.combos.select(
        pl.col("key").cast(pl.UInt32).alias("combo"), "artist_mbid", "artist_name"
    )
    ev = (
        parsed.events.with_columns(pl.col("user").cast(pl.String))
        .join(names, on="combo", how="left")
        .group_by("user", "artist_mbid", "artist_name")
        .agg(
            pl.len().cast(pl.Int64).alias("plays"),
            pl.col("ts").min().alias("first_ts"),
            pl.col("ts").max().alias("last_ts"),
        )
    )
    parts = [ev]
    hetrec_info: dict[str, Any] | None = None
    het_tables: dict[str, pl.DataFrame] = {}
    if hetrec is not None:
        res = ingest_hetrec(hetrec, out_dir / HETREC_SUBDIR, cfg)  # joins this stage's commit
        het_tables = {
            k: pl.read_parquet(staging.path(res.outputs[k]))
            for k in ("plays", "artists", "users", "artist_tags", "friends")
        }
        ha = het_tables["artists"].select(
            pl.col("artist_id").alias("h_artist"),
            _hetrec_name(),
        )
        hu = het_tables["users"].select(pl.col("user_id").alias("h_user"), "user")
        hp = (
            het_tables["plays"]
            .join(hu, left_on="user_id", right_on="h_user")
            .join(ha, left_on="artist_id", right_on="h_artist")
            .select(
                "user",
                pl.lit(None, pl.String).alias("artist_mbid"),
                "artist_name",
                pl.col("plays").cast(pl.Int64),
                pl.lit(None, pl.Datetime("us", "UTC")).alias("first_ts"),
                pl.lit(None, pl.Datetime("us", "UTC")).alias("last_ts"),
            )
        )
        clash = set(hu["user"].to_list()) & set(ev["user"].unique().to_list())
        if clash:
            raise InputDataError(
                f"user names {sorted(clash)[:5]} occur both in the HetRec population "
                f"({hetrec}) and in another input; rename the export (its file name, or "
                "ingest.user)"
            )
        # HetRec first: its artists keep the order of artists.dat in the catalogue's ids
        parts = [hp, ev]
        hetrec_info = {"path": str(hetrec), "kind": "hetrec", "rows": res.n_plays}
    rows = pl.concat(parts, how="vertical_relaxed")
    # --- one catalogue: canonical artists by MBID then normalised name; one item each
    every = rows.select("artist_mbid", "artist_name", "plays")
    if het_tables:
        # every HetRec artist is an item, tagged-only ones included (cold items with tags)
        every = pl.concat(
            [
                het_tables["artists"].select(
                    pl.lit(None, pl.String).alias("artist_mbid"),
                    _hetrec_name(),
                    pl.lit(0, pl.Int64).alias("plays"),
                ),
                every,
            ]
        )
    combos = (
        every.group_by("artist_mbid", "artist_name", maintain_order=True)
        .agg(pl.col("plays").sum().alias("n"))
        .with_row_index("key")
        .with_columns(
            pl.col("key").cast(pl.UInt64),
            pl.lit(None, pl.String).alias("track_mbid"),
            pl.lit(None, pl.String).alias("track_name"),
        )
        .select("key", *NAME_COLUMNS, "n")
    )
    canon = canonicalise(combos)
    key_map = canon.key_map.with_row_index("key").with_columns(pl.col("key").cast(pl.UInt64))
    rows = rows.join(
        combos.select("key", "artist_mbid", "artist_name"),
        on=["artist_mbid", "artist_name"],
        how="left",
        nulls_equal=True,
    ).join(key_map, on="key", how="left")
    users = (
        rows.select(pl.col("user").unique().sort())
        .with_row_index("user_id")
        .with_columns(pl.col("user_id").cast(pl.Int32))
    )
    plays = (
        rows.join(users, on="user")
        .group_by("user_id", "track_id")
        .agg(
            pl.col("plays").sum().cast(pl.Int32),
            pl.col("first_ts").min(),
            pl.col("last_ts").max(),
        )
        .sort("user_id", "track_id")
        .pipe(rate_plays, cfg)
        .select("user_id", "track_id", "plays", "first_ts", "last_ts", "rating", "confidence")
    )
    listeners = plays.group_by("track_id").len("n_listeners")
    tracks = (
        canon.tracks.with_columns(pl.lit("", pl.String).alias("track_name"))
        .join(listeners, on="track_id", how="left")
        .with_columns(pl.col("n_listeners").fill_null(0).cast(pl.Int64))
    )
    n_per_user = plays.group_by("user_id").agg(
        pl.col("plays").sum().cast(pl.Int64).alias("n_events")
    )
    users_out = users.join(n_per_user, on="user_id", how="left").select(
        "user_id",
        "user",
        pl.lit(None, pl.String).alias("gender"),
        pl.lit(None, pl.Int16).alias("age"),
        pl.lit(None, pl.String).alias("country"),
        pl.lit(None, pl.Date).alias("registered"),
        pl.col("n_events").fill_null(0),
    )
    tables = {
        "plays": plays,
        "tracks": tracks,
        "artists": canon.artists,
        "users": users_out,
    }
    if het_tables:
        # HetRec's artist ids → the catalogue's item ids (one item per canonical artist)
        h2c = (
            het_tables["artists"]
            .select(
                pl.col("artist_id").alias("h_artist"),
                _hetrec_name(),
            )
            .join(
                combos.filter(pl.col("artist_mbid").is_null()).select("key", "artist_name"),
                on="artist_name",
                how="left",
            )
            .join(key_map, on="key", how="left")
            .select("h_artist", "track_id")
        )
        tables["artist_tags"] = (
            het_tables["artist_tags"]
            .join(h2c, left_on="artist_id", right_on="h_artist")
            .group_by("track_id", "tag_id", "tag")
            .agg(pl.col("count").sum())
            .sort("track_id", "count", "tag_id", descending=[False, True, False])
            .select(pl.col("track_id").alias("artist_id"), "tag_id", "tag", "count")
        )
        hu2c = (
            het_tables["users"]
            .select(pl.col("user_id").alias("h_user"), "user")
            .join(users, on="user")
            .select("h_user", "user_id")
        )
        tables["friends"] = (
            het_tables["friends"]
            .join(hu2c, left_on="user_id", right_on="h_user")
            .drop("user_id")
            .rename({"user_id_right": "user_id"})
            .join(hu2c.rename({"user_id": "friend"}), left_on="friend_id", right_on="h_user")
            .select("user_id", pl.col("friend").alias("friend_id"))
        )
    # all or none, as the track-level ingest: staged, then renamed into place together
    # all or none, as the track-level ingest: moved into place when write_artist_level ends
    outputs = {}
    for name, df in tables.items():
        _write_parquet(df, staging.path(out_dir / f"{name}.parquet"))
        outputs[name] = out_dir / f"{name}.parquet"
    write_rejects(parsed.rejects, staging.path(out_dir / "rejects.tsv"))
    outputs["rejects"] = out_dir / "rejects.tsv"
    # timestamped tables of an earlier track-level run would pair with these plays: gone
    for stale in ("events.parquet", "sessions.parquet"):
        staging.remove(out_dir / stale)
    summary: dict[str, Any] = {
        "item_level": "artist",
        "users": users_out.height,
        "events": parsed.events.height,
        "plays_total": int(plays["plays"].sum() or 0),
        "interactions": plays.height,
        "tracks": tracks.height,
        "artists": canon.artists.height,
        "duplicates_dropped": dups,
        "rejected": len(parsed.rejects),
        "inputs": [*([hetrec_info] if hetrec_info else []), *infos],
        "timestamps": "none per item: the catalogue is artist-level, so no events or sessions",
    }
    if hetrec_info is not None:
        het_items = tables["artist_tags"]["artist_id"].n_unique() if "artist_tags" in tables else 0
        summary["hetrec_artists_with_tags"] = int(het_items)
        export_users = [i["user"] for i in infos if i.get("kind") == "scrobbles"]
        if export_users:
            shared = (
                rows.filter(pl.col("user").is_in(export_users))
                .select("track_id")
                .unique()
                .join(
                    rows.filter(~pl.col("user").is_in(export_users)).select("track_id").unique(),
                    on="track_id",
                )
                .height
            )
            summary["export_artists_in_population"] = shared
    logger.info(
        "artist-level catalogue: %d users, %d items, %d interactions (%d duplicates dropped)",
        users_out.height,
        tracks.height,
        plays.height,
        dups,
    )
    return outputs, summary
