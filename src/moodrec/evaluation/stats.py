"""Uncertainty over users: bootstrap confidence intervals and paired tests between models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from moodrec.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd


def _boot_means(values: np.ndarray, n_boot: int, seed: int, chunk: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = values.size
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(m, n))
        out[start : start + m] = values[idx].mean(axis=1)
    return out


def bootstrap_ci(
    values: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean and percentile bootstrap CI of the mean over users.

    Parameters
    ----------
    values
        Per-user metric values (NaNs are dropped).
    n_boot
        Resamples; the draw is seeded, so the CI is reproducible.
    level
        Confidence level.

    Returns
    -------
    (mean, low, high)
        NaN-filled for an empty input; ``low == high == mean`` for a single value.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(v.mean())
    if v.size == 1:
        return mean, mean, mean
    means = _boot_means(v, n_boot, seed)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return mean, float(lo), float(hi)


@dataclass(frozen=True)
class PairedComparison:
    """``a`` minus ``b`` over the same users."""

    mean_diff: float
    ci_low: float
    ci_high: float
    p_bootstrap: float
    p_wilcoxon: float
    n_users: int


def paired_comparison(
    a: np.ndarray, b: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> PairedComparison:
    """Paired bootstrap CI of the mean difference and two-sided tests (bootstrap, Wilcoxon).

    ``p_bootstrap`` is twice the smaller share of resampled mean differences on either side
    of zero (capped at 1); ``p_wilcoxon`` is scipy's signed-rank test (``zsplit`` for zero
    differences; 1.0 when every difference is zero).

    Raises
    ------
    InputDataError
        When ``a`` and ``b`` differ in length.
    """
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.shape != y.shape:
        raise InputDataError(f"paired comparison: {x.shape} vs {y.shape} (same users needed)")
    keep = ~(np.isnan(x) | np.isnan(y))
    d = x[keep] - y[keep]
    if d.size == 0:
        nan = float("nan")
        return PairedComparison(nan, nan, nan, nan, nan, 0)
    mean, lo, hi = bootstrap_ci(d, n_boot=n_boot, seed=seed, level=level)
    if d.size > 1 and np.any(d != 0):
        means = _boot_means(d, n_boot, seed)
        p_boot = float(min(1.0, 2.0 * min((means <= 0).mean(), (means >= 0).mean())))
        from scipy import stats as sps  # ~1 s to import: only when a test is computed

        p_w = float(sps.wilcoxon(d, zero_method="zsplit").pvalue)
    else:
        p_boot, p_w = 1.0, 1.0
    return PairedComparison(mean, lo, hi, p_boot, p_w, int(d.size))


def summarise_models(
    per_user: dict[str, pd.DataFrame],
    metrics: list[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    reference: str | None = None,
) -> pd.DataFrame:
    """One row per model: ``<metric>`` mean, ``<metric>_ci_low`` / ``_ci_high`` (95 % bootstrap
    over users), and, against ``reference`` (same users), ``<metric>_diff`` and
    ``<metric>_p_wilcoxon`` of the first metric only for brevity.

    Parameters
    ----------
    per_user
        Model name → per-user metrics frame (``user`` column + metric columns).
    metrics
        Columns to summarise (missing ones are skipped).
    """
    import pandas as pd

    rows = []
    ref = per_user.get(reference) if reference else None
    for name, frame in per_user.items():
        row: dict[str, object] = {"model": name, "n_users": len(frame)}
        for m in metrics:
            if m not in frame.columns:
                continue
            mean, lo, hi = bootstrap_ci(frame[m].to_numpy(), n_boot=n_boot, seed=seed)
            row |= {m: mean, f"{m}_ci_low": lo, f"{m}_ci_high": hi}
        if ref is not None and name != reference and metrics and metrics[0] in frame.columns:
            m = metrics[0]
            paired = frame[["user", m]].merge(ref[["user", m]], on="user", suffixes=("", "_ref"))
            cmp = paired_comparison(
                paired[m].to_numpy(), paired[f"{m}_ref"].to_numpy(), n_boot=n_boot, seed=seed
            )
            row |= {
                f"{m}_diff_vs_{reference}": cmp.mean_diff,
                f"{m}_p_wilcoxon_vs_{reference}": cmp.p_wilcoxon,
            }
        rows.append(row)
    return pd.DataFrame(rows)
