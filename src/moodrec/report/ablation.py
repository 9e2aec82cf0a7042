"""The ablation table as Markdown and as a bar chart (NDCG@k with 95 % CI per variant)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from moodrec.storage import atomic_path

SLICE_TITLES = {
    "warm": "warm items (ranked among items with training data)",
    "cold": "cold items ranked against the whole catalogue (headline)",
    "cold_only": "cold items ranked among cold items only (second view)",
    "all": "all held-out items ranked against the whole catalogue",
}


def rq1_markdown(
    table: pd.DataFrame,
    answer: dict,
    k: int,
    slices: Sequence[str],
    title: str = "RQ1: do audio, genre and lyric features improve on collaborative filtering?",
    caption: str | None = None,
) -> list[str]:
    """The RQ1 answer: one NDCG table (variant × slice, Δ vs the reference) and one sentence.

    ``answer`` is :func:`moodrec.evaluation.ablation_summary.rq1_answer`'s; ``caption`` says
    what the intervals are over (default: one run's users).
    """
    nd = table[table["metric"] == "ndcg"]
    slices = [s for s in slices if (nd["slice"] == s).any()]
    ref = answer.get("reference", "")
    if caption is None:
        caption = (
            f"NDCG@{k}, mean [95 % CI] over users; Δ = paired difference vs tuned `{ref}` "
            "(* = its 95 % CI excludes 0)."
        )
    lines = [
        f"## {title}",
        "",
        answer.get("sentence", ""),
        "",
        caption,
        "",
        "| variant | " + " | ".join(slices) + " |",
        "|---|" + "---|" * len(slices),
    ]
    for variant, grp in nd.groupby("variant", sort=False):
        cells = []
        for sl in slices:
            r = grp[grp["slice"] == sl]
            if r.empty:
                cells.append("—")
                continue
            r = r.iloc[0]
            cell = f"{r['mean']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
            if not np.isnan(r["diff_vs_ref"]):
                star = "*" if r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0 else ""
                cell += f" Δ {r['diff_vs_ref']:+.3f}{star}"
            cells.append(cell)
        name = f"**{variant}**" if variant == answer.get("best") else str(variant)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def ablation_markdown(
    table: pd.DataFrame,
    k: int,
    slices: Sequence[str],
    notes: list[str] | None = None,
    answer: dict | None = None,
) -> str:
    """The table as Markdown: the RQ1 answer (when ``answer`` is given), then per slice mean
    [95 % CI], difference vs the reference and p-value per cell.

    ``table`` is :func:`moodrec.evaluation.ablation_summary.summarise`'s; one section per slice of
    ``slices`` (in that order) that the table has.
    """
    lines = [f"# Ablation: does content help? (NDCG@{k}, Recall@{k})", ""]
    lines += [f"- {n}" for n in notes or []]
    if notes:
        lines.append("")
    if answer is not None:
        lines += rq1_markdown(table, answer, k, slices)
    for slice_name in slices:
        sub = table[table["slice"] == slice_name]
        if sub.empty:
            continue
        lines += [
            f"## {slice_name} slice: {SLICE_TITLES.get(slice_name, slice_name)}",
            "",
            "| variant | users | NDCG mean [95% CI] | Δ vs ref [95% CI] | p | "
            "Recall mean [95% CI] | Δ vs ref | p | s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for variant, grp in sub.groupby("variant", sort=False):
            n = grp.set_index("metric")
            nd, rc = n.loc["ndcg"], n.loc["recall"]

            def cell(r: pd.Series) -> str:
                return f"{r['mean']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]"

            def diff(r: pd.Series, with_ci: bool) -> str:
                if np.isnan(r["diff_vs_ref"]):
                    return "—"
                ci = f" [{r['diff_ci_low']:+.4f}, {r['diff_ci_high']:+.4f}]" if with_ci else ""
                return f"{r['diff_vs_ref']:+.4f}{ci}"

            def p(r: pd.Series) -> str:
                return "—" if np.isnan(r["p_value"]) else f"{r['p_value']:.2g}"

            lines.append(
                f"| {variant} | {int(nd['n_users'])} | {cell(nd)} | {diff(nd, True)} | {p(nd)} | "
                f"{cell(rc)} | {diff(rc, False)} | {p(rc)} | {nd['fit_seconds']:.1f} |"
            )
        lines.append("")
    return "\n".join(lines)


def plot_ablation(table: pd.DataFrame, path: Path | str, k: int, slices: Sequence[str]) -> Path:
    """Bar chart of NDCG@k with 95 % CI per variant, one panel per slice of ``slices`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nd = table[table["metric"] == "ndcg"]
    slices = [s for s in slices if (nd["slice"] == s).any()]
    fig, axes = plt.subplots(1, len(slices), figsize=(5 * len(slices), 4), squeeze=False)
    for ax, slice_name in zip(axes[0], slices, strict=True):
        sub = nd[nd["slice"] == slice_name]
        x = np.arange(len(sub))
        err = np.vstack([sub["mean"] - sub["ci_low"], sub["ci_high"] - sub["mean"]])
        ax.bar(x, sub["mean"], yerr=np.nan_to_num(err), capsize=4, color="#4c72b0")
        ax.set_xticks(x, sub["variant"], rotation=30, ha="right")
        ax.set_title(f"{slice_name} items")
        ax.set_ylabel(f"NDCG@{k} (mean, 95% CI)")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return out
