"""Every log as a pipeline source: scrobble-export layouts of real exporters, detection,
duplicates, one catalogue across datasets, HetRec as an artist-level population."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from moodrec.errors import InputDataError
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.exports import read_export_csv
from moodrec.ingest.listens import (
    detect_input,
    expand_inputs,
    ingest_sources,
    resolve_item_level,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
HETREC = SHARED / "hetrec2011_lastfm_2k"
LOG_1K = SHARED / "lastfm_1k" / "userid-timestamp-artid-artname-traid-traname.head5000.tsv"

# The same three scrobbles (2021-04-01 10:42:53 / 10:39:59 / 10:34:52 UTC) in the layouts real
# exporters write. Sources of each layout:
#  - benjaminbenben.com/lastfm-to-csv (documented in k-acper/lastfm README.txt: no header,
#    "lur,The Magic Whip,New World Towers,22 Mar 2021 16:55"): minutes only;
#  - the uts/utc_time/MBID layout moodrec's scrobbles reader already took ("full");
#  - mathieuhendey/lastfm_downloader downloader.py: artist,album,track,timestamp,datetime from
#    a pandas frame (older versions kept pandas' index as a leading unnamed column);
#  - emkor/lastfm-backup-cli README: "<SCROBBLE DATE>,<SCROBBLE TIME (UTC)>,<ARTIST>,<TITLE>",
#    no header;
#  - a user.getRecentTracks script with csv.DictWriter headers
#    ['track', 'album', 'artist', 'time', 'track id', 'album id', 'artist id'];
#  - a scrobble app's export: DictWriter fieldnames ["title", "artist", "album", "date"], date
#    in Unix seconds.
MINUTES = [datetime(2021, 4, 1, 10, m, tzinfo=UTC) for m in (42, 39, 34)]
SECONDS = [datetime(2021, 4, 1, 10, m, s, tzinfo=UTC) for m, s in ((42, 53), (39, 59), (34, 52))]
UTS = [int(t.timestamp()) for t in SECONDS]
ARTISTS = ["PRO8L3M", "Deftones", "Björk"]
TRACKS = ["Backstage", 'Pompeji, "live"', "Army of Me"]
AMBID = ["", "7527f6c2-d762-4b88-b5e2-9244f1e34c46", "87c5dedd-371d-4a53-9f7f-80522fb7f3cb"]


def _q(s: str) -> str:
    return '"' + s.replace('"', '""') + '"' if ("," in s or '"' in s) else s


LAYOUTS: dict[str, tuple[str, list[datetime], bool]] = {
    "benjaminbenben": (
        "".join(
            f"{_q(a)},Album,{_q(t)},{d:%d %b %Y %H:%M}\n"
            for a, t, d in zip(ARTISTS, TRACKS, MINUTES, strict=True)
        ),
        MINUTES,
        False,
    ),
    "full_mbid": (
        "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\r\n"
        + "".join(
            f'{u},"{d:%d %b %Y, %H:%M}",{_q(a)},{m},Album,,{_q(t)},\r\n'
            for u, d, a, m, t in zip(UTS, MINUTES, ARTISTS, AMBID, TRACKS, strict=True)
        ),
        SECONDS,
        True,
    ),
    "hendey": (
        "artist,album,track,timestamp,datetime\n"
        + "".join(
            f"{_q(a)},Album,{_q(t)},{u},{d:%Y-%m-%d %H:%M:%S}\n"
            for a, t, u, d in zip(ARTISTS, TRACKS, UTS, SECONDS, strict=True)
        ),
        SECONDS,
        False,
    ),
    "hendey_index": (
        ",artist,album,track,timestamp,datetime\n"
        + "".join(
            f"{i},{_q(a)},Album,{_q(t)},{u},{d:%Y-%m-%d %H:%M:%S}\n"
            for i, (a, t, u, d) in enumerate(zip(ARTISTS, TRACKS, UTS, SECONDS, strict=True))
        ),
        SECONDS,
        False,
    ),
    "emkor": (
        "".join(
            f"{d:%Y-%m-%d},{d:%H:%M:%S},{_q(a)},{_q(t)}\n"
            for a, t, d in zip(ARTISTS, TRACKS, SECONDS, strict=True)
        ),
        SECONDS,
        False,
    ),
    "dictwriter_ids": (
        "track,album,artist,time,track id,album id,artist id\n"
        + "".join(
            f"{_q(t)},Album,{_q(a)},{d:%Y-%m-%dT%H:%M:%SZ},,,{m}\n"
            for a, t, d, m in zip(ARTISTS, TRACKS, SECONDS, AMBID, strict=True)
        ),
        SECONDS,
        True,
    ),
    "title_date_uts": (
        "title,artist,album,date\n"
        + "".join(
            f"{_q(t)},{_q(a)},Album,{u}\n" for a, t, u in zip(ARTISTS, TRACKS, UTS, strict=True)
        ),
        SECONDS,
        False,
    ),
}


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    for name, (text, _, _) in LAYOUTS.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_exporter_layout_reads_the_same_scrobbles(exports: Path, name: str) -> None:
    _, times, has_mbid = LAYOUTS[name]
    rows = read_export_csv(exports / f"{name}.csv")
    frame = rows.frame
    assert frame["artist_name"].to_list() == ARTISTS
    assert frame["track_name"].to_list() == TRACKS
    assert frame["ts"].to_list() == times
    mbids = frame["artist_mbid"].to_list()
    assert mbids == ([m or None for m in AMBID] if has_mbid else [None] * 3)
    assert detect_input(exports / f"{name}.csv") == "scrobbles"


def test_unknown_layout_names_the_file_line_and_layouts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"bad.csv, line 1: unrecognised.*artist column"):
        read_export_csv(bad)
    odd = tmp_path / "odd.csv"
    odd.write_text("artist,track,date\nA,T,yesterday\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"odd.csv, line 2: unparsable time 'yesterday'"):
        read_export_csv(odd)


def test_a_folder_of_exports_is_one_log_and_duplicates_are_counted(
    exports: Path, tmp_path: Path
) -> None:
    # the same export twice over: every event an exact duplicate (same user, time, track)
    twice = exports / "hendey.csv"
    text = twice.read_text(encoding="utf-8")
    twice.write_text(text + text.split("\n", 1)[1], encoding="utf-8")
    cfg = IngestConfig(source="listens", paths=[exports])
    assert resolve_item_level(cfg) == "track"
    res = ingest_sources(cfg, tmp_path / "interim")
    s = res.summary
    assert s["duplicates_dropped"] == 3
    assert s["users"] == len(LAYOUTS) and s["events"] == 3 * len(LAYOUTS)
    assert {i["kind"] for i in s["inputs"]} == {"scrobbles"}
    tracks = pl.read_parquet(res.outputs["tracks"])
    # one catalogue: the same three songs from seven files (MBID or normalised names)
    assert tracks.height == 3
    assert sorted(tracks["n_listeners"].to_list()) == [len(LAYOUTS)] * 3
    artists = pl.read_parquet(res.outputs["artists"])
    assert artists.height == 3 and artists["artist_mbid"].null_count() == 1


def test_item_level_track_refuses_hetrec(tmp_path: Path) -> None:
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "user_artists.dat").write_text("userID\tartistID\tweight\n")
    cfg = IngestConfig(source="listens", paths=[tmp_path / "h"], item_level="track")
    with pytest.raises(InputDataError, match="play counts per artist only"):
        resolve_item_level(cfg)
    assert resolve_item_level(cfg.model_copy(update={"item_level": "auto"})) == "artist"
    with pytest.raises(InputDataError, match="does not exist"):
        expand_inputs([tmp_path / "missing.csv"])


@pytest.mark.skipif(not LOG_1K.is_file(), reason="../shared/data absent")
def test_export_plus_lastfm1k_head_track_level(exports: Path, tmp_path: Path) -> None:
    cfg = IngestConfig(source="listens", paths=[exports / "full_mbid.csv", LOG_1K])
    res = ingest_sources(cfg, tmp_path / "interim")
    users = pl.read_parquet(res.outputs["users"])["user"].to_list()
    assert users == ["full_mbid", "user_000001", "user_000002"]
    assert res.summary["events"] == 5000 + 3
    assert [i["kind"] for i in res.summary["inputs"]] == ["scrobbles", "lastfm1k"]


@pytest.mark.skipif(not HETREC.is_dir(), reason="../shared/data absent")
def test_hetrec_alone_is_an_artist_level_catalogue(tmp_path: Path) -> None:
    cfg = IngestConfig(source="hetrec", log_path=HETREC)
    res = ingest_sources(cfg, tmp_path / "interim")
    assert res.item_level == "artist"
    assert not (tmp_path / "interim" / "events.parquet").exists()
    plays = pl.read_parquet(res.outputs["plays"])
    tracks = pl.read_parquet(res.outputs["tracks"])
    assert plays["user_id"].n_unique() == 1892
    # every HetRec artist is an item (tagged-only ones too); items = artists, no titles
    assert tracks.height == pl.read_parquet(res.outputs["artists"]).height > 17_000
    assert set(tracks["track_name"].unique()) == {""}
    assert int(plays["plays"].sum()) == res.summary["plays_total"]
    tags = pl.read_parquet(res.outputs["artist_tags"])
    assert tags["artist_id"].null_count() == 0
    assert tags["artist_id"].max() < tracks.height


@pytest.mark.skipif(not HETREC.is_dir(), reason="../shared/data absent")
def test_export_joins_the_hetrec_population_by_artist_name(tmp_path: Path) -> None:
    export = tmp_path / "me.csv"
    export.write_text(
        "artist,album,track,date\n"
        "Duran Duran,Rio,Rio,04 May 2009 23:08\n"
        "duran duran,Rio,Hungry Like the Wolf,04 May 2009 23:04\n"
        "Nobody Knows These,X,Y,04 May 2009 23:00\n",
        encoding="utf-8",
    )
    cfg = IngestConfig(source="listens", paths=[export, HETREC])
    res = ingest_sources(cfg, tmp_path / "interim")
    users = pl.read_parquet(res.outputs["users"])
    me = users.filter(pl.col("user") == "me")["user_id"].item()
    plays = pl.read_parquet(res.outputs["plays"]).filter(pl.col("user_id") == me)
    tracks = pl.read_parquet(res.outputs["tracks"])
    mine = plays.join(tracks, on="track_id")
    by_name = dict(zip(mine["artist_name"], mine["plays"], strict=True))
    # two track plays of one artist (case-insensitive name) = two plays of that artist item
    assert by_name["Duran Duran"] == 2 and by_name["Nobody Knows These"] == 1
    duran = mine.filter(pl.col("artist_name") == "Duran Duran")
    assert duran["n_listeners"].item() > 100  # the population's listeners of the same item
    assert res.summary["export_artists_in_population"] == 1


def test_export_rows_outside_the_timestamp_window_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "me.csv"
    path.write_text(
        "artist,album,track,timestamp,datetime\n"
        "A,,T,1617273773,2021-04-01 10:42:53\n"
        "A,,T,631152000,1990-01-01 00:00:00\n"
        "A,,T,99999999999999999,x\n",
        encoding="utf-8",
    )
    res = ingest_sources(IngestConfig(source="scrobbles", log_path=path), tmp_path / "interim")
    assert res.summary["events"] == 1 and res.summary["rejected"] == 2
    lines = res.outputs["rejects"].read_text(encoding="utf-8").splitlines()[1:]
    assert lines[0].startswith("3\timplausible timestamp (before 2002")
    assert lines[1].startswith("4\timplausible timestamp")


def test_drop_exact_duplicates_matches_unique_and_keeps_order() -> None:
    from moodrec.ingest.listens import drop_exact_duplicates

    rng = np.random.default_rng(5)
    n = 5_000
    events = pl.DataFrame(
        {
            "user": pl.Series(rng.choice(["a", "b", "c"], n)).cast(pl.Categorical),
            "ts": pl.Series(rng.integers(0, 50, n) * 1_000_000).cast(pl.Datetime("us", "UTC")),
            "combo": pl.Series(rng.integers(0, 20, n), dtype=pl.UInt32),
        }
    )
    out, n_dropped = drop_exact_duplicates(events)
    expected = events.unique(subset=["user", "ts", "combo"], keep="first", maintain_order=True)
    assert out.equals(expected) and n_dropped == n - expected.height > 0
    again, none = drop_exact_duplicates(expected)
    assert none == 0 and again.equals(expected)
