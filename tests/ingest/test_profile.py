"""Dataset profile report: numbers, log-scale histograms, banner, HetRec and 1K layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moodrec.errors import InputDataError
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import ingest_lastfm1k
from moodrec.ingest.profile import ProfileReportConfig, log_histogram, write_profile_report
from moodrec.report.checkpoints import SYNTHETIC_BANNER
from tests.ingest.conftest import A1, T1, T2, line
from tests.ingest.test_hetrec import write_tiny

PNG = b"\x89PNG\r\n\x1a\n"
PROFILE = "#id\tgender\tage\tcountry\tregistered\nu1\tf\t25\tPeru\tFeb 24, 2006\nu2\tm\t\tJapan\t\n"


@pytest.fixture
def onek(tmp_path: Path) -> Path:
    log = tmp_path / "log.tsv"
    rows = [
        line("u1", "2009-05-04T23:08:57Z"),
        line("u1", "2009-06-04T23:08:57Z", tmb=T2, track="Other"),
        line("u2", "2009-06-05T10:00:00Z", amb="", tmb="", track="Other"),
        line("u2", "2009-07-05T10:00:00Z", amb=A1, tmb=T1),
    ]
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    prof = tmp_path / "profile.tsv"
    prof.write_text(PROFILE, encoding="utf-8")
    ingest_lastfm1k(log, tmp_path / "onek", IngestConfig(), profile_path=prof)
    return tmp_path / "onek"


def test_report_for_events_and_hetrec(onek: Path, tmp_path: Path) -> None:
    from moodrec.ingest.hetrec import ingest_hetrec

    hetrec = ingest_hetrec(write_tiny(tmp_path / "hin"), tmp_path / "hetrec").out_dir
    report, summary = write_profile_report(
        {"lastfm1k": onek, "hetrec": hetrec}, tmp_path / "rep", ProfileReportConfig(bins=10)
    )
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Dataset profile")
    s = summary["lastfm1k"]["stats"]
    assert (s["users"], s["events"], s["distinct_tracks"], s["distinct_artists"]) == (2, 4, 2, 1)
    assert s["events_missing_artist_mbid"] == 1 and s["events_missing_track_mbid"] == 1
    demo = summary["lastfm1k"]["demographics"]
    assert demo["gender"] == {"f": 1, "m": 1} and demo["age"]["known"] == 1
    assert set(summary["lastfm1k"]["figures"]) == {
        "events_per_user",
        "listeners_per_track",
        "events_per_month",
        "age",
    }
    h = summary["hetrec"]["stats"]
    assert (h["users"], h["events"], h["distinct_artists"], h["distinct_tracks"]) == (
        2,
        115,
        2,
        None,
    )
    assert set(summary["hetrec"]["figures"]) == {"plays_per_user", "listeners_per_artist"}
    for name in (*summary["lastfm1k"]["figures"].values(), *summary["hetrec"]["figures"].values()):
        assert Path(name).read_bytes().startswith(PNG)
        assert f"]({Path(name).name})" in text
    assert "No profile demographics" in text  # HetRec has none
    assert not [p for p in (tmp_path / "rep").iterdir() if p.name.endswith(".tmp")]


def test_synthetic_banner_is_first_line(onek: Path, tmp_path: Path) -> None:
    report, _ = write_profile_report({"sandbox": onek}, tmp_path / "rep", synthetic=True)
    assert report.read_text(encoding="utf-8").splitlines()[0] == SYNTHETIC_BANNER


def test_not_an_ingest_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match=r"artists\.parquet is missing"):
        write_profile_report({"x": tmp_path}, tmp_path / "rep")
    assert not (tmp_path / "rep").exists()
    with pytest.raises(InputDataError, match="no data sets"):
        write_profile_report({}, tmp_path / "rep")


@given(st.lists(st.integers(1, 10**7), min_size=1, max_size=200), st.integers(5, 60))
def test_log_histogram_keeps_every_value(values: list[int], bins: int) -> None:
    counts, edges = log_histogram(np.array(values), bins)
    assert counts.sum() == len(values)
    assert len(edges) == bins + 1 and np.all(np.diff(edges) > 0)
