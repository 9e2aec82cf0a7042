"""The report's first pages: the study's three research questions with this run's answers,
the genre map, the song map, mood timelines and the model comparison.

Read from the stages' checkpoints by name (``ablation_table``, ``topics``, ``genre_embedding``
…); a part whose stage did not run says so. Tables are read generically where their layout
is still moving (the ablation table): known columns are used when present, otherwise the
table is shown as written, numbers rounded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from moodrec.orchestration.config import ReportConfig
from moodrec.report.build import Block, Report, Section, as_ref, build_report
from moodrec.report.genre_map import genre_map_html
from moodrec.report.provenance import provenance_section
from moodrec.report.study_format import fmt, table_block

#: the research questions of the study, in its words
QUESTIONS: dict[str, str] = {
    "rq1": "RQ1. Do audio, genre and lyric features improve recommendations over listening "
    "history alone?",
    "rq2": "RQ2. Which themes do the lyrics carry?",
    "rq3": "RQ3. How do songs relate in topic space, and what is the topic map for?",
}

TOPIC_MAP_USE = (
    "Each point is a song, placed by the mix of lyric topics it carries (songs close together "
    "sing about the same things); the colour is its dominant topic, or its valence (the "
    "dropdown). It is used to browse songs by theme and mood: a song's neighbours on the map "
    "are the lyric-based candidates the hybrid recommenders' topic features (RQ1, cf+topics) "
    "draw on, and regions of low or high valence show which themes carry which mood."
)


def _with_ci(mean: Any, low: Any, high: Any, signed: bool = False) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    f = "{:+.3f}" if signed else "{:.3f}"
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return f.format(mean)
    return f"{f.format(mean)} [{f.format(low)}, {f.format(high)}]"


def _path(stages: Mapping[str, Mapping[str, Any]], stage: str, name: str) -> Path | None:
    """The file of checkpoint ``name`` of ``stage`` when the stage ran and the file exists."""
    ref = as_ref(((stages.get(stage) or {}).get("refs") or {}).get(name))
    if ref is None or not Path(ref.path).is_file():
        return None
    return Path(ref.path)


def _missing(stage: str, not_run: Mapping[str, str]) -> Block:
    reason = not_run.get(stage, "its outputs are not in this run")
    return Block(
        kind="text", text=f"Not answered by this run: the {stage} stage did not run ({reason})."
    )


# --- RQ1: the ablation -------------------------------------------------------------------


def ablation_blocks(frame: pd.DataFrame) -> list[Block]:
    """The ablation as one table (a row per variant, mean [95 % CI] and Δ vs the reference
    per slice) and one sentence drawn from it.

    Reads the long layout ``variant, [slice], [metric], mean, [ci_low, ci_high,
    diff_vs_ref, diff_ci_low, diff_ci_high, p_value]``; any other layout is shown as written.
    """
    if not {"variant", "mean"} <= set(frame.columns):
        return [
            Block(
                kind="text",
                text="The ablation table's layout is not one this report "
                "reads; its rows are shown as written.",
            ),
            table_block("Ablation", frame),
        ]
    data = frame
    metric = ""
    if "metric" in data.columns:
        metrics = list(dict.fromkeys(data["metric"].astype(str)))
        metric = next((m for m in metrics if "ndcg" in m.lower()), metrics[0])
        data = data[data["metric"].astype(str) == metric]
    label = metric_label(metric) if metric else "score"
    slices = list(dict.fromkeys(data["slice"].astype(str))) if "slice" in data.columns else [""]
    variants = list(dict.fromkeys(data["variant"].astype(str)))
    ref = variants[0]
    if "diff_vs_ref" in data.columns:
        no_diff = data[data["diff_vs_ref"].isna()]["variant"].astype(str)
        ref = no_diff.iloc[0] if len(no_diff) else ref

    def cell(row: pd.Series, col: str) -> Any:
        return row[col] if col in row.index else None

    table: dict[str, list[str]] = {"variant": variants}
    sentences = []
    for sl in slices:
        part = data[data["slice"].astype(str) == sl] if sl else data
        by_variant = {str(r["variant"]): r for _, r in part.iterrows()}
        prefix = f"{sl}: " if sl else ""
        table[f"{prefix}{label} [95% CI]"] = [
            _with_ci(
                cell(by_variant[v], "mean"),
                cell(by_variant[v], "ci_low"),
                cell(by_variant[v], "ci_high"),
            )
            if v in by_variant
            else "–"
            for v in variants
        ]
        if "diff_vs_ref" in part.columns:
            table[f"{prefix}Δ vs {ref} [95% CI]"] = [
                "reference"
                if v == ref
                else _with_ci(
                    cell(by_variant[v], "diff_vs_ref"),
                    cell(by_variant[v], "diff_ci_low"),
                    cell(by_variant[v], "diff_ci_high"),
                    signed=True,
                )
                if v in by_variant
                else "–"
                for v in variants
            ]
        if "p_value" in part.columns:
            table[f"{prefix}p"] = [
                "" if v == ref or v not in by_variant else fmt(by_variant[v]["p_value"], 2)
                for v in variants
            ]
        others = part[part["variant"].astype(str) != ref]
        if ref in by_variant and len(others):
            best = others.loc[others["mean"].idxmax()]
            base = float(by_variant[ref]["mean"])
            gain = float(best["mean"]) - base
            where = f"on {sl} items" if sl else "overall"
            text = (
                f"{where}, variant {best['variant']} scores {label} {float(best['mean']):.3f} "
                f"against {base:.3f} for {ref} ({gain:+.3f}"
            )
            low, high = cell(best, "diff_ci_low"), cell(best, "diff_ci_high")
            if low is not None and not pd.isna(low):
                text += f", 95% CI {float(low):+.3f} to {float(high):+.3f})"
                text += (
                    ": a real gain"
                    if float(low) > 0
                    else ": a real loss"
                    if float(high) < 0
                    else ": the interval includes zero, so this run cannot tell it from "
                    f"{ref} alone"
                )
            else:
                text += ")"
            sentences.append(text)
    answer = ("Answer from this run: " + "; ".join(sentences) + ".") if sentences else ""
    blocks = [Block(kind="text", text=answer)] if answer else []
    return [*blocks, table_block(f"Ablation ({label}; reference: {ref})", pd.DataFrame(table))]


# --- RQ2: topics -------------------------------------------------------------------------


def _coherence(sweep: pd.DataFrame | None) -> dict[str, float]:
    """``topic_key`` (``en:3``) → c_v of that topic in the chosen model of its language."""
    if sweep is None or not {"chosen", "language", "c_v_per_topic"} <= set(sweep.columns):
        return {}
    out: dict[str, float] = {}
    for _, row in sweep[sweep["chosen"]].iterrows():
        for i, value in enumerate(list(row["c_v_per_topic"])):
            out[f"{row['language']}:{i}"] = float(value)
    return out


def topic_blocks(
    topics: pd.DataFrame,
    sweep: pd.DataFrame | None,
    track_topics: pd.DataFrame | None,
    tracks: pd.DataFrame | None,
    *,
    n_words: int = 8,
    n_songs: int = 3,
) -> list[Block]:
    """A table of the topics (words, coherence, share, example songs) and one sentence."""
    coherence = _coherence(sweep)
    names: dict[int, str] = {}
    if tracks is not None and {"track_id", "track_name"} <= set(tracks.columns):
        artist = tracks["artist_name"] if "artist_name" in tracks.columns else ""
        names = dict(
            zip(tracks["track_id"].astype(int), artist + " – " + tracks["track_name"], strict=False)
        )
    rows = []
    for _, t in topics.sort_values("share", ascending=False).iterrows():
        column = f"topic_{int(t['topic_id'])}"
        songs = ""
        if track_topics is not None and column in track_topics.columns:
            top = track_topics.nlargest(n_songs, column)["track_id"].astype(int)
            songs = "; ".join(names.get(i, f"track {i}") for i in top)
        rows.append(
            {
                "topic": f"{t['topic_key']} {t['label']}" if "topic_key" in t else str(t["label"]),
                "top words": ", ".join(list(t["top_words"])[:n_words]),
                "coherence (c_v)": coherence.get(str(t.get("topic_key")), float("nan")),
                "share of lyrics": f"{100 * float(t['share']):.1f} %",
                "example songs": songs,
            }
        )
    frame = pd.DataFrame(rows)
    chosen = ""
    if sweep is not None and {"chosen", "c_v", "k"} <= set(sweep.columns):
        best = sweep[sweep["chosen"]]
        chosen = "; ".join(
            f"{r['language']}: k = {int(r['k'])}, mean c_v {float(r['c_v']):.3f}"
            for _, r in best.iterrows()
        )
    lead = ", ".join(f"{r['topic']} ({r['share of lyrics']})" for r in rows[:3])
    text = (
        f"Answer from this run: the lyrics carry {len(rows)} topics"
        + (f" (chosen by coherence: {chosen})" if chosen else "")
        + f"; the largest are {lead}."
    )
    return [Block(kind="text", text=text), table_block("Lyric topics", frame)]


_METRIC_NAMES = {"ndcg": "NDCG", "hr": "HR", "mrr": "MRR", "map": "MAP"}


def metric_label(column: str) -> str:
    """``ndcg@10`` → ``NDCG@10``, ``recall@10`` → ``Recall@10``."""
    name, at, cut = column.partition("@")
    return _METRIC_NAMES.get(name.lower(), name.replace("_", " ").capitalize()) + at + cut


def model_comparison_blocks(metrics: pd.DataFrame, cutoff: str = "@10") -> list[Block]:
    """Models × the ranking metrics that carry a CI (``m``, ``m_ci_low``, ``m_ci_high``) at
    ``cutoff`` (all cutoffs when none is at it), best first, and one sentence."""
    with_ci = [
        c
        for c in metrics.columns
        if f"{c}_ci_low" in metrics.columns and f"{c}_ci_high" in metrics.columns
    ]
    shown = [c for c in with_ci if c.endswith(cutoff)] or with_ci
    if "model" not in metrics.columns or not shown:
        return [table_block("Model comparison", metrics)]
    ordered = metrics.sort_values(shown[0], ascending=False)
    table = {"model": ordered["model"].astype(str).tolist()}
    if "n_users" in ordered.columns:
        table["users"] = [fmt(int(v)) for v in ordered["n_users"]]
    for c in shown:
        table[f"{metric_label(c)} [95% CI]"] = [
            _with_ci(r[c], r[f"{c}_ci_low"], r[f"{c}_ci_high"]) for _, r in ordered.iterrows()
        ]
    best, second = ordered.iloc[0], ordered.iloc[1] if len(ordered) > 1 else None
    text = f"{best['model']} ranks best by {metric_label(shown[0])} ({float(best[shown[0]]):.3f})"
    if second is not None:
        overlap = float(second[f"{shown[0]}_ci_high"]) >= float(best[f"{shown[0]}_ci_low"])
        text += (
            f", ahead of {second['model']} ({float(second[shown[0]]):.3f}); their 95% "
            f"intervals {'overlap' if overlap else 'do not overlap'}"
        )
    return [
        Block(kind="text", text=text + "."),
        table_block("Models on held-out plays", pd.DataFrame(table)),
    ]


# --- the front pages ---------------------------------------------------------------------


def _read(path: Path | None) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path is not None else None


def study_sections(
    stages: Mapping[str, Mapping[str, Any]], not_run: Mapping[str, str]
) -> list[Section]:
    """The report's first sections: the research questions with their answers, the genre
    map, the song map, mood timelines and the model comparison."""
    rq: list[Block] = [Block(kind="heading", title=QUESTIONS["rq1"])]
    ablation = _read(_path(stages, "ablation", "ablation_table"))
    if ablation is not None:
        rq += ablation_blocks(ablation)
        plot = _path(stages, "ablation", "ablation_plot")
        if plot is not None:
            rq.append(
                Block(kind="image", title="Ablation: mean and 95% CI per variant", path=str(plot))
            )
    else:
        rq.append(_missing("ablation", not_run))
    rq.append(Block(kind="heading", title=QUESTIONS["rq2"]))
    topics = _read(_path(stages, "topics", "topics"))
    if topics is not None:
        rq += topic_blocks(
            topics,
            _read(_path(stages, "topics", "topics_sweep")),
            _read(_path(stages, "topics", "track_topics")),
            _read(_path(stages, "ingest", "tracks")),
        )
    else:
        rq.append(_missing("topics", not_run))
    rq.append(Block(kind="heading", title=QUESTIONS["rq3"]))
    topic_map = _path(stages, "topics", "topic_map_html")
    if topic_map is not None:
        rq += [
            Block(kind="text", text=TOPIC_MAP_USE),
            Block(kind="figure", title="Topic map", path=str(topic_map)),
        ]
    else:
        rq.append(_missing("topics", not_run))
    sections = [
        Section(
            stage="questions",
            title="Research questions and answers",
            intro="What this run says about each question of the study.",
            ran=True,
            blocks=tuple(rq),
        )
    ]

    embedding = _read(_path(stages, "genres", "genre_embedding"))
    genre_blocks: list[Block]
    if embedding is not None and {"genre", "x", "y", "super_genre"} <= set(embedding.columns):
        genre_blocks = [
            Block(
                kind="text",
                text=(
                    f"{len(embedding)} genres placed by their co-occurrence on artists; colour: "
                    "super-genre; the most connected genres (hubs) are labelled."
                ),
            ),
            Block(
                kind="plotly",
                title="Genre map",
                text=genre_map_html(
                    embedding,
                    _read(_path(stages, "genres", "genre_nodes")),
                    edges=_read(_path(stages, "genres", "genre_edges")),
                ),
            ),
        ]
    else:
        genre_blocks = [_missing("genres", not_run)]
    sections.append(
        Section(
            stage="genre-map",
            title="Genre map",
            intro="Genres in two dimensions, coloured by super-genre.",
            ran=True,
            blocks=tuple(genre_blocks),
        )
    )
    song_map = _path(stages, "genres", "song_map")
    sections.append(
        Section(
            stage="song-map",
            title="Song map",
            intro="Songs placed by their genre vectors; colour: cluster or super-genre.",
            ran=True,
            blocks=(Block(kind="figure", title="Song map", path=str(song_map)),)
            if song_map
            else (_missing("genres", not_run),),
        )
    )
    mood = [
        Block(kind="image", title="Mood timeline", path=str(p))
        for p in [_path(stages, "session", "mood_timeline_png")]
        if p is not None
    ]
    sections.append(
        Section(
            stage="moods",
            title="Mood timelines",
            intro="A listener's sessions over time, each coloured by its inferred mood.",
            ran=True,
            blocks=tuple(mood) or (_missing("session", not_run),),
        )
    )
    metrics = _read(_path(stages, "evaluate", "recommend_metrics"))
    sections.append(
        Section(
            stage="models",
            title="Model comparison",
            intro="Full-ranking metrics over held-out plays, mean over users with 95% bootstrap "
            "confidence intervals.",
            ran=True,
            blocks=tuple(model_comparison_blocks(metrics))
            if metrics is not None
            else (_missing("evaluate", not_run),),
        )
    )
    return sections


def build_study_report(
    stages: Mapping[str, Mapping[str, Any]],
    not_run: Mapping[str, str],
    cfg: ReportConfig,
    *,
    profile: str,
    provenance: Mapping[str, Any] | None = None,
) -> Report:
    """The run report as the study reads: the front sections (:func:`study_sections` and
    the provenance) first, every stage's own section after them as the appendix."""
    report = build_report(stages, not_run, cfg, profile=profile)
    front = (*study_sections(stages, not_run), provenance_section(provenance or {}))
    return replace(report, front=front, provenance=dict(provenance or {}))
