"""Session-rec style evaluation: next-track prediction at every prefix of held-out sessions.

* Split: each user's last ``n`` sessions (by time, at least ``min_len`` plays) are held out;
  every other session trains. Sliding windows: for each time quantile ``q``, sessions that
  start before the cut train and the sessions of the following slice are tested.
* Metrics per held-out session, averaged over its prefix positions: ``HR@K`` (the actual next
  track is in the top ``K``), ``MRR@K`` (1 / its rank, 0 beyond ``K``), and ``mood_err@10`` —
  the mean Euclidean distance in valence × energy between the top-10 recommended tracks and
  the actual next track (plays of tracks without features are skipped).
* 95 % CIs: percentile bootstrap over held-out sessions; paired differences between two
  models resample sessions jointly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from moodrec.evaluation.stats import bootstrap_ci
from moodrec.session.base import SessionRecommender
from moodrec.session.data import SessionData

logger = logging.getLogger(__name__)

MOOD_ERROR_K = 10


@dataclass(frozen=True)
class Split:
    """Indices into a :class:`SessionData`: training and held-out sessions."""

    train: np.ndarray
    test: np.ndarray


def split_last_sessions(data: SessionData, n_test: int = 1, min_len: int = 2) -> Split:
    """Hold out each user's last ``n_test`` sessions with at least ``min_len`` plays.

    A user keeps at least one training session (users with a single session are training
    only). Sessions are in user, time order in ``data``, so "last" is by time.
    """
    users = data.session_user
    long_enough = data.session_length >= min_len
    test = np.zeros(data.n_sessions, dtype=bool)
    # rank of each long-enough session from the end of its user's history
    order = np.arange(data.n_sessions)[::-1]
    seen: dict[int, int] = {}
    n_sessions_user = np.bincount(users, minlength=data.n_users)
    for s in order:
        if not long_enough[s]:
            continue
        u = int(users[s])
        c = seen.get(u, 0)
        if c < n_test and n_sessions_user[u] - c > 1:
            test[s] = True
            seen[u] = c + 1
    return Split(train=np.flatnonzero(~test), test=np.flatnonzero(test))


def window_splits(data: SessionData, quantiles: tuple[float, ...], min_len: int = 2) -> list[Split]:
    """Sliding time windows: train before each cut, test the sessions up to the next cut."""
    if not quantiles:
        return []
    start = data.session_start
    cuts = [float(np.quantile(start, q)) for q in quantiles]
    ends = [*cuts[1:], float(start.max()) + 1.0]
    out = []
    for lo, hi in zip(cuts, ends, strict=True):
        train = np.flatnonzero(start < lo)
        test = np.flatnonzero((start >= lo) & (start < hi) & (data.session_length >= min_len))
        if train.size and test.size:
            out.append(Split(train=train, test=test))
    return out


def sample_sessions(idx: np.ndarray, max_n: int, seed: int) -> np.ndarray:
    """At most ``max_n`` of ``idx`` (seeded, order kept); 0 = all."""
    if max_n <= 0 or idx.size <= max_n:
        return idx
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(idx, size=max_n, replace=False))


def evaluate_sessions(
    models: dict[str, SessionRecommender],
    test: SessionData,
    ks: tuple[int, ...] = (5, 10, 20),
    max_positions: int = 0,
) -> pd.DataFrame:
    """Per (model, held-out session) metrics, averaged over the session's prefix positions.

    Parameters
    ----------
    models
        Fitted models by name.
    test
        Held-out sessions (length ≥ 2).
    ks
        Cut-offs.
    max_positions
        Predict at most this many next plays per session (the first ones); 0 = all.
        Mood-aware models use the mood they infer (no override).

    Returns
    -------
    pd.DataFrame
        ``model``, ``session``, ``user_id``, ``n_predictions``, ``HR@K``, ``MRR@K`` per K,
        ``mood_err@10`` (NaN without features), ``ms_per_call``.
    """
    kmax = max(max(ks), MOOD_ERROR_K)
    ve = test.mood.ve if test.mood is not None else None
    rows: list[dict[str, Any]] = []
    for name, model in models.items():
        t0 = time.perf_counter()
        n_calls = 0
        for s in range(test.n_sessions):
            seq = test.session(s)
            user = int(test.session_user[s])
            last = seq.size - 1 if max_positions <= 0 else min(seq.size - 1, max_positions)
            hits = {k: 0.0 for k in ks}
            rr = {k: 0.0 for k in ks}
            mood_errs: list[float] = []
            for i in range(1, last + 1):
                rec, _ = model.recommend_next(seq[:i], user=user, k=kmax)
                n_calls += 1
                target = seq[i]
                pos = np.flatnonzero(rec == target)
                rank = int(pos[0]) + 1 if pos.size else 0
                for k in ks:
                    if 0 < rank <= k:
                        hits[k] += 1.0
                        rr[k] += 1.0 / rank
                if ve is not None and not np.isnan(ve[target]).any():
                    top = rec[:MOOD_ERROR_K]
                    top = top[top >= 0]
                    d = np.sqrt(((ve[top] - ve[target]) ** 2).sum(axis=1))
                    d = d[~np.isnan(d)]
                    if d.size:
                        mood_errs.append(float(d.mean()))
            row: dict[str, Any] = {
                "model": name,
                "session": s,
                "user_id": user,
                "n_predictions": last,
            }
            for k in ks:
                row[f"HR@{k}"] = hits[k] / last
                row[f"MRR@{k}"] = rr[k] / last
            row["mood_err@10"] = float(np.mean(mood_errs)) if mood_errs else np.nan
            rows.append(row)
        elapsed = time.perf_counter() - t0
        for row in rows[-test.n_sessions :]:
            row["ms_per_call"] = 1000.0 * elapsed / max(n_calls, 1)
    return pd.DataFrame(rows)


def metric_columns(ks: tuple[int, ...]) -> list[str]:
    """Metric column names in report order."""
    return [*(f"HR@{k}" for k in ks), *(f"MRR@{k}" for k in ks), "mood_err@10"]


def bootstrap_table(
    per_session: pd.DataFrame,
    ks: tuple[int, ...],
    rounds: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean and 95 % percentile-bootstrap CI of each metric per model, over sessions.

    CIs come from :func:`moodrec.evaluation.stats.bootstrap_ci` (one seed for every model,
    so the resamples coincide when models cover the same sessions); NaN values (sessions
    without mood features) are left out of that metric.

    Returns
    -------
    pd.DataFrame
        One row per model: ``model``, ``n_sessions``, ``n_predictions``, and for each
        metric ``<metric>``, ``<metric>_lo``, ``<metric>_hi``.
    """
    metrics = metric_columns(ks)
    sessions = np.sort(per_session["session"].unique())
    rows = []
    for name, g in per_session.groupby("model", sort=False):
        g = g.set_index("session").reindex(sessions)
        row: dict[str, Any] = {
            "model": name,
            "n_sessions": int(g["n_predictions"].notna().sum()),
            "n_predictions": int(g["n_predictions"].sum()),
        }
        for m in metrics:
            v = g[m].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if v.size:
                row[m], row[f"{m}_lo"], row[f"{m}_hi"] = bootstrap_ci(v, n_boot=rounds, seed=seed)
            else:
                row[m] = row[f"{m}_lo"] = row[f"{m}_hi"] = np.nan
        row["ms_per_call"] = float(g["ms_per_call"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _ci(values: np.ndarray, draws: np.ndarray) -> tuple[float, float]:
    if not np.isfinite(values).any():
        return np.nan, np.nan
    sample = values[draws]
    with np.errstate(all="ignore"):
        means = np.nanmean(sample, axis=1)
    means = means[np.isfinite(means)]
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def paired_differences(
    per_session: pd.DataFrame,
    model: str,
    baselines: list[str],
    metrics: list[str],
    rounds: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """``model`` minus each baseline, per metric: mean difference and 95 % bootstrap CI.

    Returns
    -------
    pd.DataFrame
        ``model``, ``baseline``, ``metric``, ``diff``, ``lo``, ``hi``.
    """
    wide = per_session.pivot(index="session", columns="model")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(wide), size=(rounds, len(wide)))
    rows = []
    present = set(per_session["model"])
    for base in baselines:
        if base not in present or model not in present:
            continue
        for m in metrics:
            d = (wide[(m, model)] - wide[(m, base)]).to_numpy(dtype=float)
            if not np.isfinite(d).any():
                continue
            lo, hi = _ci(d, draws)
            rows.append(
                {
                    "model": model,
                    "baseline": base,
                    "metric": m,
                    "diff": float(np.nanmean(d)),
                    "lo": lo,
                    "hi": hi,
                }
            )
    return pd.DataFrame(rows, columns=["model", "baseline", "metric", "diff", "lo", "hi"])


def results_markdown(
    table: pd.DataFrame,
    ks: tuple[int, ...],
    title: str,
    notes: list[str],
    diffs: pd.DataFrame | None = None,
    windows: pd.DataFrame | None = None,
) -> str:
    """The results table (mean [95 % CI]) as Markdown, with notes, differences and windows."""
    metrics = [m for m in metric_columns(ks) if m in table.columns]
    lines = [f"# {title}", "", *[f"- {n}" for n in notes], ""]
    header = ["model", "sessions", "predictions", *metrics, "ms/call"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in table.iterrows():
        cells = [str(r["model"]), str(r["n_sessions"]), str(r["n_predictions"])]
        for m in metrics:
            v = r[m]
            cells.append(
                "n/a" if not np.isfinite(v) else f"{v:.3f} [{r[m + '_lo']:.3f}, {r[m + '_hi']:.3f}]"
            )
        cells.append(f"{r['ms_per_call']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    if diffs is not None and len(diffs):
        lines += ["", "Paired differences (model − baseline, 95 % bootstrap CI over sessions):", ""]
        lines += ["| model | baseline | metric | diff | 95 % CI |", "|---|---|---|---|---|"]
        for _, r in diffs.iterrows():
            lines.append(
                f"| {r['model']} | {r['baseline']} | {r['metric']} | {r['diff']:+.4f} | "
                f"[{r['lo']:+.4f}, {r['hi']:+.4f}] |"
            )
    if windows is not None and len(windows):
        lines += ["", "Sliding time windows (HR@10 / MRR@10 per window):", ""]
        cols = ["window", "model", "n_sessions", "HR@10", "MRR@10", "mood_err@10"]
        cols = [c for c in cols if c in windows.columns]
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for _, r in windows.iterrows():
            cells = [f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
