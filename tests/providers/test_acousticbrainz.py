"""The ``acousticbrainz_dump`` scanner and provider against the real dump layout.

Archives are built here from the recorded real documents (``tests/fixtures/acousticbrainz``,
see SOURCE.txt) with the published member names, so the parser meets real field shapes.
"""

from __future__ import annotations

import io
import json
import math
import tarfile
from pathlib import Path

import pytest

from moodrec.errors import InputDataError
from moodrec.providers import acousticbrainz
from moodrec.providers.acousticbrainz import AcousticBrainzDump
from moodrec.providers.acousticbrainz_mood import spotify_shaped_features
from moodrec.providers.acousticbrainz_scan import (
    COLUMNS,
    parse_highlevel,
    parse_lowlevel,
    scan_dump,
)
from moodrec.providers.config import AcousticBrainzDumpConfig

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "acousticbrainz"
REAL = "0dad432b-16cc-4bf0-8961-fd31d124b01b"
OTHER = "e8afe383-1478-497e-90b1-7885c7f37f6e"
UNWANTED = "ffffffff-1478-497e-90b1-7885c7f37f6e"
HL_DIR = "acousticbrainz-highlevel-json-20220623"
LL_DIR = "acousticbrainz-lowlevel-json-20220623"


def _highlevel() -> dict:
    return json.loads((FIXTURES / f"highlevel_{REAL}.json").read_text())


def _lowlevel() -> dict:
    return json.loads((FIXTURES / f"lowlevel_{REAL}.excerpt.json").read_text())


def _member(kind: str, mbid: str, offset: int) -> str:
    top = HL_DIR if kind == "highlevel" else LL_DIR
    return f"{top}/{kind}/{mbid[0:2]}/{mbid[2]}/{mbid}-{offset}.json"


def _tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _with_happy(p: float) -> bytes:
    doc = _highlevel()
    doc["highlevel"]["mood_happy"]["all"] = {"happy": p, "not_happy": 1 - p}
    return json.dumps(doc, sort_keys=True).encode()


def test_real_documents_parse() -> None:
    hl = parse_highlevel(_highlevel())
    assert hl["mood_sad"] == pytest.approx(0.953247070312)
    assert hl["mood_happy"] == pytest.approx(0.0581060945988)
    assert hl["voice_instrumental"] == pytest.approx(0.965500116348)
    assert hl["danceability"] == pytest.approx(0.035318903625)
    assert hl["genre_rosamerica"] == "cla"
    ll = parse_lowlevel(_lowlevel())
    assert ll["bpm"] == pytest.approx(139.925872803)
    assert (ll["key_key"], ll["key_scale"]) == ("D", "major")
    assert ll["average_loudness"] == pytest.approx(0.048737552017)
    feats = spotify_shaped_features({**hl, **ll}, "formula")
    # a sad, relaxed, acoustic instrumental: low valence and energy
    assert feats["valence"] < 0.35 and feats["energy"] < 0.2
    assert (feats["key"], feats["mode"], feats["tempo"]) == (2, 1, pytest.approx(139.925872803))


