"""The session stage as one pure function: split, fit every model, evaluate, report, save.

Writes (under the given layer folders):

* ``reports/session_results.{parquet,md}`` — every model's HR@K, MRR@K, mood error with
  95 % bootstrap CIs over held-out sessions, paired differences, sliding windows;
* ``reports/session_per_session.parquet`` — the per-session metrics behind the CIs;
* ``reports/session_windows.parquet`` — per time window and model;
* ``features/session_moods.parquet`` — every session's mood trajectory and state;
* ``models/session/mood/`` — the mood-aware model fitted on all sessions (for serving),
  with ``serving.json`` (session gap, mood labels, provenance);
* ``reports/mood_timeline_<user>.{html,png}`` — one listener's mood over time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from moodrec.session import create_session_model
from moodrec.session.base import SessionRecommender
from moodrec.session.config import SessionConfig
from moodrec.session.data import SessionData, SessionDataError
from moodrec.session.evaluate import (
    bootstrap_table,
    evaluate_sessions,
    paired_differences,
    results_markdown,
    sample_sessions,
    split_last_sessions,
    window_splits,
)
from moodrec.session.mood import plot_mood_timeline, session_trajectories, user_mood_series
from moodrec.storage import stage_outputs

logger = logging.getLogger(__name__)

SERVING_MODEL = "mood"
SERVING_JSON = "serving.json"


@dataclass(frozen=True)
class SessionStageResult:
    """Written files by dataset name, and the stage's summary."""

    outputs: dict[str, Path]
    report: dict[str, Any] = field(default_factory=dict)


def model_params(cfg: SessionConfig, name: str) -> dict[str, Any]:
    """Constructor keyword arguments of session model ``name`` from the stage config."""
    if name == "sr":
        return {"steps": cfg.sr_steps}
    if name in ("sknn", "vsknn"):
        return {"k": cfg.knn_neighbours, "sample": cfg.knn_sample}
    if name == "gru4rec":
        return {**cfg.sequence.model_dump(), "seed": cfg.seed}
    if name == "mood":
        b = cfg.blend
        return {
            "n_states": cfg.n_mood_states,
            "method": cfg.mood_method,
            "w_user_mood": b.user_mood,
            "w_user": b.user,
            "w_content": b.content,
            "w_artist": b.artist,
            "w_session": b.session,
            "mood_rerank": b.mood_rerank,
            "k": cfg.knn_neighbours,
            "sample": cfg.knn_sample,
            "long_term_model": cfg.long_term_model,
            "seed": cfg.seed,
        }
    return {}


def fit_models(
    train: SessionData, cfg: SessionConfig, names: tuple[str, ...]
) -> tuple[dict[str, SessionRecommender], dict[str, float]]:
    """Fit the named models on ``train``; returns the models and fit seconds by name."""
    models: dict[str, SessionRecommender] = {}
    seconds: dict[str, float] = {}
    for name in names:
        t0 = time.perf_counter()
        models[name] = create_session_model(name, **model_params(cfg, name)).fit(train)
        seconds[name] = round(time.perf_counter() - t0, 3)
    return models, seconds


def _table(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)


def mood_state_agreement(moods: pd.DataFrame, truth_sessions: pd.DataFrame) -> dict[str, Any]:
    """Share of sessions whose learned mood label equals the planted one (sandbox only).

    ``moods``: ``user`` (dataset id), ``index_in_user``, ``mood``; ``truth_sessions``:
    ``user_id`` (dataset id), ``session_index``, ``mood``.
    """
    t = truth_sessions.rename(columns={"user_id": "user", "session_index": "index_in_user"})
    merged = moods.merge(
        t[["user", "index_in_user", "mood"]], on=["user", "index_in_user"], suffixes=("", "_true")
    )
    merged = merged[merged["mood"].notna()]
    if merged.empty:
        return {"matched_sessions": 0}
    return {
        "matched_sessions": len(merged),
        "label_accuracy": round(float((merged["mood"] == merged["mood_true"]).mean()), 4),
    }


