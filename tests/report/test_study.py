"""The report's first pages: research questions answered from the stages' tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from moodrec.orchestration.config import ReportConfig
from moodrec.plotting import label_shifts
from moodrec.report import build_study_report, render_html
from moodrec.report.genre_map import genre_map_html
from moodrec.report.study import (
    ablation_blocks,
    fmt,
    model_comparison_blocks,
    provenance_section,
    topic_blocks,
)
from moodrec.storage import describe_file, write_parquet_atomic


def _ablation() -> pd.DataFrame:
    rows = []
    for variant, warm, diff, lo, hi in [
        ("cf", 0.25, np.nan, np.nan, np.nan),
        ("cf+genre", 0.30, 0.05, 0.01, 0.09),
        ("cf+audio", 0.20, -0.05, -0.10, 0.02),
    ]:
        for metric, scale in (("ndcg", 1.0), ("recall", 0.5)):
            rows.append(
                {
                    "variant": variant,
                    "slice": "warm",
                    "metric": metric,
                    "mean": warm * scale,
                    "ci_low": warm * scale - 0.1,
                    "ci_high": warm * scale + 0.1,
                    "diff_vs_ref": diff,
                    "diff_ci_low": lo,
                    "diff_ci_high": hi,
                    "p_value": np.nan if variant == "cf" else 0.03,
                }
            )
    return pd.DataFrame(rows)


def test_ablation_answer_is_drawn_from_the_table() -> None:
    text, table = ablation_blocks(_ablation())
    assert "variant cf+genre scores NDCG 0.300 against 0.250 for cf" in text.text
    assert "95% CI +0.010 to +0.090" in text.text and "a real gain" in text.text
    assert table.columns[:3] == ("variant", "warm: NDCG [95% CI]", "warm: Δ vs cf [95% CI]")
    rows = {r[0]: r for r in table.rows}
    assert rows["cf"][2] == "reference"
    assert rows["cf+genre"][1] == "0.300 [0.200, 0.400]"


def test_unknown_ablation_layout_is_shown_as_written() -> None:
    frame = pd.DataFrame({"model": ["a", "b"], "score": [0.123456, 0.5]})
    note, table = ablation_blocks(frame)
    assert "not one this report reads" in note.text
    assert table.rows == (("a", "0.123"), ("b", "0.500"))


def test_topics_table_has_words_coherence_and_songs() -> None:
    topics = pd.DataFrame(
        {
            "topic_id": [0, 1],
            "topic_key": ["en:0", "en:1"],
            "label": ["love · heart", "road · run"],
            "top_words": [["love", "heart"], ["road", "run"]],
            "share": [0.3, 0.7],
        }
    )
    sweep = pd.DataFrame(
        {
            "language": ["en"],
            "k": [2],
            "c_v": [0.6],
            "c_v_per_topic": [[0.5, 0.7]],
            "chosen": [True],
        }
    )
    track_topics = pd.DataFrame({"track_id": [1, 2], "topic_0": [0.9, 0.1], "topic_1": [0.1, 0.9]})
    tracks = pd.DataFrame({"track_id": [1, 2], "artist_name": ["A", "B"], "track_name": ["x", "y"]})
    text, table = topic_blocks(topics, sweep, track_topics, tracks, n_songs=1)
    assert "2 topics" in text.text and "en:1 road · run (70.0 %)" in text.text
    assert table.rows[0] == ("en:1 road · run", "road, run", "0.700", "70.0 %", "B – y")
    assert table.rows[1][-1] == "A – x"


def test_model_comparison_keeps_metrics_with_intervals() -> None:
    metrics = pd.DataFrame(
        {
            "model": ["pop", "ease"],
            "n_users": [10, 10],
            "ndcg@10": [0.2, 0.3],
            "ndcg@10_ci_low": [0.1, 0.25],
            "ndcg@10_ci_high": [0.22, 0.35],
            "ndcg@20": [0.3, 0.4],
            "ndcg@20_ci_low": [0.2, 0.3],
            "ndcg@20_ci_high": [0.4, 0.5],
            "fit_s": [0.1, 0.2],
        }
    )
    text, table = model_comparison_blocks(metrics)
    assert table.columns == ("model", "users", "NDCG@10 [95% CI]")
    assert table.rows[0] == ("ease", "10", "0.300 [0.250, 0.350]")
    assert "do not overlap" in text.text


def test_genre_map_colours_by_super_genre_and_labels_hubs() -> None:
    embedding = pd.DataFrame(
        {
            "genre": ["rock", "indie", "jazz", "bebop"],
            "x": [0.0, 1.0, 5.0, 6.0],
            "y": [0.0, 1.0, 5.0, 6.0],
            "super_genre": ["rock", "rock", "jazz", None],
        }
    )
    nodes = pd.DataFrame(
        {"genre": embedding["genre"], "strength": [9.0, 1.0, 5.0, 0.5], "degree": [3, 1, 2, 1]}
    )
    page = genre_map_html(embedding, nodes, n_hubs=2)
    assert "Plotly.newPlot" in page and "plotly.js v" not in page
    assert '"name":"rock"' in page and '"name":"unplaced"' in page
    labels = page.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u002f", "/")
    assert "<b>rock</b>" in labels and "<b>jazz</b>" in labels and "<b>bebop</b>" not in labels


def test_label_shifts_separate_near_labels() -> None:
    x = np.array([0.0, 0.01, 10.0])
    y = np.array([0.0, 0.01, 10.0])
    shifts = label_shifts(x, y)
    assert shifts[0] != shifts[1] and shifts[2] == 0.0


def test_report_opens_with_the_questions_and_ends_with_the_appendix(tmp_path: Path) -> None:
    table = write_parquet_atomic(_ablation(), tmp_path / "reports" / "ablation.parquet")
    stages = {
        "ablation": {
            "synthetic": True,
            "refs": {"ablation_table": describe_file("ablation_table", table)},
            "summary": {"variants": 3},
        }
    }
    prov = {
        "run_id": "seed7-abc",
        "seed": 7,
        "moodrec_version": "0.1.0",
        "inputs": [{"name": "log", "path": "raw/log.tsv", "fingerprint": "f" * 32, "rows": 3}],
        "config": {"sandbox": {"seed": 7}, "secrets": {"genius_token": "set"}},
    }
    report = build_study_report(
        stages,
        {"topics": "skipped by orchestration.skip"},
        ReportConfig(),
        profile="tiny",
        provenance=prov,
    )
    page = render_html(report, ReportConfig(inline_plotly=False))
    assert page.splitlines()[0].startswith("<!-- SYNTHETIC DATA")
    heads = [
        '<h3 class="question">RQ1.',
        '<h3 class="question">RQ2.',
        '<h3 class="question">RQ3.',
        "<h2>Genre map</h2>",
        "<h2>How this report was made</h2>",
        '<section id="appendix">',
    ]
    order = [page.index(h) for h in heads]
    assert order == sorted(order)
    assert "the topics stage did not run (skipped by orchestration.skip)" in page
    assert "seed7-abc" in page and "sandbox.seed" in page
    appendix = page[page.index('id="appendix"') :]
    assert "<details><summary>Ablation" in appendix and '<section id="ablation">' in appendix


def test_numbers_are_rounded_and_provenance_reads_as_a_table() -> None:
    assert fmt(0.123456) == "0.123" and fmt(1234) == "1,234" and fmt(float("nan")) == "–"
    assert fmt(np.int64(5)) == "5" and fmt(np.float32(0.5)) == "0.500"
    section = provenance_section({"run_id": "r", "config": {"a": {"b": [1, 2]}}})
    config = section.blocks[-1]
    assert config.folded and ("a.b", "1, 2") in config.rows
