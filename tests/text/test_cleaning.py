"""Lyrics cleaning: scrape artifacts, languages, edge cases, determinism."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from moodrec.errors import InputDataError
from moodrec.sandbox.config import SandboxConfig
from moodrec.sandbox.world import generate_world
from moodrec.text.cleaning import clean_lyrics, count_artifacts, strip_artifacts
from moodrec.text.config import LyricsConfig

GENIUS = (
    "42 ContributorsTranslationsEspañolMy Song Lyrics[Verse 1: Someone]\n"
    "Hold my heart tonight\nYou might also like[Chorus]\nDancing on the floor\n"
    "See Someone LiveGet tickets as low as $45\nvisit https://example.com/x now\n"
    "[Outro]\nGoodbye river12Embed"
)


def test_strip_artifacts_removes_every_kind() -> None:
    out = strip_artifacts(GENIUS)
    assert out.splitlines()[0] == "Hold my heart tonight"
    assert out.endswith("Goodbye river")
    for bad in ("Contributors", "[", "Embed", "You might also like", "http", "tickets", "Lyrics"):
        assert bad not in out


def test_cleaning_tokens_lemmas_and_stopwords() -> None:
    frame = pd.DataFrame({"track_id": [1], "text": ["Oh yeah, the tears I'm cryin' in the rivers"]})
    toks = clean_lyrics(frame, LyricsConfig(min_doc_tokens=0)).frame["tokens"].iloc[0]
    assert toks == ["tear", "cry", "river"]


def _edge_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track_id": [5, 4, 3, 2, 1, 6],
            "text": [
                "",
                "   \n\t ",
                ("love and heart and river and sunshine forever " * 4000)[:200_000],
                "君の名前を呼んでいる 夜空に星が光る 愛してる",
                "[Chorus]\n12Embed",
                None,
            ],
        }
    )


def test_edge_cases_pass_and_are_reported() -> None:
    frame = _edge_frame()
    before = frame.copy()
    result = clean_lyrics(frame, LyricsConfig())
    pd.testing.assert_frame_equal(frame, before)  # input untouched
    by_id = result.frame.set_index("track_id")
    assert by_id.loc[5, "status"] == "empty"
    assert by_id.loc[6, "status"] == "empty"
    assert by_id.loc[4, "status"] == "empty"
    assert by_id.loc[1, "status"] == "no_text_after_cleaning"
    assert by_id.loc[3, "status"] == "ok" and bool(by_id.loc[3, "truncated"])
    assert by_id.loc[3, "n_chars_clean"] == LyricsConfig().max_chars
    assert bool(by_id.loc[2, "non_latin"])
    assert by_id.loc[2, "language"] == "ja"
    assert by_id.loc[2, "status"] == "excluded_language"
    rep = result.report
    assert rep["status"]["empty"] == 3 and rep["truncated"] == 1 and rep["non_latin"] == 1
    assert set(rep["problem_track_ids"]["empty"]) == {4, 5, 6}
    # per-language mode keeps the Japanese text (no lemmatiser: raw tokens)
    per = clean_lyrics(frame, LyricsConfig(language_mode="per_language", min_doc_tokens=1))
    assert per.frame.set_index("track_id").loc[2, "status"] == "ok"


def test_cleaning_is_deterministic_and_sorted() -> None:
    a = clean_lyrics(_edge_frame(), LyricsConfig()).frame
    b = clean_lyrics(_edge_frame().sample(frac=1, random_state=3), LyricsConfig()).frame
    pd.testing.assert_frame_equal(a, b)
    assert a["track_id"].is_monotonic_increasing


def test_missing_columns_and_duplicates_raise() -> None:
    with pytest.raises(InputDataError, match="text"):
        clean_lyrics(pd.DataFrame({"track_id": [1]}), LyricsConfig())
    with pytest.raises(InputDataError, match="duplicate"):
        clean_lyrics(pd.DataFrame({"track_id": [1, 1], "text": ["a", "b"]}), LyricsConfig())


def test_parallel_cleaning_matches_serial(tmp_path: Path) -> None:
    generate_world(SandboxConfig(profile="tiny", seed=7), tmp_path)
    lyr = pd.read_parquet(tmp_path / "truth/lyrics.parquet")
    frame = pd.DataFrame({"track_id": lyr["track_id"], "text": lyr["raw"]})
    serial = clean_lyrics(frame, LyricsConfig(n_jobs=1)).frame
    parallel = clean_lyrics(frame, LyricsConfig(n_jobs=2, parallel_min_docs=10)).frame
    pd.testing.assert_frame_equal(serial, parallel)
    # sandbox truth: artifacts gone, the detected language is the planted one
    assert count_artifacts(serial["text_clean"]) == dict.fromkeys(count_artifacts(lyr["raw"]), 0)
    assert (serial["language"].to_numpy() == lyr["language"].to_numpy()).all()


@pytest.mark.realdata
def test_real_genius_lyrics_have_no_artifacts_left(shared_data: Path) -> None:
    real = pd.read_parquet(shared_data / "lyrics_poplyrics_1k_genius" / "poplyric-1k.parquet")
    frame = pd.DataFrame({"track_id": range(len(real)), "text": real["lyrics"]})
    before = count_artifacts(frame["text"])
    assert before["section_header"] >= 957
    result = clean_lyrics(frame, LyricsConfig())
    after = count_artifacts(result.frame["text_clean"])
    assert after == dict.fromkeys(after, 0), after
    assert result.report["status"]["ok"] >= 900
    assert result.report["languages"]["en"] >= 900
