"""The recommenders' metrics table as Markdown and as a short summary of the run."""

from __future__ import annotations

from typing import Any

import pandas as pd

from moodrec.interactions.ranking import RANKING_METRICS


def metrics_markdown(table: pd.DataFrame, ks: list[int]) -> str:
    """The metrics table as Markdown: ``mean [low, high]`` per ranking metric at the largest k.

    ``table`` has ``model``, ``<metric>@<k>`` with ``_ci_low`` / ``_ci_high`` columns,
    ``coverage@<k>``, ``novelty@<k>`` and ``fit_s`` (see
    :func:`moodrec.experiment.stage.metrics_table`).
    """
    kmax = max(ks)
    cols = [f"{m}@{kmax}" for m in RANKING_METRICS]
    head = ["model", *cols, f"coverage@{kmax}", f"novelty@{kmax}", "fit s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [str(r["model"])]
        for c in cols:
            cells.append(f"{r[c]:.4f} [{r[c + '_ci_low']:.4f}, {r[c + '_ci_high']:.4f}]")
        cells += [
            f"{r[f'coverage@{kmax}']:.4f}",
            f"{r[f'novelty@{kmax}']:.2f}",
            f"{r['fit_s']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        f"\nMean over test users with a 95 % bootstrap CI; full-catalogue ranking, training "
        f"items excluded, ties by lower item index; k = {kmax}.\n"
    )
    return "\n".join(lines) + "\n" + note


def metrics_summary(table: pd.DataFrame, ks: list[int]) -> dict[str, Any]:
    """The best model and, per model, NDCG / Recall at the largest k and the fit seconds.

    ``table`` is sorted best first (as :func:`moodrec.experiment.stage.metrics_table` returns).
    """
    kmax = max(ks)
    best = table.iloc[0]
    return {
        "best_model": str(best["model"]),
        f"best_ndcg@{kmax}": float(best[f"ndcg@{kmax}"]),
        "models": {
            str(r["model"]): {
                f"ndcg@{kmax}": round(float(r[f"ndcg@{kmax}"]), 4),
                f"recall@{kmax}": round(float(r[f"recall@{kmax}"]), 4),
                "fit_s": round(float(r["fit_s"]), 3),
            }
            for _, r in table.iterrows()
        },
    }
