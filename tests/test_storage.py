from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodrec.catalogue import Catalogue
from moodrec.errors import CatalogueError
from moodrec.storage import (
    Manifest,
    atomic_path,
    describe_file,
    fingerprint_file,
    write_parquet_atomic,
    write_text_atomic,
)


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    write_text_atomic(target, "good")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half-writ")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]  # no temp litter


def test_parquet_round_trip_and_fingerprint_tracks_content(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    p = write_parquet_atomic(df, tmp_path / "d.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(p), df, check_dtype=False)
    fp1 = fingerprint_file(p)
    write_parquet_atomic(df, p)
    assert fingerprint_file(p) == fp1  # same content, same bytes, same fingerprint
    write_parquet_atomic(df.assign(a=[1, 2, 4]), p)
    assert fingerprint_file(p) != fp1


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=5000), st.binary(max_size=5000))
def test_fingerprint_equal_iff_bytes_equal(tmp_path_factory, a: bytes, b: bytes) -> None:
    d = tmp_path_factory.mktemp("fp")
    (d / "a").write_bytes(a)
    (d / "b").write_bytes(b)
    assert (fingerprint_file(d / "a") == fingerprint_file(d / "b")) == (a == b)


def test_catalogue_registers_and_detects_missing(tmp_path: Path) -> None:
    cat = Catalogue(tmp_path)
    path = cat.path("events")
    assert path == tmp_path / "interim" / "events.parquet"
    write_parquet_atomic(pd.DataFrame({"x": range(5)}), path)
    ref = cat.register("events")
    assert ref.rows == 5
    assert cat.ref("events") == ref
    # the manifest stores paths relative to the data folder, so the folder can move
    assert Manifest(tmp_path).load()["events"]["path"] == "interim/events.parquet"
    path.unlink()
    with pytest.raises(CatalogueError, match="missing"):
        cat.ref("events")
    with pytest.raises(CatalogueError, match="unknown dataset 'evnts'"):
        cat.path("evnts")
    with pytest.raises(CatalogueError, match="no dataset named 'plays'"):
        cat.ref("plays")


def test_corrupt_manifest_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(CatalogueError, match=r"manifest\.json"):
        Catalogue(tmp_path).ref("events")


def test_manifest_records_from_threads_lose_no_entry(tmp_path: Path) -> None:
    """Concurrent task runs (threads of one process) record their outputs in turn."""
    import threading

    manifest = Manifest(tmp_path)
    files = []
    for i in range(16):
        f = tmp_path / f"d{i}.json"
        f.write_text(str(i))
        files.append(f)
    threads = [
        threading.Thread(target=manifest.record, args=([describe_file(f"d{i}", f)],))
        for i, f in enumerate(files)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(manifest.load()) == {f"d{i}" for i in range(16)}
