"""Ingest the HetRec 2011 Last.fm 2K data set into moodrec's canonical tables.

Input folder (tab-separated, one header row each, CRLF or LF line ends):

``user_artists.dat``        ``userID, artistID, weight`` (weight = play count), UTF-8/ASCII.
``artists.dat``             ``id, name, url, pictureURL``, UTF-8.
``tags.dat``                ``tagID, tagValue``, **ISO-8859-1** (a UTF-8 copy is accepted too).
``user_taggedartists.dat``  ``userID, artistID, tagID, day, month, year``.
``user_friends.dat``        ``userID, friendID`` (optional).

HetRec has **no timestamps of listening**, only per-(user, artist) play counts. It
therefore yields no ``events``, ``sessions`` or ``tracks``; the outputs (in ``out_dir``,
Parquet with zstd, ids dense from 0) are:

``plays``            ``user_id, artist_id, plays, first_ts, last_ts, rating, confidence``:
                     one row per (user, artist); ``first_ts``/``last_ts`` are null;
                     rating and confidence use the same formulas as the 1K ingest.
``users``            ``user_id, user, gender, age, country, registered, n_events,
                     hetrec_user_id``: ``user`` is the HetRec id as text, demographics are
                     null, ``n_events`` is the user's total play count.
``artists``          ``artist_id, artist_mbid, artist_name, name_variants, n_events,
                     hetrec_artist_id, url, picture_url, in_artists_file``: every artist of
                     ``artists.dat`` (ids in its order), then the artists that are only
                     tagged (390 in the real data; ``in_artists_file`` false, no name) so no
                     tag assignment is dropped. ``artist_mbid`` is null (HetRec has none).
``tags``             ``tag_id, hetrec_tag_id, tag, n_assignments, n_artists, n_users``.
``artist_tags``      ``artist_id, tag_id, tag, count``: how many users gave the artist the
                     tag; sorted by ``artist_id`` and descending count (usable as genres).
``tag_assignments``  ``user_id, artist_id, tag_id, date`` (Date from day/month/year; null
                     when those do not form a date).
``friends``          ``user_id, friend_id`` as in the file (both directions are listed).
``hetrec_report``    JSON: counts and the HetRec ids of the tagged artists missing from
                     ``artists.dat``.

Every file is read and checked before the first write; a truncated or wrong-format file
raises :class:`~moodrec.errors.InputDataError` naming the file, the line and the expected
format, and nothing is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from moodrec.errors import InputDataError
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.sessions import rate_plays
from moodrec.storage import stage_outputs

logger = logging.getLogger(__name__)

USER_ARTISTS = "user_artists.dat"
ARTISTS = "artists.dat"
TAGS = "tags.dat"
TAGGED = "user_taggedartists.dat"
FRIENDS = "user_friends.dat"

#: header, per-column kind ("int" or "str") and encodings tried in order, per file
_LAYOUT: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    USER_ARTISTS: (("userID", "artistID", "weight"), ("int", "int", "int"), ("utf-8",)),
    ARTISTS: (("id", "name", "url", "pictureURL"), ("int", "str", "str", "str"), ("utf-8",)),
    TAGS: (("tagID", "tagValue"), ("int", "str"), ("utf-8", "iso-8859-1")),
    TAGGED: (
        ("userID", "artistID", "tagID", "day", "month", "year"),
        ("int",) * 6,
        ("utf-8",),
    ),
    FRIENDS: (("userID", "friendID"), ("int", "int"), ("utf-8",)),
}
OUTPUT_NAMES = (
    "plays",
    "users",
    "artists",
    "tags",
    "artist_tags",
    "tag_assignments",
    "friends",
    "hetrec_report",
)


@dataclass(frozen=True)
class HetrecResult:
    """What :func:`ingest_hetrec` wrote and counted."""

    out_dir: Path
    outputs: dict[str, Path]
    n_plays: int
    n_users: int
    n_artists: int  # rows of artists.dat
    n_tags: int
    n_tag_assignments: int
    n_friend_links: int
    missing_tagged_artists: list[int] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)


def _decode(path: Path, data: bytes, encodings: tuple[str, ...]) -> str:
    """Decode with the first encoding that fits; name the bad line when none does."""
    *fallbacks, last = encodings
    for enc in fallbacks:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    try:
        text = data.decode(last)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputDataError(
            f"{path}, line {line}: invalid {last} text ({exc.reason}); "
            f"expected a {' or '.join(encodings)} encoded file"
        ) from None
    if fallbacks:
        logger.info("%s: not %s; decoded as %s", path, fallbacks[0], last)
    return text


def read_dat(path: Path) -> pl.DataFrame:
    """Read one HetRec ``.dat`` file strictly.

    Parameters
    ----------
    path
        One of the HetRec files; its name selects the expected header and types.

    Returns
    -------
    pl.DataFrame
        One column per header field (Int64 or String), one row per data line.

    Raises
    ------
    InputDataError
        Missing file, wrong header, a line with the wrong number of fields (a truncated
        last line included), a non-integer id, or undecodable text.
    """
    path = Path(path)
    header, kinds, encodings = _LAYOUT[path.name]
    fmt = "tab-separated " + "<TAB>".join(header) + " with that header row"
    if not path.is_file():
        raise InputDataError(f"HetRec file {path} does not exist (expected {fmt})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputDataError(f"{path}: cannot read ({exc})") from exc
    lines = _decode(path, data, encodings).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise InputDataError(f"{path}, line 1: file is empty; expected {fmt}")
    first = lines[0].rstrip("\r").lstrip("\ufeff").split("\t")
    if tuple(first) != header:
        raise InputDataError(f"{path}, line 1: header {first!r}; expected {fmt}")
    cols: list[list[Any]] = [[] for _ in header]
    for no, raw in enumerate(lines[1:], start=2):
        text = raw.rstrip("\r")
        if not text.strip():
            continue  # blank lines carry nothing
        fields = text.split("\t")
        if len(fields) != len(header):
            raise InputDataError(
                f"{path}, line {no}: {len(fields)} tab-separated fields ({text[:80]!r}); "
                f"expected {len(header)} ({fmt}); the file may be truncated"
            )
        for i, (kind, value) in enumerate(zip(kinds, fields, strict=True)):
            if kind == "int":
                try:
                    cols[i].append(int(value))
                except ValueError:
                    raise InputDataError(
                        f"{path}, line {no}: {header[i]} = {value!r} is not an integer; "
                        f"expected {fmt}"
                    ) from None
            else:
                cols[i].append(value)
    schema = {
        h: (pl.Int64 if k == "int" else pl.String) for h, k in zip(header, kinds, strict=True)
    }
    return pl.DataFrame(dict(zip(header, cols, strict=True)), schema=schema)


def _write_parquet(df: pl.DataFrame, path: Path) -> Path:
    # into the stage's staging folder (stage_outputs), so no temp file of its own
    df.write_parquet(path, compression="zstd", compression_level=1)
    return path


def ingest_hetrec(in_dir: Path, out_dir: Path, cfg: IngestConfig | None = None) -> HetrecResult:
    """Ingest the HetRec 2011 Last.fm folder into the tables listed in the module docstring.

    Parameters
    ----------
    in_dir
        Folder holding the ``.dat`` files (``user_friends.dat`` optional).
    out_dir
        Output folder (created).
    cfg
        Rating and confidence parameters (defaults when omitted).

    Returns
    -------
    HetrecResult

    Raises
    ------
    InputDataError
        A required file is missing, or any file is truncated or in the wrong format, or
        a play/tag row references an id that appears nowhere.
    """
    cfg = cfg or IngestConfig()
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if not in_dir.is_dir():
        raise InputDataError(f"HetRec folder {in_dir} does not exist")
    ua = read_dat(in_dir / USER_ARTISTS)
    art = read_dat(in_dir / ARTISTS)
    tags_raw = read_dat(in_dir / TAGS)
    tagged = read_dat(in_dir / TAGGED)
    friends_path = in_dir / FRIENDS
    fr = read_dat(friends_path) if friends_path.exists() else None

    for path, df, col in [(in_dir / ARTISTS, art, "id"), (in_dir / TAGS, tags_raw, "tagID")]:
        dup = df.filter(pl.col(col).is_duplicated())
        if dup.height:
            raise InputDataError(f"{path}: {col} {dup[col][0]} appears more than once")
    bad_w = ua.with_row_index("line", offset=2).filter(pl.col("weight") < 0)
    if bad_w.height:
        raise InputDataError(
            f"{in_dir / USER_ARTISTS}, line {bad_w['line'][0]}: negative weight; "
            "expected a non-negative play count"
        )
    unknown_tags = tagged.with_row_index("line", offset=2).join(tags_raw, on="tagID", how="anti")
    if unknown_tags.height:
        raise InputDataError(
            f"{in_dir / TAGGED}, line {unknown_tags['line'][0]}: tagID "
            f"{unknown_tags['tagID'][0]} is not in {TAGS}"
        )

    # --- users: everyone who listened, tagged or has friends; ids by HetRec id
    user_ids = [ua["userID"], tagged["userID"]]
    if fr is not None:
        user_ids += [fr["userID"], fr["friendID"]]
    users = (
        pl.concat(user_ids)
        .unique()
        .sort()
        .to_frame("hetrec_user_id")
        .with_row_index("user_id")
        .with_columns(pl.col("user_id").cast(pl.Int32), pl.col("hetrec_user_id").cast(pl.Int32))
    )
    umap = users.select(pl.col("hetrec_user_id").cast(pl.Int64).alias("h"), "user_id")

    # --- artists: artists.dat in file order, then tagged/played artists missing from it
    known = art.select(pl.col("id").alias("h"))
    missing = (
        pl.concat([tagged["artistID"], ua["artistID"]])
        .unique()
        .sort()
        .to_frame("h")
        .join(known, on="h", how="anti")
    )
    missing_ids = missing["h"].to_list()
    missing_played = ua.join(missing, left_on="artistID", right_on="h", how="semi").height
    if missing_ids:
        logger.warning(
            "%s: %d artists referenced by tags/plays are missing from %s; kept without a name",
            in_dir,
            len(missing_ids),
            ARTISTS,
        )
    artists_base = pl.concat(
        [
            art.select(
                pl.col("id").alias("h"),
                pl.col("name").alias("artist_name"),
                pl.col("url"),
                pl.col("pictureURL").alias("picture_url"),
                pl.lit(True).alias("in_artists_file"),
            ),
            missing.with_columns(
                pl.lit(None, pl.String).alias("artist_name"),
                pl.lit(None, pl.String).alias("url"),
                pl.lit(None, pl.String).alias("picture_url"),
                pl.lit(False).alias("in_artists_file"),
            ),
        ]
    ).with_row_index("artist_id")
    amap = artists_base.select("h", pl.col("artist_id").cast(pl.Int32))

    plays = (
        ua.join(umap, left_on="userID", right_on="h", how="left")
        .join(amap, left_on="artistID", right_on="h", how="left")
        .group_by("user_id", "artist_id")
        .agg(pl.col("weight").sum().cast(pl.Int32).alias("plays"))
        .sort("user_id", "artist_id")
        .with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("first_ts"),
            pl.lit(None, pl.Datetime("us", "UTC")).alias("last_ts"),
        )
        .pipe(rate_plays, cfg)  # sorted by user_id, as rate_plays needs
    )
    n_events = plays.group_by("artist_id").agg(pl.col("plays").sum().cast(pl.Int64))
    artists = artists_base.join(n_events, on="artist_id", how="left", maintain_order="left").select(
        pl.col("artist_id").cast(pl.Int32),
        pl.lit(None, pl.String).alias("artist_mbid"),
        "artist_name",
        pl.lit([], pl.List(pl.String)).alias("name_variants"),
        pl.col("plays").fill_null(0).alias("n_events"),
        pl.col("h").cast(pl.Int32).alias("hetrec_artist_id"),
        "url",
        "picture_url",
        "in_artists_file",
    )
    user_plays = plays.group_by("user_id").agg(pl.col("plays").sum().cast(pl.Int64))
    users_out = users.join(user_plays, on="user_id", how="left", maintain_order="left").select(
        "user_id",
        pl.col("hetrec_user_id").cast(pl.String).alias("user"),
        pl.lit(None, pl.String).alias("gender"),
        pl.lit(None, pl.Int16).alias("age"),
        pl.lit(None, pl.String).alias("country"),
        pl.lit(None, pl.Date).alias("registered"),
        pl.col("plays").fill_null(0).alias("n_events"),
        "hetrec_user_id",
    )

    # --- tags
    tag_ids = tags_raw.with_row_index("tag_id").with_columns(pl.col("tag_id").cast(pl.Int32))
    date = pl.concat_str(
        pl.col("year"), pl.col("month"), pl.col("day"), separator="-"
    ).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    assignments = (
        tagged.join(umap, left_on="userID", right_on="h", how="left", maintain_order="left")
        .join(amap, left_on="artistID", right_on="h", how="left", maintain_order="left")
        .join(tag_ids.select("tagID", "tag_id"), on="tagID", how="left", maintain_order="left")
        .select("user_id", "artist_id", "tag_id", date.alias("date"))
    )
    per_tag = assignments.group_by("tag_id").agg(
        pl.len().cast(pl.Int64).alias("n_assignments"),
        pl.col("artist_id").n_unique().cast(pl.Int64).alias("n_artists"),
        pl.col("user_id").n_unique().cast(pl.Int64).alias("n_users"),
    )
    tags = tag_ids.join(per_tag, on="tag_id", how="left", maintain_order="left").select(
        "tag_id",
        pl.col("tagID").cast(pl.Int32).alias("hetrec_tag_id"),
        pl.col("tagValue").alias("tag"),
        *(pl.col(c).fill_null(0) for c in ("n_assignments", "n_artists", "n_users")),
    )
    artist_tags = (
        assignments.group_by("artist_id", "tag_id")
        .agg(pl.col("user_id").n_unique().cast(pl.Int32).alias("count"))
        .join(tags.select("tag_id", "tag"), on="tag_id", how="left")
        .sort(["artist_id", "count", "tag_id"], descending=[False, True, False])
        .select("artist_id", "tag_id", "tag", "count")
    )
    friends = (
        fr.join(umap, left_on="userID", right_on="h", how="left", maintain_order="left")
        .join(
            umap.rename({"user_id": "friend_id"}),
            left_on="friendID",
            right_on="h",
            how="left",
            maintain_order="left",
        )
        .select("user_id", "friend_id")
        if fr is not None
        else pl.DataFrame(schema={"user_id": pl.Int32, "friend_id": pl.Int32})
    )

    report = {
        "source": str(in_dir),
        "user_artist_rows": ua.height,
        "users": users.height,
        "users_with_plays": user_plays.height,
        "artists_in_artists_file": art.height,
        "artists_total": artists.height,
        "tags": tags.height,
        "tag_assignments": assignments.height,
        "tag_assignments_without_date": int(assignments["date"].null_count()),
        "friend_links": friends.height,
        "plays_total": int(plays["plays"].sum() or 0),
        "non_ascii_artist_names": int(
            (art["name"].str.len_bytes() != art["name"].str.len_chars()).sum()
        ),
        "missing_artists": {
            "count": len(missing_ids),
            "with_plays": missing_played,
            "hetrec_artist_ids": missing_ids,
            "note": f"referenced by {TAGGED} or {USER_ARTISTS} but absent from {ARTISTS}; "
            "kept in artists with in_artists_file = false",
        },
        "timestamps": "none: HetRec has play counts only, so no events/sessions/tracks",
    }

    # everything was read and checked; only now does anything get written
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {
        "plays": plays.select(
            "user_id", "artist_id", "plays", "first_ts", "last_ts", "rating", "confidence"
        ),
        "users": users_out,
        "artists": artists,
        "tags": tags,
        "artist_tags": artist_tags,
        "tag_assignments": assignments,
        "friends": friends,
    }
    # all or none; inside the artist-level ingest, committed with its tables
    with stage_outputs(out_dir, label="ingest-hetrec") as staging:
        outputs = {}
        for name, df in tables.items():
            _write_parquet(df, staging.path(out_dir / f"{name}.parquet"))
            outputs[name] = out_dir / f"{name}.parquet"
        outputs["hetrec_report"] = staging.write_json(out_dir / "hetrec_report.json", report)
    logger.info(
        "ingested HetRec %s: %d plays rows, %d users, %d artists (+%d missing), %d tags",
        in_dir,
        plays.height,
        users.height,
        art.height,
        len(missing_ids),
        tags.height,
    )
    return HetrecResult(
        out_dir=out_dir,
        outputs=outputs,
        n_plays=plays.height,
        n_users=users.height,
        n_artists=art.height,
        n_tags=tags.height,
        n_tag_assignments=assignments.height,
        n_friend_links=friends.height,
        missing_tagged_artists=missing_ids,
        report=report,
    )
