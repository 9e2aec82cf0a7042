"""The ablation's table (mean ± 95 % CI per variant and slice, paired tests against the
reference) and the RQ1 answer drawn from it."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from moodrec.errors import InputDataError
from moodrec.evaluation.stats import bootstrap_ci, paired_comparison
from moodrec.models.deep_config import AblationConfig

logger = logging.getLogger(__name__)


def family_label(cfg: AblationConfig, family: str) -> str:
    """Table name of a content-family variant, e.g. ``cb2cf:audio``."""
    return f"{cfg.family_model}:{family}"


def variant_names(cfg: AblationConfig) -> list[str]:
    """Every variant of the ablation in table order: references, families, content models."""
    return [
        *cfg.reference_models,
        *(family_label(cfg, f) for f in cfg.variants),
        *cfg.content_models,
    ]


def uses_reference_params(name: str, cfg: AblationConfig) -> bool:
    """Whether variant ``name`` builds on the tuned reference's parameters: the family
    variants of the ``cb2cf`` family model and the ``cb2cf`` content model (iALS + a
    content mapping). The others tune themselves, so they need not wait for the reference."""
    families = {family_label(cfg, f) for f in cfg.variants}
    if name in cfg.reference_models:
        return False
    return (name in families and cfg.family_model == "cb2cf") or name == "cb2cf"


def reference_name(cfg: AblationConfig) -> str:
    """The variant every paired test compares against (the tuned CF model)."""
    return cfg.reference_models[0]


def baseline_name(cfg: AblationConfig) -> str | None:
    """The content-free family variant (no groups: cold items get the mean mapped factor),
    against which each family's own contribution is tested; ``None`` when not configured."""
    for fam, groups in cfg.variants.items():
        if not groups:
            return family_label(cfg, fam)
    return None


def summarise(
    per_user: pd.DataFrame,
    reference: str,
    n_boot: int,
    seed: int,
    fit_seconds: dict[str, float] | None = None,
    baseline: str | None = None,
) -> pd.DataFrame:
    """The ablation table: one row per (variant, slice, metric).

    Parameters
    ----------
    per_user
        ``variant``, ``slice``, ``user``, ``ndcg``, ``recall`` rows.
    reference
        Variant the paired tests compare against (the tuned CF model).
    n_boot, seed
        Bootstrap resamples and seed.
    fit_seconds
        Fit time per variant, copied into the table.
    baseline
        A second variant to compare with (the content-free family model), giving
        ``diff_vs_base``, ``base_ci_low``, ``base_ci_high``, ``p_base`` (Wilcoxon).

    Returns
    -------
    DataFrame
        ``variant``, ``slice``, ``metric``, ``n_users``, ``mean``, ``ci_low``, ``ci_high``,
        ``diff_vs_ref``, ``diff_ci_low``, ``diff_ci_high``, ``p_value`` (paired Wilcoxon),
        ``p_bootstrap`` (paired bootstrap), ``fit_seconds``; CIs and tests from
        :mod:`moodrec.evaluation.stats`.
    """
    table = _summarise(per_user, reference, n_boot, seed, fit_seconds)
    if baseline is None or baseline not in set(per_user["variant"]):
        return table
    vs_base = _summarise(per_user, baseline, n_boot, seed, fit_seconds)
    extra = vs_base[["variant", "slice", "metric", "diff_vs_ref", "diff_ci_low", "diff_ci_high"]]
    extra = extra.assign(p_base=vs_base["p_value"]).rename(
        columns={
            "diff_vs_ref": "diff_vs_base",
            "diff_ci_low": "base_ci_low",
            "diff_ci_high": "base_ci_high",
        }
    )
    return table.merge(extra, on=["variant", "slice", "metric"], how="left")


