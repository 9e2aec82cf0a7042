"""The stage tables as Markdown: the recommenders' metrics and the ablation (with its plot)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from moodrec.evaluation import ablation
from moodrec.interactions.ranking import RANKING_METRICS
from moodrec.report.ablation import ablation_markdown, plot_ablation
from moodrec.report.recommend import metrics_markdown, metrics_summary
from tests.evaluation.test_ablation import _per_user


def _metrics_table() -> pd.DataFrame:
    rows = []
    for model, base in (("ials", 0.4), ("popularity", 0.1)):
        row = {"model": model, "coverage@20": base / 2, "novelty@20": 7.0, "fit_s": base * 10}
        for m in RANKING_METRICS:
            row |= {f"{m}@20": base, f"{m}@20_ci_low": base - 0.01, f"{m}@20_ci_high": base + 0.01}
        rows.append(row)
    return pd.DataFrame(rows)


def test_metrics_markdown_and_summary() -> None:
    table = _metrics_table()
    md = metrics_markdown(table, [10, 20])
    lines = md.splitlines()
    assert lines[0] == "| model | " + " | ".join(f"{m}@20" for m in RANKING_METRICS) + (
        " | coverage@20 | novelty@20 | fit s |"
    )
    assert lines[2].startswith("| ials | 0.4000 [0.3900, 0.4100] |")
    assert lines[3].endswith("| 0.0500 | 7.00 | 1.00 |")
    assert "k = 20" in md
    summary = metrics_summary(table, [10, 20])
    assert summary["best_model"] == "ials" and summary["best_ndcg@20"] == 0.4
    assert summary["models"]["popularity"] == {"ndcg@20": 0.1, "recall@20": 0.1, "fit_s": 1.0}


def test_ablation_markdown_and_plot(tmp_path: Path) -> None:
    table = ablation.summarise(_per_user(), "cf", 200, 0, {"cf": 1.0, "all": 2.0})
    md = ablation_markdown(table, 10, ablation.SLICES, ["a note"])
    assert "## cold slice" in md and "| all | 30 |" in md and "- a note" in md
    assert md.index("## warm slice") < md.index("## cold slice")
    png = plot_ablation(table, tmp_path / "a.png", 10, ablation.SLICES)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
