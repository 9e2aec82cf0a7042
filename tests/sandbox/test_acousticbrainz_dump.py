"""The sandbox world's AcousticBrainz-like dumps: real layout, MBID-keyed, from the truth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.providers.acousticbrainz_dump import iter_tar
from moodrec.providers.acousticbrainz_mood import mood_coordinates
from moodrec.providers.acousticbrainz_scan import BINARY_MODELS, scan_dump
from moodrec.sandbox.world import WorldSize, WorldSummary, build_world

SIZE = WorldSize(n_users=10, n_artists=60, n_tracks=800, n_events=8_000)
MEMBER_RE = re.compile(
    r"^acousticbrainz-(highlevel|lowlevel)-json-20220623/\1/([0-9a-f]{2})/([0-9a-f])/"
    r"([0-9a-f-]{36})-(\d+)\.json$"
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    return build_world(SIZE, seed=5, out_dir=tmp_path_factory.mktemp("abworld"))


def _members(path: Path) -> dict[str, bytes]:
    # the provider's streaming reader (zstandard, or the zstd command without it)
    return {name: read() for name, read in iter_tar(path)}


def test_archives_have_the_published_layout(world: WorldSummary) -> None:
    root = world.out_dir / "acousticbrainz"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.tar.zst"))
    assert files == [
        f"acousticbrainz-{k}-json-20220623/acousticbrainz-{k}-json-20220623-{i}.tar.zst"
        for k in ("highlevel", "lowlevel")
        for i in (0, 1)
    ]
    world_json = json.loads((world.out_dir / "world.json").read_text())
    assert {f"acousticbrainz/{f}" for f in files} <= set(world_json["files"])
    members = _members(root / files[0])
    assert "acousticbrainz-highlevel-json-20220623/COPYING" in members
    docs = {n: d for n, d in members.items() if not n.endswith("COPYING")}
    assert docs
    for name, data in docs.items():
        m = MEMBER_RE.match(name)
        assert m is not None, name
        kind, a, b, mbid, _ = m.groups()
        assert kind == "highlevel"
        assert (a, b) == (mbid[0:2], mbid[2])
        doc = json.loads(data)
        assert data == json.dumps(doc, sort_keys=True).encode()  # written with sorted keys
        assert set(doc) == {"highlevel", "metadata"}
        assert doc["metadata"]["tags"]["musicbrainz_recordingid"] == [mbid]
        for model, cls in BINARY_MODELS.items():
            entry = doc["highlevel"][model]
            assert set(entry) == {"all", "probability", "value", "version"}
            assert sum(entry["all"].values()) == pytest.approx(1.0)
            assert entry["probability"] == pytest.approx(max(entry["all"].values()))
            assert cls in entry["all"]


def test_records_are_mbid_keyed_noisy_views_of_the_truth(world: WorldSummary) -> None:
    truth = pd.read_parquet(world.truth_dir / "tracks.parquet")
    res = scan_dump([world.out_dir / "acousticbrainz"], combine="lowest_offset")
    assert res.bad == []
    table = res.table
    with_mbid = truth["track_mbid"].dropna()
    assert set(table["mbid"]) <= set(with_mbid)  # only recordings with an MBID
    share = len(table) / len(with_mbid)
    assert 0.6 < share < 0.95  # some recordings are missing
    assert (table["n_submissions"] > 1).mean() > 0.3  # duplicates, as in the real dumps
    assert (table["submission_offset"] == 0).all()  # offset 0 always exists
    merged = table.merge(truth, left_on="mbid", right_on="track_mbid")
    ve = mood_coordinates(merged, "sandbox_fit")
    assert np.corrcoef(ve[:, 0], merged["valence"])[0, 1] > 0.75
    assert np.corrcoef(ve[:, 1], merged["energy"])[0, 1] > 0.75
    # noisy: not the truth itself
    assert np.abs(ve[:, 0] - merged["valence"]).mean() > 0.02
    octave = merged["bpm"] / merged["tempo"]
    assert ((octave > 1.8) | (octave < 0.6)).any()  # some octave errors


def test_same_seed_writes_identical_dumps(world: WorldSummary, tmp_path: Path) -> None:
    """Fixed tar headers and single-threaded zstd: equal seeds give equal archive bytes."""
    again = build_world(SIZE, seed=5, out_dir=tmp_path / "again")
    assert again.log_path.read_bytes() == world.log_path.read_bytes()
    for part in ("highlevel", "lowlevel"):
        name = f"acousticbrainz-{part}-json-20220623/acousticbrainz-{part}-json-20220623-1.tar.zst"
        a = (again.out_dir / "acousticbrainz" / name).read_bytes()
        assert a == (world.out_dir / "acousticbrainz" / name).read_bytes()