def _summarise(
    per_user: pd.DataFrame,
    reference: str,
    n_boot: int,
    seed: int,
    fit_seconds: dict[str, float] | None,
) -> pd.DataFrame:
    rows = []
    for (variant, slice_name), grp in per_user.groupby(["variant", "slice"], sort=False):
        ref = per_user[(per_user["variant"] == reference) & (per_user["slice"] == slice_name)]
        for metric in ("ndcg", "recall"):
            vals = grp[metric].to_numpy()
            mean, lo, hi = bootstrap_ci(vals, n_boot=n_boot, seed=seed)
            row: dict[str, Any] = {
                "variant": variant,
                "slice": slice_name,
                "metric": metric,
                "n_users": int(vals.size),
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "diff_vs_ref": float("nan"),
                "diff_ci_low": float("nan"),
                "diff_ci_high": float("nan"),
                "p_value": float("nan"),
                "p_bootstrap": float("nan"),
                "fit_seconds": float((fit_seconds or {}).get(str(variant), float("nan"))),
            }
            if variant != reference and not ref.empty:
                paired = grp.merge(ref[["user", metric]], on="user", suffixes=("", "_ref"))
                cmp = paired_comparison(
                    paired[metric].to_numpy(),
                    paired[f"{metric}_ref"].to_numpy(),
                    n_boot=n_boot,
                    seed=seed,
                )
                row["diff_vs_ref"] = cmp.mean_diff
                row["diff_ci_low"], row["diff_ci_high"] = cmp.ci_low, cmp.ci_high
                row["p_value"], row["p_bootstrap"] = cmp.p_wilcoxon, cmp.p_bootstrap
            rows.append(row)
    return pd.DataFrame(rows)


def _cell(table: pd.DataFrame, variant: str, slice_name: str) -> pd.Series | None:
    hit = table[
        (table["variant"] == variant) & (table["slice"] == slice_name) & (table["metric"] == "ndcg")
    ]
    return None if hit.empty else hit.iloc[0]


def rq1_answer(table: pd.DataFrame, cfg: AblationConfig) -> dict[str, Any]:
    """The RQ1 verdict drawn from the table (NDCG): the best content model on the headline
    cold slice, how it compares with the reference on warm and cold items, and which families
    help on cold items (paired 95 % CI of the difference vs the reference above zero).

    Returns
    -------
    dict
        ``reference``, ``best`` (variant), ``cold`` and ``warm`` (mean, reference mean,
        difference and its CI), ``warm_verdict`` (``"above"``, ``"within"`` or ``"below"`` the
        reference: the paired CI of the difference above zero, spanning it, below it),
        ``families_helping`` / ``families_not_helping`` (family names: cold-slice paired CI
        vs the content-free family variant above zero, or vs the reference without one),
        ``sentence``.
    """
    reference = reference_name(cfg)
    content = [v for v in table["variant"].unique() if v not in cfg.reference_models]
    cold = {v: _cell(table, v, "cold") for v in content}
    cold = {v: c for v, c in cold.items() if c is not None}
    if not cold:
        return {"reference": reference, "best": None, "sentence": "No content model was fitted."}
    best = max(cold, key=lambda v: float(cold[v]["mean"]))
    bc, bw = cold[best], _cell(table, best, "warm")
    rc, rw = _cell(table, reference, "cold"), _cell(table, reference, "warm")

    def verdict(row: pd.Series | None) -> str:
        if row is None or np.isnan(row["diff_ci_low"]):
            return "n/a"
        if row["diff_ci_low"] > 0:
            return "above"
        if row["diff_ci_high"] < 0:
            return "below"
        return "within"

    # a family helps when it beats the content-free family model (same mapping, no content;
    # else the reference) on cold items: paired 95 % CI of the difference above zero
    base = baseline_name(cfg)
    low = "base_ci_low" if base is not None and "base_ci_low" in table.columns else "diff_ci_low"
    helping, not_helping = [], []
    for fam, groups in cfg.variants.items():
        if fam == "all" or not groups:
            continue
        c = cold.get(family_label(cfg, fam))
        if c is None:
            continue
        (helping if c[low] > 0 else not_helping).append(fam)
    against = f"`{base}`" if low == "base_ci_low" else f"`{reference}`"
    warm_verdict = verdict(bw)
    warm_words = {
        "above": "above it on warm items",
        "within": "within its confidence interval on warm items",
        "below": "below it on warm items",
        "n/a": "not comparable on warm items",
    }[warm_verdict]
    k = cfg.k
    sentence = (
        f"Content helps where collaborative filtering has nothing to go on: on cold items ranked "
        f"against the whole catalogue, `{best}` reaches NDCG@{k} {bc['mean']:.3f} against "
        f"{rc['mean'] if rc is not None else float('nan'):.3f} for tuned `{reference}` "
        f"(Δ {bc['diff_vs_ref']:+.3f}, 95 % CI [{bc['diff_ci_low']:+.3f}, "
        f"{bc['diff_ci_high']:+.3f}]), while staying {warm_words} "
        f"({bw['mean'] if bw is not None else float('nan'):.3f} vs "
        f"{rw['mean'] if rw is not None else float('nan'):.3f}); "
        f"families that help on cold items alone (paired CI vs {against} above 0): "
        f"{', '.join(helping) or 'none'}"
        + (f"; not significantly: {', '.join(not_helping)}." if not_helping else ".")
    )
    return {
        "reference": reference,
        "best": best,
        "cold": {
            "mean": float(bc["mean"]),
            "reference_mean": float(rc["mean"]) if rc is not None else float("nan"),
            "diff": float(bc["diff_vs_ref"]),
            "diff_ci": [float(bc["diff_ci_low"]), float(bc["diff_ci_high"])],
        },
        "warm": None
        if bw is None
        else {
            "mean": float(bw["mean"]),
            "reference_mean": float(rw["mean"]) if rw is not None else float("nan"),
            "diff": float(bw["diff_vs_ref"]),
            "diff_ci": [float(bw["diff_ci_low"]), float(bw["diff_ci_high"])],
        },
        "warm_verdict": warm_verdict,
        "families_helping": helping,
        "families_not_helping": not_helping,
        "sentence": sentence,
    }