def run_session_stage(
    data: SessionData,
    cfg: SessionConfig,
    dirs: dict[str, Path],
    synthetic: bool,
    truth_sessions: pd.DataFrame | None = None,
    timeline_user: int | None = None,
) -> SessionStageResult:
    """Evaluate every configured session model and save the serving model.

    Parameters
    ----------
    data
        All sessions (ingest + linked features, or ids only).
    cfg
        Stage config.
    dirs
        Layer folders ``reports``, ``features``, ``models``.
    synthetic
        Whether the data are the sandbox world (said in every report's first line).
    truth_sessions
        The sandbox's planted sessions (to score the learned mood labels), or None.
    timeline_user
        User index whose mood timeline is plotted (default: the most active user).

    Returns
    -------
    SessionStageResult

    Raises
    ------
    SessionDataError
        If no session can be held out (every user has a single session).
    """
    t_start = time.perf_counter()
    ks = cfg.k_values
    split = split_last_sessions(data, cfg.test_sessions_per_user, cfg.min_session_length)
    if split.test.size == 0:
        raise SessionDataError(
            f"session stage: no user has a session of >= {cfg.min_session_length} plays after "
            "an earlier one; nothing to evaluate"
        )
    train = data.subset(split.train)
    eval_idx = sample_sessions(split.test, cfg.max_eval_sessions, cfg.seed)
    test = data.subset(eval_idx)
    models, fit_s = fit_models(train, cfg, cfg.models)
    per_session = evaluate_sessions(models, test, ks, cfg.max_positions)
    table = bootstrap_table(per_session, ks, cfg.bootstrap_rounds, cfg.seed)
    table["fit_s"] = table["model"].map(fit_s)
    diffs = pd.DataFrame()
    if "mood" in models:
        metrics = [f"HR@{k}" for k in ks] + [f"MRR@{k}" for k in ks] + ["mood_err@10"]
        baselines = [m for m in ("sknn", "vsknn", "gru4rec", "sr") if m in models]
        diffs = paired_differences(
            per_session, "mood", baselines, metrics, cfg.bootstrap_rounds, cfg.seed
        )

    windows = _evaluate_windows(data, cfg)

    # mood states and trajectories of all sessions, from the serving model
    # the serving model learns from every session, held-out ones included
    serving = None
    moods = session_trajectories(data)
    if SERVING_MODEL in cfg.models:
        serving = create_session_model(SERVING_MODEL, **model_params(cfg, SERVING_MODEL)).fit(data)
    states = getattr(serving, "states", None)
    if states is not None:
        moods = session_trajectories(data, states)
    moods.insert(2, "user", data.user_names[data.session_user])
    moods.insert(3, "index_in_user", moods.groupby("user_id").cumcount())
    agreement = (
        mood_state_agreement(moods, truth_sessions)
        if truth_sessions is not None and states is not None
        else {}
    )

    notes = _notes(data, cfg, split, eval_idx, synthetic, agreement)
    title = "Session recommenders" + (" (synthetic sandbox data)" if synthetic else "")
    md = results_markdown(table, ks, title, notes, diffs, windows)

    reports, feats = Path(dirs["reports"]), Path(dirs["features"])
    # all or none: the files are moved into place together when the block ends
    with stage_outputs(reports, feats, Path(dirs["models"]), label="session") as staging:
        outputs: dict[str, Path] = {
            "session_results": staging.write_parquet(
                _table(table), reports / "session_results.parquet"
            ),
            "session_results_md": staging.write_text(reports / "session_results.md", md),
            "session_per_session": staging.write_parquet(
                _table(per_session), reports / "session_per_session.parquet"
            ),
            "session_moods": staging.write_parquet(_table(moods), feats / "session_moods.parquet"),
        }
        if len(diffs):
            outputs["session_differences"] = staging.write_parquet(
                _table(diffs), reports / "session_differences.parquet"
            )
        if len(windows):
            outputs["session_windows"] = staging.write_parquet(
                _table(windows), reports / "session_windows.parquet"
            )
        if serving is not None:
            folder = Path(dirs["models"]) / "session" / SERVING_MODEL
            serving.save(staging.path(folder))
            meta = {
                "model": SERVING_MODEL,
                "session_gap_minutes": cfg.session_gap_minutes,
                "moods": list(states.labels) if states is not None else [],
                "synthetic": synthetic,
                "features": data.info.get("features"),
            }
            outputs["session_model"] = staging.write_json(folder / SERVING_JSON, meta)
            outputs["session_model_arrays"] = folder / "arrays.npz"
        if data.mood is not None:
            user = timeline_user
            if user is None:
                user = int(np.bincount(data.session_user, weights=data.session_length).argmax())
            name = str(data.user_names[user])
            series = user_mood_series(data, user)
            written = plot_mood_timeline(
                series,
                f"Mood of {name}" + (" (synthetic sandbox data)" if synthetic else ""),
                staging.path(reports / f"mood_timeline_{name}.html"),
                staging.path(reports / f"mood_timeline_{name}.png"),
            )
            outputs |= {f"mood_timeline_{k}": reports / v.name for k, v in written.items()}

    best = table.sort_values("HR@10", ascending=False).iloc[0]
    report: dict[str, Any] = {
        "synthetic": synthetic,
        "features": data.info,
        "n_sessions": data.n_sessions,
        "n_train_sessions": int(split.train.size),
        "n_test_sessions": int(split.test.size),
        "n_evaluated_sessions": int(eval_idx.size),
        "models": list(cfg.models),
        "fit_seconds": fit_s,
        "best_hr10": {"model": str(best["model"]), "HR@10": round(float(best["HR@10"]), 4)},
        "hr10": {r["model"]: round(float(r["HR@10"]), 4) for _, r in table.iterrows()},
        "mood_err10": {
            r["model"]: (
                round(float(r["mood_err@10"]), 4) if np.isfinite(r["mood_err@10"]) else None
            )
            for _, r in table.iterrows()
        },
        "mood_states": list(states.labels) if states is not None else [],
        "mood_state_agreement": agreement,
        "seconds": round(time.perf_counter() - t_start, 2),
    }
    logger.info("session stage: %s", report["hr10"])
    return SessionStageResult(outputs=outputs, report=report)


