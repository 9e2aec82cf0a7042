"""HetRec 2011 Last.fm loader: real-data counts, encodings, and strict error paths."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from moodrec.errors import InputDataError
from moodrec.ingest.hetrec import ingest_hetrec

HEADERS = {
    "user_artists.dat": "userID\tartistID\tweight",
    "artists.dat": "id\tname\turl\tpictureURL",
    "tags.dat": "tagID\ttagValue",
    "user_taggedartists.dat": "userID\tartistID\ttagID\tday\tmonth\tyear",
    "user_friends.dat": "userID\tfriendID",
}
TINY = {
    "user_artists.dat": ["2\t51\t100", "2\t52\t10", "7\t51\t5"],
    "artists.dat": ["51\tBjörk\thttp://a\thttp://p", "52\tМумий Тролль\thttp://b\t"],
    "tags.dat": ["1\ttropicália", "2\trock français", "3\tfußball"],
    "user_taggedartists.dat": [
        "2\t51\t1\t1\t4\t2009",
        "7\t51\t1\t31\t2\t2010",
        "7\t99\t2\t1\t1\t2008",
    ],
    "user_friends.dat": ["2\t7", "7\t2"],
}


def write_tiny(folder: Path, crlf: bool = False, **override: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nl = "\r\n" if crlf else "\n"
    for name, rows in {**TINY, **override}.items():
        enc = "iso-8859-1" if name == "tags.dat" else "utf-8"
        (folder / name).write_bytes(nl.join([HEADERS[name], *rows, ""]).encode(enc))
    return folder


@pytest.mark.parametrize("crlf", [False, True])
def test_tiny_folder_gives_canonical_tables(tmp_path: Path, crlf: bool) -> None:
    res = ingest_hetrec(write_tiny(tmp_path / "in", crlf=crlf), tmp_path / "out")
    assert (res.n_plays, res.n_users, res.n_artists, res.n_tags) == (3, 2, 2, 3)
    assert res.missing_tagged_artists == [99]
    artists = pl.read_parquet(res.outputs["artists"])
    assert artists["artist_name"].to_list() == ["Björk", "Мумий Тролль", None]
    assert artists["in_artists_file"].to_list() == [True, True, False]
    assert artists["n_events"].to_list() == [105, 10, 0]
    tags = pl.read_parquet(res.outputs["tags"])
    assert tags["tag"].to_list() == ["tropicália", "rock français", "fußball"]
    plays = pl.read_parquet(res.outputs["plays"])
    assert plays["plays"].to_list() == [100, 10, 5]
    assert plays["first_ts"].null_count() == 3
    assert plays.filter(pl.col("user_id") == 0)["rating"].to_list() == [10.0, 3.0]
    at = pl.read_parquet(res.outputs["artist_tags"])
    assert at.filter(pl.col("artist_id") == 0).row(0, named=True) == {
        "artist_id": 0,
        "tag_id": 0,
        "tag": "tropicália",
        "count": 2,
    }
    ta = pl.read_parquet(res.outputs["tag_assignments"])
    assert ta["date"].null_count() == 1  # 31 February is no date
    users = pl.read_parquet(res.outputs["users"])
    assert users["user"].to_list() == ["2", "7"] and users["n_events"].to_list() == [110, 5]
    assert pl.read_parquet(res.outputs["friends"]).height == 2
    report = json.loads(res.outputs["hetrec_report"].read_text(encoding="utf-8"))
    assert report["missing_artists"]["hetrec_artist_ids"] == [99]


def test_utf8_tags_file_is_accepted(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "in")
    text = (folder / "tags.dat").read_bytes().decode("iso-8859-1")
    (folder / "tags.dat").write_bytes(text.encode("utf-8"))
    res = ingest_hetrec(folder, tmp_path / "out")
    assert "fußball" in pl.read_parquet(res.outputs["tags"])["tag"].to_list()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("user_artists.dat", "userID\tartistID\tweight\n2\t51\t100\n2\t5", r"line 3: 2 tab-sep"),
        ("user_artists.dat", "user\tartist\tcount\n2\t51\t1\n", r"line 1: header"),
        ("user_artists.dat", "userID\tartistID\tweight\n2\t51\tmany\n", r"line 2: weight"),
        ("user_artists.dat", "", r"line 1: file is empty"),
        ("artists.dat", "id\tname\turl\tpictureURL\n51\tBj\xf6rk\tu\tp\n", r"line 2: invalid utf"),
        ("user_taggedartists.dat", HEADERS["user_taggedartists.dat"] + "\n2\t51\t9\t1\t1\t2009\n",
         r"line 2: tagID 9 is not in tags.dat"),
    ],
)  # fmt: skip
def test_wrong_or_truncated_file_names_file_line_and_format(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    folder = write_tiny(tmp_path / "in")
    (folder / name).write_bytes(content.encode("iso-8859-1"))
    out = tmp_path / "out"
    with pytest.raises(InputDataError, match=message) as err:
        ingest_hetrec(folder, out)
    assert name in str(err.value)
    assert not out.exists()  # nothing partial


def test_missing_required_file(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "in")
    (folder / "tags.dat").unlink()
    with pytest.raises(InputDataError, match=r"tags.dat does not exist \(expected tab-sep"):
        ingest_hetrec(folder, tmp_path / "out")
    (folder / "user_friends.dat").unlink()  # optional
    write_tiny(folder)
    (folder / "user_friends.dat").unlink()
    assert ingest_hetrec(folder, tmp_path / "out").n_friend_links == 0


def test_real_hetrec_counts_and_encodings(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "hetrec2011_lastfm_2k"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    res = ingest_hetrec(folder, tmp_path / "out")
    rep = res.report
    assert rep["user_artist_rows"] == 92_834 == res.n_plays
    assert rep["users"] == 1_892 == res.n_users
    assert rep["artists_in_artists_file"] == 17_632 == res.n_artists
    assert rep["tags"] == 11_946 == res.n_tags
    assert rep["tag_assignments"] == 186_479 == res.n_tag_assignments
    assert rep["missing_artists"]["count"] == 390 == len(res.missing_tagged_artists)
    assert rep["artists_total"] == 17_632 + 390
    tags = pl.read_parquet(res.outputs["tags"])["tag"]
    for name in ("tropicália", "rock français", "fußball"):
        assert name in tags.to_list()
    assert not tags.str.contains("\ufffd|Ã").any()  # no replacement chars, no mojibake
    artists = pl.read_parquet(res.outputs["artists"]).filter(pl.col("in_artists_file"))
    names = artists["artist_name"]
    non_ascii = names.filter(names.str.len_bytes() != names.str.len_chars())
    assert non_ascii.len() == 1_557 == rep["non_ascii_artist_names"]
    assert not names.str.contains("\ufffd").any()
    # every tag assignment is kept, also those of artists missing from artists.dat
    assert pl.read_parquet(res.outputs["tag_assignments"])["artist_id"].null_count() == 0