def _seed_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """Mean, Student-t CI over seeds and the one-sample t-test p-value against 0.

    One value gives a zero-width interval and p = NaN; all values equal give p = 1 at 0 and 0
    elsewhere (the t statistic is undefined for a zero spread).
    """
    from scipy import stats as sps

    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (float("nan"),) * 4
    mean = float(v.mean())
    if v.size == 1:
        return mean, mean, mean, float("nan")
    sd = float(v.std(ddof=1))
    if sd == 0.0:
        return mean, mean, mean, 1.0 if mean == 0.0 else 0.0
    half = float(sps.t.ppf(0.5 + level / 2, v.size - 1)) * sd / np.sqrt(v.size)
    p = float(sps.ttest_1samp(v, 0.0).pvalue)
    return mean, mean - half, mean + half, p


def pool_seeds(tables: list[pd.DataFrame], level: float = 0.95) -> pd.DataFrame:
    """One ablation table from several seeds' tables (each :func:`summarise`'s).

    Each seed is a fresh world and split, so the unit of the pooled statistics is the seed:
    ``mean`` is the mean over seeds of the per-seed means and ``ci_low``/``ci_high`` its
    Student-t interval; ``diff_vs_ref`` (and ``diff_vs_base`` where present) is the mean over
    seeds of the per-seed paired differences, with a t interval and a one-sample t-test
    ``p_value`` (``p_base``) — a paired test over seeds. ``n_users`` is the number of seeds,
    ``fit_seconds`` the mean. The columns are :func:`summarise`'s, so the table feeds
    :func:`rq1_answer` and the report unchanged.
    """
    if not tables:
        raise InputDataError("pool_seeds: no seed tables to pool")
    stacked = pd.concat(tables, ignore_index=True)
    has_base = "diff_vs_base" in stacked.columns
    rows = []
    for (variant, slice_name, metric), grp in stacked.groupby(
        ["variant", "slice", "metric"], sort=False
    ):
        mean, lo, hi, _ = _seed_interval(grp["mean"].to_numpy(), level)
        diff, dlo, dhi, p = _seed_interval(grp["diff_vs_ref"].to_numpy(), level)
        row: dict[str, Any] = {
            "variant": variant,
            "slice": slice_name,
            "metric": metric,
            "n_users": len(grp),
            "mean": mean,
            "ci_low": lo,
            "ci_high": hi,
            "diff_vs_ref": diff,
            "diff_ci_low": dlo,
            "diff_ci_high": dhi,
            "p_value": p,
            "p_bootstrap": float("nan"),
            "fit_seconds": float(grp["fit_seconds"].mean()),
        }
        if has_base:
            bd, blo, bhi, bp = _seed_interval(grp["diff_vs_base"].to_numpy(), level)
            row |= {"diff_vs_base": bd, "base_ci_low": blo, "base_ci_high": bhi, "p_base": bp}
        rows.append(row)
    return pd.DataFrame(rows)