def _rounded(value: float) -> float | None:
    return round(float(value), 4) if np.isfinite(value) else None


def _evaluate_windows(data: SessionData, cfg: SessionConfig) -> pd.DataFrame:
    """HR/MRR/mood error per sliding time window for ``cfg.window_models``."""
    frames = []
    names = tuple(m for m in cfg.window_models if m in cfg.models)
    if not names:
        return pd.DataFrame()
    for w, split in enumerate(window_splits(data, cfg.window_quantiles, cfg.min_session_length)):
        test = data.subset(sample_sessions(split.test, cfg.max_window_sessions, cfg.seed + w))
        models, _ = fit_models(data.subset(split.train), cfg, names)
        per = evaluate_sessions(models, test, (10,), cfg.max_positions)
        agg = per.groupby("model", sort=False)[["HR@10", "MRR@10", "mood_err@10"]].mean()
        agg = agg.reset_index()
        agg.insert(0, "window", w + 1)
        agg.insert(2, "n_sessions", test.n_sessions)
        agg.insert(3, "train_sessions", int(split.train.size))
        frames.append(agg)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _notes(
    data: SessionData,
    cfg: SessionConfig,
    split: Any,
    eval_idx: np.ndarray,
    synthetic: bool,
    agreement: dict[str, Any],
) -> list[str]:
    notes = []
    if synthetic:
        notes.append("Data: the offline sandbox world (synthetic, planted mood dynamics).")
    if data.mood is None:
        notes.append(
            "No mood features for these tracks: every model runs on item ids alone; the "
            "mood-aware model has one mood state and no content kernel; mood error is n/a."
        )
    else:
        info = data.info
        notes.append(
            f"Mood features linked for {info.get('link_rate', 0):.1%} of tracks "
            f"({info.get('linked_by_mbid', 0)} by MBID, {info.get('linked_by_name', 0)} by name)."
        )
    notes.append(
        f"Held out: each user's last {cfg.test_sessions_per_user} session(s) with ≥ "
        f"{cfg.min_session_length} plays ({split.test.size} sessions); "
        f"{eval_idx.size} evaluated"
        + (
            f" (seeded sample, max_eval_sessions={cfg.max_eval_sessions})"
            if eval_idx.size < split.test.size
            else ""
        )
        + (f", first {cfg.max_positions} positions each" if cfg.max_positions else "")
        + "; next-track prediction at every prefix position."
    )
    notes.append(
        f"95 % CIs: percentile bootstrap over held-out sessions ({cfg.bootstrap_rounds} rounds). "
        "mood_err@10: mean valence×energy distance of the top-10 to the actual next track."
    )
    if agreement.get("label_accuracy") is not None:
        notes.append(
            f"Learned mood labels match the planted session moods for "
            f"{agreement['label_accuracy']:.1%} of {agreement['matched_sessions']} sessions."
        )
    return notes