def test_tar_zst_stream_keeps_only_wanted_and_lowest_offset(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    # part 1 holds offset 1 of REAL, part 0 offset 0: the choice must not depend on order
    part0 = _tar_bytes(
        [
            (_member("highlevel", REAL, 0), _with_happy(0.2)),
            (_member("highlevel", UNWANTED, 0), b"{not json"),  # never parsed: not wanted
            (f"{HL_DIR}/COPYING", b"CC0"),
        ]
    )
    part1 = _tar_bytes(
        [
            (_member("highlevel", REAL, 1), _with_happy(0.6)),
            (_member("lowlevel", REAL, 0), json.dumps(_lowlevel()).encode()),
        ]
    )
    for i, raw in ((1, part1), (0, part0)):
        (tmp_path / f"{HL_DIR}-{i}.tar.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    first = scan_dump([tmp_path], [REAL.upper()], combine="lowest_offset")
    assert first.bad == []
    assert (first.n_members, first.n_matched) == (4, 3)
    row = first.table.iloc[0]
    assert list(first.table.columns) == list(COLUMNS)
    assert row["mbid"] == REAL and row["n_submissions"] == 2 and row["submission_offset"] == 0
    assert row["mood_happy"] == pytest.approx(0.2)
    assert row["highlevel_file"] == f"{HL_DIR}-0.tar.zst"
    assert row["highlevel_member"] == _member("highlevel", REAL, 0)
    assert row["bpm"] == pytest.approx(139.925872803)
    mean = scan_dump([tmp_path], [REAL], combine="mean").table.iloc[0]
    assert mean["mood_happy"] == pytest.approx(0.4)
    assert mean["highlevel_member"] == _member("highlevel", REAL, 0)


def test_bad_member_is_reported_not_fatal(tmp_path: Path) -> None:
    raw = _tar_bytes(
        [
            (_member("highlevel", OTHER, 0), b'{"highlevel": '),
            (_member("highlevel", REAL, 0), _with_happy(0.3)),
        ]
    )
    (tmp_path / "dump.tar").write_bytes(raw)
    res = scan_dump([tmp_path / "dump.tar"], [REAL, OTHER])
    assert res.table["mbid"].tolist() == [REAL]
    assert len(res.bad) == 1
    assert res.bad[0]["member"] == _member("highlevel", OTHER, 0)
    assert res.bad[0]["file"] == "dump.tar"


def test_truncated_archive_keeps_what_was_read(tmp_path: Path) -> None:
    raw = _tar_bytes(
        [
            (_member("highlevel", REAL, 0), _with_happy(0.3)),
            (_member("highlevel", OTHER, 0), _with_happy(0.7) * 20),
        ]
    )
    (tmp_path / "cut.tar").write_bytes(raw[: len(raw) // 2 + 700])
    res = scan_dump([tmp_path / "cut.tar"], [REAL, OTHER])
    assert res.table["mbid"].tolist() == [REAL]
    assert res.bad and "archive unreadable" in res.bad[-1]["error"]


def test_loose_json_jsonl_and_feature_csv(tmp_path: Path) -> None:
    folder = tmp_path / "loose" / "highlevel" / "0d" / "a"
    folder.mkdir(parents=True)
    (folder / f"{REAL}-0.json").write_bytes(_with_happy(0.9))
    other = _highlevel()
    other["metadata"]["tags"]["musicbrainz_recordingid"] = [OTHER]
    (tmp_path / "loose" / "more.jsonl").write_text(
        json.dumps(other) + "\n" + json.dumps({"mbid": UNWANTED, "highlevel": {}}) + "\n"
    )
    (tmp_path / "loose" / "acousticbrainz-lowlevel-features-20220623-rhythm.csv").write_text(
        "mbid,submission_offset,bpm,danceability\n"
        f"{OTHER},1,101.5,1.1\n{OTHER},0,99.0,1.2\n{UNWANTED},0,50,1\n"
    )
    res = scan_dump([tmp_path / "loose"], [REAL, OTHER], combine="lowest_offset")
    t = res.table.set_index("mbid")
    assert t.loc[REAL, "mood_happy"] == pytest.approx(0.9)
    assert t.loc[OTHER, "mood_sad"] == pytest.approx(0.953247070312)
    assert t.loc[OTHER, "bpm"] == pytest.approx(99.0)
    assert math.isnan(t.loc[REAL, "bpm"])
    assert res.bad == []


def test_provider_prepares_once_and_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _tar_bytes(
        [
            (_member("highlevel", REAL, 0), _with_happy(0.3)),
            (_member("lowlevel", REAL, 0), json.dumps(_lowlevel()).encode()),
        ]
    )
    (tmp_path / "d.tar").write_bytes(raw)
    cfg = AcousticBrainzDumpConfig(paths=(tmp_path / "d.tar",))
    ab = AcousticBrainzDump(cfg)
    with pytest.raises(InputDataError, match="before prepare"):
        ab.lookup(REAL)
    extract = ab.prepare([REAL, OTHER, None], tmp_path / "work")
    assert extract.is_file() and ab.report["n_kept"] == 1
    found = ab.lookup(REAL.upper())
    assert found.status == "found"
    assert found.data["record"]["highlevel_member"] == _member("highlevel", REAL, 0)
    assert 0.0 <= found.data["features"]["valence"] <= 1.0
    assert ab.lookup(OTHER).status == "not_found"
    # a second provider (the next batch task) reuses the extract: the dump is not read again

    def no_scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("dump scanned twice")

    monkeypatch.setattr(acousticbrainz, "scan_dump", no_scan)
    again = AcousticBrainzDump(cfg)
    assert again.prepare([OTHER, REAL], tmp_path / "work") == extract
    assert again.lookup(REAL).data["record"] == found.data["record"]


def test_missing_dump_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="does not exist"):
        AcousticBrainzDump(AcousticBrainzDumpConfig(paths=(tmp_path / "nope",)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError, match="no dump file"):
        AcousticBrainzDump(AcousticBrainzDumpConfig(paths=(tmp_path / "empty",)))
