"""Planted-mood recovery through the open path (AcousticBrainz dumps) vs the Spotify-shaped one.

``python -m benchmarks.bench_open_moods`` (about 2-4 minutes on a shared 2-CPU machine):

1. **Fit** the ``sandbox_fit`` mood mapping (:func:`fit_mood_mapping`) on the planted truth
   of sandbox demo worlds of seeds :data:`FIT_SEEDS`: every dump record whose MBID is a
   truth track, against that track's planted valence and energy.
2. **Held-out** seeds :data:`HELD_OUT_SEEDS`: the world's log is ingested, enriched with the
   ``acousticbrainz_dump`` provider alone (reading the world's ``.tar.zst`` dumps, keeping
   the catalogue's MBIDs), and the session stage's mood states are learned from
   (a) the planted Spotify-shaped truth features (``features_source: sandbox``, the 67.9 %
   of ``benchmarks/results/session.md`` at seed 42) and (b) the enrich ``track_features``
   (``features_source: enrich``) through each named mapping. Agreement = share of
   sessions whose learned mood label equals the planted one, computed exactly as the
   session stage does (the serving model's states are :func:`fit_mood_states` of the
   sessions' mean valence × energy), over the sessions that got a label and over all.

3. **Open model** (:mod:`moodrec.providers.open_mood`, ``session.enrich_mood: open_fit``):
   fitted on the fit seeds' tracks from everything the open services answer for them (the
   AcousticBrainz record, Last.fm track/artist tags with mood words, MusicBrainz tags,
   Deezer BPM/gain), refitted here and compared with the shipped weights; on the held-out
   seeds the same agreement at three coverages (``open_mood_min_evidence``), and once with
   precision-weighted session means (a variant of the labelling rule; it leaves the
   Spotify-shaped rows unchanged, their weights being equal). The open services' answers are
   read from the same :func:`~moodrec.sandbox.servers.open_world.open_world` view the fake
   services serve (what the providers parse from their bodies, with Last.fm's ``min_count``
   / ``max_tags`` cut); asking them over HTTP at their published rates would take hours per
   demo world (MusicBrainz 1 request/s), and the HTTP path itself is run end to end on the
   tiny world by ``tests/flows/test_open_profile.py``.

Writes ``benchmarks/results/open_moods.json`` and ``open_moods.md`` atomically.
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec.config.base import Secrets
from moodrec.enrich.clients import build_providers
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.outputs import session_features_from_enrich
from moodrec.enrich.stage import run_enrichment
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.lastfm1k import ingest_lastfm1k
from moodrec.providers.acousticbrainz_mood import (
    MAPPINGS,
    MOOD_INPUTS,
    fit_mood_mapping,
    mood_coordinates,
)
from moodrec.providers.acousticbrainz_scan import scan_dump
from moodrec.providers.config import LastfmTagsConfig
from moodrec.providers.open_mood import (
    OpenMoodModel,
    fit_open_mood_model,
    open_mood_inputs,
    shipped_model,
)
from moodrec.sandbox.config import SandboxConfig
from moodrec.sandbox.servers.index import WorldIndex
from moodrec.sandbox.servers.open_world import open_world
from moodrec.sandbox.world import generate_world
from moodrec.session.config import SessionConfig
from moodrec.session.data import SessionData, load_session_data, read_truth_features
from moodrec.session.mood import MoodStates, fit_mood_states, session_trajectories
from moodrec.session.stage import mood_state_agreement
from moodrec.storage import write_json_atomic, write_text_atomic

logger = logging.getLogger(__name__)
RESULTS = Path(__file__).parent / "results"
FIT_SEEDS = (1, 2, 3)
HELD_OUT_SEEDS = (42, 7, 11)
PROFILE = "demo"
EVIDENCE = ("acousticbrainz", "mood_tags", "any")


def _world(seed: int, root: Path) -> Path:
    out = root / f"{PROFILE}-seed{seed}"
    generate_world(SandboxConfig(profile=PROFILE, seed=seed), out)
    return out


def fit_records(world: Path) -> pd.DataFrame:
    """The world's dump records joined to their truth track's valence and energy."""
    truth = pd.read_parquet(
        world / "truth/tracks.parquet", columns=["track_mbid", "valence", "energy"]
    )
    table = scan_dump([world / "acousticbrainz"], truth["track_mbid"].dropna()).table
    return table.merge(truth, left_on="mbid", right_on="track_mbid")


def open_tables(world: Path) -> dict[str, pd.DataFrame]:
    """What the open providers would write for the world's tracks (world ``track_id``s).

    ``tracks`` (+ ``valence, energy`` truth), ``track_moods`` (the dump records of the
    tracks' MBIDs), ``track_tags`` / ``artist_tags`` (MusicBrainz genres and tags, Last.fm top
    tags of known items with the provider's ``min_count`` / ``max_tags`` cut) and
    ``track_audio`` (Deezer BPM, 0 → none, and gain), read from the fake services' view.
    """
    truth = pd.read_parquet(world / "truth/tracks.parquet")
    mbids = truth["track_mbid"].replace("", np.nan).dropna()
    ab = scan_dump([world / "acousticbrainz"], mbids).table
    moods = truth[["track_id", "track_mbid"]].merge(ab, left_on="track_mbid", right_on="mbid")
    w = open_world(WorldIndex.from_truth(world / "truth"))
    lf = LastfmTagsConfig()

    def lastfm(tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [g for g in tags if g["count"] >= lf.min_count][: lf.max_tags]

    tt: list[tuple[Any, ...]] = []
    at: list[tuple[Any, ...]] = []
    for tid, mbid in w.mbid_of_track.items():
        rec = w.recordings[mbid]
        tt += [(tid, "musicbrainz", g["name"], g["count"]) for g in rec["genres"] + rec["tags"]]
        if rec["lastfm_known"]:
            tt += [(tid, "lastfm_tags", g["name"], g["count"]) for g in lastfm(rec["lastfm_tags"])]
    for aid, mbid in w.artist_mbid_of.items():
        a = w.artists[mbid]
        at += [(aid, "musicbrainz", g["name"], g["count"]) for g in a["mb_genres"] + a["mb_tags"]]
        if a["lastfm_known"]:
            at += [(aid, "lastfm_tags", g["name"], g["count"]) for g in lastfm(a["lastfm_tags"])]
    audio = [
        (d["track"]["track_id"], d["bpm"] or None, d["gain"]) for d in w.deezer_tracks.values()
    ]
    return {
        "tracks": truth,
        "track_moods": moods,
        "track_tags": pd.DataFrame(tt, columns=["track_id", "provider", "tag", "count"]),
        "artist_tags": pd.DataFrame(at, columns=["artist_id", "provider", "tag", "count"]),
        "track_audio": pd.DataFrame(audio, columns=["track_id", "bpm", "gain"]),
    }


def world_open_inputs(world: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(truth tracks, open_mood_inputs rows)`` of a world."""
    t = open_tables(world)
    x = open_mood_inputs(
        t["tracks"][["track_id", "artist_id"]],
        t["track_moods"],
        t["track_tags"],
        t["artist_tags"],
        t["track_audio"],
    )
    return t["tracks"], x


def evidence_group(x: pd.DataFrame) -> np.ndarray:
    """``acousticbrainz`` / ``mood_tags`` / ``deezer`` (the strongest evidence of each row)."""
    return np.where(
        x["has_ab"], "acousticbrainz", np.where(x["has_mood_tags"] > 0, "mood_tags", "deezer")
    )


def keep_evidence(x: pd.DataFrame, min_evidence: str) -> pd.DataFrame:
    """Rows allowed by ``session.open_mood_min_evidence`` (as the session stage keeps them)."""
    if min_evidence == "acousticbrainz":
        return x[x["has_ab"]]
    if min_evidence == "mood_tags":
        return x[x["has_ab"] | (x["has_mood_tags"] > 0)]
    return x


def weighted_trajectories(data: SessionData, weight: SessionData | None) -> pd.DataFrame:
    """:func:`session_trajectories` with each session's means weighted per play.

    ``weight``: the same sessions with each item's weight as its valence (None = 1 each).
    """
    traj = session_trajectories(data)
    if data.mood is None:
        return traj
    ve = data.mood.ve[data.items]
    known = ~np.isnan(ve).any(axis=1)
    w = np.ones(known.size) if weight is None else np.nan_to_num(weight.mood.ve[weight.items, 0])
    seg = np.repeat(np.arange(data.n_sessions), data.session_length)
    ww = np.where(known, w, 0.0)
    total = np.bincount(seg, weights=ww, minlength=data.n_sessions)
    for j, axis in enumerate(("valence", "energy")):
        s1 = np.bincount(seg, weights=ww * np.nan_to_num(ve[:, j]), minlength=data.n_sessions)
        traj[f"{axis}_mean"] = np.divide(
            s1, total, out=np.full(data.n_sessions, np.nan), where=total > 0
        )
    return traj


def planted_agreement(
    data: SessionData,
    truth_sessions: pd.DataFrame,
    cfg: SessionConfig,
    weight: SessionData | None = None,
) -> dict[str, Any]:
    """The session stage's mood-label agreement (states as the serving model learns them).

    ``weight``: per-play weights of the session means (the precision-weighted variant).
    """
    if weight is None:
        states = fit_mood_states(
            session_trajectories(data), cfg.n_mood_states, cfg.mood_method, cfg.seed
        )
        moods = session_trajectories(data, states)
    else:
        traj = weighted_trajectories(data, weight)
        states = fit_mood_states(traj, cfg.n_mood_states, cfg.mood_method, cfg.seed)
        moods = _label(traj, states)
    moods.insert(2, "user", data.user_names[data.session_user])
    moods.insert(3, "index_in_user", moods.groupby("user_id").cumcount())
    out = mood_state_agreement(moods, truth_sessions)
    n_all = len(truth_sessions)
    correct = round(out.get("label_accuracy", 0.0) * out.get("matched_sessions", 0))
    out["sessions"] = n_all
    out["accuracy_all_sessions"] = round(correct / n_all, 4) if n_all else None
    out["states"] = {
        lab: [round(float(v), 3) for v in c]
        for lab, c in zip(states.labels, states.centres, strict=True)
    }
    return out


def _label(traj: pd.DataFrame, states: MoodStates) -> pd.DataFrame:
    st = states.assign(traj[["valence_mean", "energy_mean"]].to_numpy())
    out = traj.copy()
    out["state"] = st
    out["mood"] = np.where(st >= 0, np.asarray(states.labels, dtype=object)[st], None)
    return out


def _keyed(truth: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Truth key columns (as :func:`read_truth_features` links them) + ``values`` by track_id."""
    keys = truth[["track_id", "track_mbid", "artist_name", "name", "alt_name"]]
    return keys.merge(values, on="track_id").drop(columns=["track_id"])


def open_model_agreement(
    world: Path,
    interim: Path,
    truth_sessions: pd.DataFrame,
    cfg: SessionConfig,
    model: OpenMoodModel,
    mse: dict[str, float],
) -> dict[str, Any]:
    """Agreement through the open model at each coverage, the truth at the widest coverage,
    and the precision-weighted variant; per-track fidelity by evidence group."""
    truth, x = world_open_inputs(world)
    out: dict[str, Any] = {}
    usable = x[x["usable"]]
    pred = model.predict(usable).assign(group=evidence_group(usable))
    for ev in EVIDENCE:
        kept = pred[pred["track_id"].isin(keep_evidence(usable, ev)["track_id"])]
        data = load_session_data(interim, _keyed(truth, kept[["track_id", "valence", "energy"]]))
        out[f"open_fit_{ev}"] = {
            "tracks_with_mood": len(kept),
            "plays_known_share": round(float(data.mood.known[data.items].mean()), 4),
            **planted_agreement(data, truth_sessions, cfg),
        }
    # the truth on the same (widest) coverage: the open path's ceiling there
    cover = truth[truth["track_id"].isin(pred["track_id"])][["track_id", "valence", "energy"]]
    data = load_session_data(interim, _keyed(truth, cover))
    out["spotify_shaped_truth_open_covered"] = {
        "plays_known_share": round(float(data.mood.known[data.items].mean()), 4),
        **planted_agreement(data, truth_sessions, cfg),
    }
    # precision weights 1 / residual MSE of each evidence group (fit seeds), AB = 1
    w = pred["group"].map(lambda g: mse["acousticbrainz"] / mse[g])
    data = load_session_data(interim, _keyed(truth, pred[["track_id", "valence", "energy"]]))
    wdata = load_session_data(
        interim, _keyed(truth, pred[["track_id"]].assign(valence=w, energy=w))
    )
    out["open_fit_any_weighted"] = {
        "weights": {g: round(mse["acousticbrainz"] / m, 3) for g, m in mse.items()},
        "plays_known_share": round(float(data.mood.known[data.items].mean()), 4),
        **planted_agreement(data, truth_sessions, cfg, wdata),
    }
    joined = pred.merge(
        truth[["track_id", "valence", "energy"]], on="track_id", suffixes=("", "_t")
    )
    out["fidelity"] = {g: _fidelity(d) for g, d in joined.groupby("group")} | {
        "all": _fidelity(joined)
    }
    return out


def _fidelity(d: pd.DataFrame) -> dict[str, Any]:
    return {"tracks": len(d)} | {
        ax: {
            "r": round(float(np.corrcoef(d[ax], d[f"{ax}_t"])[0, 1]), 4),
            "mae": round(float((d[ax] - d[f"{ax}_t"]).abs().mean()), 4),
        }
        for ax in ("valence", "energy")
    }


def group_mse(model: OpenMoodModel, x: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Mean squared error (both axes) of ``model`` per evidence group on the fit rows."""
    usable = x[x["usable"]]
    pred = model.predict(usable).assign(group=evidence_group(usable))
    y = truth.loc[usable.index, ["valence", "energy"]].to_numpy()
    err = ((pred[["valence", "energy"]].to_numpy() - y) ** 2).mean(axis=1)
    return {g: round(float(err[pred["group"] == g].mean()), 5) for g in pred["group"].unique()}


def held_out(
    seed: int, root: Path, cfg: SessionConfig, model: OpenMoodModel, mse: dict[str, float]
) -> dict[str, Any]:
    t0 = time.perf_counter()
    world = _world(seed, root)
    interim = root / f"interim-{seed}"
    ingest_lastfm1k(
        world / "userid-timestamp-artid-artname-traid-traname.tsv",
        interim,
        IngestConfig(),
        world / "userid-profile.tsv",
    )
    truth_sessions = pd.read_parquet(world / "truth/sessions.parquet")
    spotify_shaped = load_session_data(interim, read_truth_features(world / "truth/tracks.parquet"))
    result: dict[str, Any] = {
        "seed": seed,
        "spotify_shaped_truth": {
            "link_rate": spotify_shaped.info.get("link_rate"),
            **planted_agreement(spotify_shaped, truth_sessions, cfg),
        },
    }
    # the Spotify-shaped truth on the tracks AcousticBrainz covers only: the open path's
    # ceiling at its coverage (what is lost to coverage vs to classifier noise)
    truth = read_truth_features(world / "truth/tracks.parquet")
    covered = scan_dump([world / "acousticbrainz"], truth["track_mbid"].dropna())
    covered_data = load_session_data(
        interim, truth[truth["track_mbid"].isin(covered.table["mbid"])]
    )
    result["spotify_shaped_truth_ab_covered"] = {
        "plays_known_share": round(float(covered_data.mood.known[covered_data.items].mean()), 4),
        **planted_agreement(covered_data, truth_sessions, cfg),
    }
    events = pd.read_parquet(interim / "events.parquet", columns=["track_id"])
    for name in MAPPINGS:
        ecfg = EnrichConfig(
            spotify=None,
            genius=None,
            lrclib=None,
            features_order=("acousticbrainz_dump",),
            acousticbrainz_dump={"paths": [str(world / "acousticbrainz")], "mood_mapping": name},
            cache={"enabled": False},
        )
        t1 = time.perf_counter()
        enriched = run_enrichment(
            interim / "tracks.parquet",
            root / f"enrich-{seed}-{name}",
            ecfg,
            build_providers(ecfg, Secrets()),
        )
        enrich_s = time.perf_counter() - t1
        feats = session_features_from_enrich(
            interim / "tracks.parquet", enriched.outputs["track_features"]
        )
        data = load_session_data(interim, feats)
        known = data.mood.known if data.mood is not None else np.zeros(data.n_items, bool)
        tf = pd.read_parquet(enriched.outputs["track_features"], columns=["track_id"])
        result[f"acousticbrainz_{name}"] = {
            "enrich_s": round(enrich_s, 2),
            "tracks_with_mood": len(tf),
            "plays_with_mood_share": round(
                float(events["track_id"].isin(tf["track_id"]).mean()), 4
            ),
            "link_rate": data.info.get("link_rate"),
            "plays_known_share": round(float(known[data.items].mean()), 4),
            **planted_agreement(data, truth_sessions, cfg),
        }
    result |= open_model_agreement(world, interim, truth_sessions, cfg, model, mse)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def track_fidelity(records: pd.DataFrame) -> dict[str, Any]:
    """Per-track correlation and mean absolute error of each mapping vs the truth."""
    y = records[["valence", "energy"]].to_numpy(dtype=float)
    out = {}
    for name, m in MAPPINGS.items():
        p = mood_coordinates(records, m)
        ok = ~np.isnan(p).any(axis=1)
        out[name] = {
            ax: {
                "r": round(float(np.corrcoef(p[ok, j], y[ok, j])[0, 1]), 4),
                "mae": round(float(np.abs(p[ok, j] - y[ok, j]).mean()), 4),
            }
            for j, ax in enumerate(("valence", "energy"))
        }
    return out


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    load_before = round(os.getloadavg()[0], 2)
    t0 = time.perf_counter()
    cfg = SessionConfig()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train = pd.concat([fit_records(_world(s, root)) for s in FIT_SEEDS], ignore_index=True)
        fitted = fit_mood_mapping(train, train[["valence", "energy"]].to_numpy(), "sandbox_fit")
        shipped = MAPPINGS["sandbox_fit"]
        # the open model: every track of the fit worlds with its open evidence
        parts = [world_open_inputs(root / f"{PROFILE}-seed{s}") for s in FIT_SEEDS]
        ox = pd.concat([x for _, x in parts], ignore_index=True)
        oy = pd.concat(
            [t.set_index("track_id").loc[x["track_id"], ["valence", "energy"]] for t, x in parts],
            ignore_index=True,
        )
        open_fit = fit_open_mood_model(ox, oy.to_numpy())
        open_shipped = shipped_model()
        mse = group_mse(open_shipped, ox, oy)
        held = [held_out(s, root, cfg, open_shipped, mse) for s in HELD_OUT_SEEDS]
        test = pd.concat(
            [fit_records(root / f"{PROFILE}-seed{s}") for s in HELD_OUT_SEEDS], ignore_index=True
        )
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_1m_before": load_before,
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
        "profile": PROFILE,
        "fit_seeds": list(FIT_SEEDS),
        "held_out_seeds": list(HELD_OUT_SEEDS),
        "fit": {
            "records": len(train),
            "inputs": ["intercept", *MOOD_INPUTS],
            "refitted": {"valence": list(fitted.valence), "energy": list(fitted.energy)},
            "shipped_sandbox_fit": {
                "valence": list(shipped.valence),
                "energy": list(shipped.energy),
            },
            "max_abs_difference": round(
                float(
                    np.abs(
                        np.r_[fitted.valence, fitted.energy]
                        - np.r_[shipped.valence, shipped.energy]
                    ).max()
                ),
                4,
            ),
        },
        "open_fit": {
            "tracks": len(ox),
            "usable": int(ox["usable"].sum()),
            "fit_group_mse": mse,
            "max_abs_difference": round(
                float(
                    max(
                        np.abs(np.subtract(getattr(a, ax), getattr(b, ax))).max()
                        for a, b in (
                            (open_fit.with_ab, open_shipped.with_ab),
                            (open_fit.without_ab, open_shipped.without_ab),
                        )
                        for ax in ("valence", "energy")
                    )
                ),
                4,
            ),
        },
        "track_fidelity_held_out": {"records": len(test), **track_fidelity(test)},
        "held_out": held,
        "session_config": {
            "n_mood_states": cfg.n_mood_states,
            "method": cfg.mood_method,
            "seed": cfg.seed,
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json_atomic(RESULTS / "open_moods.json", result)
    write_text_atomic(RESULTS / "open_moods.md", _markdown(result))
    logger.warning("open moods benchmark written to %s", RESULTS)


def rewrite_markdown() -> None:
    """``open_moods.md`` again from ``open_moods.json`` (after a change of the text only)."""
    import json

    r = json.loads((RESULTS / "open_moods.json").read_text())
    write_text_atomic(RESULTS / "open_moods.md", _markdown(r))


def _markdown(r: dict[str, Any]) -> str:
    lines = [
        "# Planted-mood recovery: open path (AcousticBrainz dumps) vs Spotify-shaped features",
        "",
        f"Synthetic sandbox data (profile {r['profile']}). Mapping fitted on seeds "
        f"{r['fit_seeds']} ({r['fit']['records']} dump records); everything below is on the "
        f"held-out seeds {r['held_out_seeds']}. Machine: {r['machine']['cpus']} CPUs (shared), "
        f"load {r['machine']['load_avg_1m_before']} → {r['machine']['load_avg_1m']}; "
        f"{r['seconds']} s.",
        "",
        "Session mood-label agreement with the planted session moods (the session stage's "
        "rule: k-means of the sessions' mean valence × energy, k = "
        f"{r['session_config']['n_mood_states']}, seed {r['session_config']['seed']}). "
        "`labelled` = over sessions with at least one play with features (what the stage "
        "reports); `all` = over every planted session (unlabelled = wrong).",
        "",
        "| seed | features | plays with mood | labelled sessions | agreement (labelled) "
        "| agreement (all) |",
        "|---|---|---|---|---|---|",
    ]
    for h in r["held_out"]:
        for key, label in (
            ("spotify_shaped_truth", "Spotify-shaped (planted truth)"),
            (
                "spotify_shaped_truth_ab_covered",
                "Spotify-shaped, AcousticBrainz-covered tracks only",
            ),
            (
                "spotify_shaped_truth_open_covered",
                "Spotify-shaped, tracks with any open evidence only",
            ),
            *((f"acousticbrainz_{m}", f"AcousticBrainz → `{m}`") for m in MAPPINGS),
            *((f"open_fit_{ev}", f"open model, evidence ≥ `{ev}`") for ev in EVIDENCE),
            ("open_fit_any_weighted", "open model, any evidence, precision-weighted means"),
        ):
            a = h[key]
            share = a.get("plays_known_share", 1.0 if key == "spotify_shaped_truth" else None)
            lines.append(
                f"| {h['seed']} | {label} | {share:.1%} "
                f"| {a['matched_sessions']} / {a['sessions']} "
                f"| {a.get('label_accuracy', 0):.1%} | {a['accuracy_all_sessions']:.1%} |"
            )

    def mean(key: str) -> float:
        return float(np.mean([h[key]["label_accuracy"] for h in r["held_out"]]))

    truth, covered = mean("spotify_shaped_truth"), mean("spotify_shaped_truth_ab_covered")
    wide = mean("spotify_shaped_truth_open_covered")
    keys = [
        *(f"acousticbrainz_{m}" for m in MAPPINGS),
        *(f"open_fit_{ev}" for ev in EVIDENCE),
        "open_fit_any_weighted",
    ]
    opened = {k: mean(k) for k in keys}
    best = max(opened, key=lambda k: opened[k])
    verdict = "met" if opened[best] >= truth else "not met"
    lines += [
        "",
        "Mean over the held-out seeds (labelled sessions): "
        + "; ".join(f"`{k}` {v:.1%}" for k, v in opened.items())
        + ".",
        "",
        f"Spotify-shaped {truth:.1%}; the same features on the AcousticBrainz-covered tracks "
        f"only {covered:.1%} (coverage costs {100 * (truth - covered):.1f} points), on the "
        f"tracks with any open evidence {wide:.1%}. Best open path: `{best}` "
        f"{opened[best]:.1%}, {100 * (covered - opened[best]):.1f} points below the truth at "
        f"AcousticBrainz coverage and {100 * (truth - opened[best]):.1f} below the target. "
        f"Target (open path ≥ Spotify-shaped): **{verdict}**.",
        "",
        "Before → after (this benchmark's previous version had the AcousticBrainz rows only): "
        "the open path was AcousticBrainz → `sandbox_fit`, "
        f"{opened['acousticbrainz_sandbox_fit']:.1%} on the AcousticBrainz-covered plays. "
        "The open model adds Last.fm mood and genre tags "
        "and Deezer BPM/gain: "
        f"{opened['open_fit_acousticbrainz']:.1%} at the same coverage, "
        f"{opened['open_fit_mood_tags']:.1%} adding the mood-tagged tracks, "
        f"{opened['open_fit_any']:.1%} with every track with evidence (plain means) and "
        f"{opened['open_fit_any_weighted']:.1%} there with precision-weighted means; the "
        "Spotify-shaped rows are unchanged (the same rule, the same truth).",
        "",
        "**What the Spotify-shaped rows are.** `session.features_source: sandbox` reads "
        "`truth/tracks.parquet` (`read_truth_features`): the planted valence and energy "
        "themselves, without noise — the very values the sessions were generated from (a "
        "fresh play is drawn with a Gaussian kernel of the track's planted valence × energy "
        "around the session mood's centre; continue-plays pick any track of the same artist). "
        "Every open source is a noisy view of that truth: AcousticBrainz classifiers (logit "
        "noise sd 0.8 per recording, which all submissions of the recording share, + 0.6 per "
        "submission, 6 % blunders, 5-45 % of recordings missing), Last.fm mood tags (noise sd "
        "1.5 on each word's logit, on 20-70 % of tracks by popularity, 10 % mis-tags), Deezer "
        "BPM and gain (the planted tempo and loudness, which relate to the mood only through "
        "the track's sound cluster). So the target asks a noisy view of the truth to label "
        "sessions at least as well as the truth itself.",
        "",
        f"**Why it cannot be met here.** Coverage is not the limit once the other sources "
        f"count: on the tracks with any open evidence the truth gives {wide:.1%} "
        f"(vs {truth:.1%}). What is left is per-track noise, and no mapping removes it: a "
        "play's track depends on the session mood through its planted coordinates (the "
        "genre enters only through a per-genre normaliser of the draw), and the open sources' "
        "noise is independent of the sessions, so their coordinates carry no more about a "
        "session's mood than the planted ones do (data-processing inequality; the labelling "
        "rule reads the coordinates only). A better mapping can only approach the truth's "
        "agreement; measured, the "
        "best one stays below even the truth at AcousticBrainz coverage. Filling the tracks "
        "without a record from tags and Deezer lowers the agreement with plain session means "
        "(their coordinates are much noisier: see the fidelity table), and precision-weighted "
        "means win part of that back without beating the AcousticBrainz-only path. The "
        "target would need near-noise-free mood coordinates for nearly every play, which no "
        "open source in this sandbox offers (nor, for valence, any real one).",
    ]
    lines += [
        "",
        "Per-track fidelity of the mapped coordinates on the held-out worlds' dump records "
        f"({r['track_fidelity_held_out']['records']} records):",
        "",
        "| mapping | valence r | valence MAE | energy r | energy MAE |",
        "|---|---|---|---|---|",
    ]
    for m in MAPPINGS:
        f = r["track_fidelity_held_out"][m]
        lines.append(
            f"| `{m}` | {f['valence']['r']} | {f['valence']['mae']} | {f['energy']['r']} "
            f"| {f['energy']['mae']} |"
        )
    lines += [
        "",
        "Per-track fidelity of the open model on the held-out worlds, by the track's strongest "
        "evidence (`acousticbrainz`: the record with whatever tags and Deezer add; "
        "`mood_tags`: Last.fm mood tags + genres + Deezer; `deezer`: BPM/gain + genres):",
        "",
        "| seed | evidence | tracks | valence r | valence MAE | energy r | energy MAE |",
        "|---|---|---|---|---|---|---|",
    ]
    for h in r["held_out"]:
        for g, f in h["fidelity"].items():
            lines.append(
                f"| {h['seed']} | {g} | {f['tracks']} | {f['valence']['r']} "
                f"| {f['valence']['mae']} | {f['energy']['r']} | {f['energy']['mae']} |"
            )
    of = r["open_fit"]
    lines += [
        "",
        f"Open model refitted on the fit seeds ({of['tracks']} tracks, {of['usable']} with "
        f"evidence): max |Δ| vs the shipped weights = {of['max_abs_difference']}; residual "
        f"MSE per evidence group on the fit rows {of['fit_group_mse']} (the precision "
        "weights are their ratios to the AcousticBrainz group's).",
        "",
        "`sandbox_fit` refitted on the fit seeds: max |Δ| vs the shipped constants = "
        f"{r['fit']['max_abs_difference']} (inputs: {', '.join(r['fit']['inputs'])}).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
