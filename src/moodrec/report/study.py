"""The report's first pages: the study's three research questions with this run's answers,
the genre map, the song map, mood timelines and the model comparison.

Read from the stages' checkpoints by name (``ablation_table``, ``topics``, ``genre_embedding``
…); a part whose stage did not run says so. Tables are read generically where their layout
is still moving (the ablation table): known columns are used when present, otherwise the
table is shown as written, numbers rounded.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from moodrec.orchestration.config import ReportConfig
from moodrec.plotting import label_shifts
from moodrec.report.build import Block, Report, Section, as_ref, build_report

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


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a reader: floats rounded to ``digits`` decimals, ints with thousands
    separators, missing values as an en dash; anything else as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return f"{float(value):.{digits}f}"
    return str(value)


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


def _table(title: str, frame: pd.DataFrame, note: str = "", folded: bool = False) -> Block:
    rows = tuple(tuple(fmt(v) for v in row) for row in frame.itertuples(index=False, name=None))
    return Block(
        kind="table",
        title=title,
        columns=tuple(str(c) for c in frame.columns),
        rows=rows,
        note=note,
        folded=folded,
    )


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
            _table("Ablation", frame),
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
    return [*blocks, _table(f"Ablation ({label}; reference: {ref})", pd.DataFrame(table))]


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
    return [Block(kind="text", text=text), _table("Lyric topics", frame)]


# --- figures ----------------------------------------------------------------------------


def spread_layout(
    frame: pd.DataFrame, edges: pd.DataFrame | None, seed: int = 0
) -> tuple[pd.DataFrame, str]:
    """``frame`` (``genre``, ``x``, ``y``, ``super_genre``) with readable coordinates.

    A graph of many small components embeds into a few points (most genres on top of each
    other). When over a quarter of the genres share a position with another, the map is laid
    out instead by a seeded force layout of the co-occurrence edges, each genre also tied
    weakly to its super-genre so that super-genres stay together. Returns the frame and a
    note saying which layout it shows.
    """
    import networkx as nx

    if frame[["x", "y"]].round(2).duplicated(keep=False).mean() <= 0.25:
        return frame, "positions: the genre embedding (x, y)"
    graph = nx.Graph()
    graph.add_nodes_from(frame["genre"])
    if edges is not None and {"source_genre", "target_genre"} <= set(edges.columns):
        for a, b in zip(edges["source_genre"], edges["target_genre"], strict=True):
            graph.add_edge(a, b, weight=1.0)
    for genre, sg in zip(frame["genre"], frame["super_genre"], strict=True):
        graph.add_edge(genre, f"super::{sg}", weight=0.3)
    pos = nx.spring_layout(graph, seed=seed, weight="weight", k=0.6 / max(len(frame), 1) ** 0.5)
    out = frame.copy()
    out["x"] = [float(pos[g][0]) for g in out["genre"]]
    out["y"] = [float(pos[g][1]) for g in out["genre"]]
    return out, (
        "positions: a force layout of the co-occurrence graph (the 2D embedding put most "
        "genres on top of each other)"
    )


def genre_map_html(
    embedding: pd.DataFrame,
    nodes: pd.DataFrame | None,
    n_hubs: int = 10,
    edges: pd.DataFrame | None = None,
) -> str:
    """The genre map: genres in 2D (``x``, ``y``), coloured by super-genre, the ``n_hubs``
    genres with the most co-occurrence strength labelled. A plotly ``<div>`` + script (no
    plotly.js; the report inlines it once)."""
    import plotly.graph_objects as go

    frame = embedding[["genre", "x", "y", "super_genre"]].copy()
    frame["super_genre"] = frame["super_genre"].astype("string").fillna("unplaced")
    frame, layout = spread_layout(frame, edges)
    weight_col = "strength"
    if nodes is not None and {"genre", weight_col} <= set(nodes.columns):
        frame = frame.merge(nodes[["genre", weight_col, "degree"]], on="genre", how="left")
    else:
        frame[weight_col] = 1.0
        frame["degree"] = 0
    frame[weight_col] = frame[weight_col].fillna(0.0)
    hubs = set(frame.nlargest(n_hubs, weight_col)["genre"])
    size = 6 + 18 * (frame[weight_col] / max(float(frame[weight_col].max()), 1e-9)) ** 0.5
    fig = go.Figure()
    for sg in sorted(frame["super_genre"].unique()):
        sel = frame["super_genre"] == sg
        fig.add_trace(
            go.Scatter(
                x=frame.loc[sel, "x"],
                y=frame.loc[sel, "y"],
                mode="markers",
                name=str(sg),
                marker={
                    "size": size[sel],
                    "opacity": 0.8,
                    "line": {"width": 0.5, "color": "white"},
                },
                text=frame.loc[sel, "genre"],
                customdata=frame.loc[sel, ["degree"]],
                hovertemplate="%{text}<br>co-occurs with %{customdata[0]} genres<extra>"
                + str(sg)
                + "</extra>",
            )
        )
    hub_rows = frame[frame["genre"].isin(hubs)]
    # labels are wide: a neighbour within a quarter of the map's width would overlap
    shifts = label_shifts(
        hub_rows["x"].to_numpy(), hub_rows["y"].to_numpy(), step=15.0, x_frac=0.25, y_frac=0.05
    )
    for (_, hub), shift in zip(hub_rows.iterrows(), shifts, strict=True):
        fig.add_annotation(
            x=hub["x"],
            y=hub["y"],
            text=f"<b>{hub['genre']}</b>",
            showarrow=True,
            arrowhead=0,
            arrowwidth=0.7,
            ax=0,
            ay=-20 - shift,
            font={"size": 11},
            bgcolor="rgba(255,255,255,0.8)",
        )
    fig.add_annotation(
        text=layout,
        xref="paper",
        yref="paper",
        x=0,
        y=-0.02,
        showarrow=False,
        font={"size": 10, "color": "#5b6577"},
        xanchor="left",
        yanchor="top",
    )
    fig.update_layout(
        height=620,
        margin={"t": 30, "l": 10, "r": 10, "b": 10},
        legend_title_text="super-genre",
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        plot_bgcolor="white",
    )
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id="genre-map-figure")


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
        return [_table("Model comparison", metrics)]
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
        _table("Models on held-out plays", pd.DataFrame(table)),
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


# --- provenance -------------------------------------------------------------------------


def _flat(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        out.append((prefix, ", ".join(fmt(v) for v in value) or "(none)"))
    else:
        out.append((prefix, fmt(value)))


def provenance_section(provenance: Mapping[str, Any]) -> Section:
    """Which code, configuration and input files made this report, and when."""
    if not provenance:
        return Section(
            stage="provenance",
            title="How this report was made",
            intro="",
            ran=False,
            reason="no provenance recorded",
        )
    facts = [
        ("moodrec version", provenance.get("moodrec_version")),
        ("git commit", provenance.get("git_commit") or "not a git checkout"),
        ("profile", provenance.get("profile")),
        ("run id", provenance.get("run_id")),
        ("seed", provenance.get("seed")),
        ("config fingerprint", provenance.get("config_fingerprint")),
        ("data folder", provenance.get("data_dir")),
        ("started", provenance.get("started")),
        ("finished", provenance.get("finished")),
    ]
    inputs = pd.DataFrame(
        [
            {
                "input": i.get("name"),
                "file": i.get("path"),
                "fingerprint": str(i.get("fingerprint", ""))[:16],
                "rows": i.get("rows"),
            }
            for i in provenance.get("inputs", [])
        ],
        columns=["input", "file", "fingerprint", "rows"],
    )
    config: list[tuple[str, str]] = []
    _flat("", provenance.get("config", {}), config)
    blocks = [
        _table("Run", pd.DataFrame([(k, fmt(v)) for k, v in facts], columns=["", "value"])),
        _table("Input files", inputs, note="fingerprint: blake2b-128 of the file's bytes"),
        _table(
            "Effective configuration (secrets masked)",
            pd.DataFrame(config, columns=["setting", "value"]),
            folded=True,
        ),
    ]
    return Section(
        stage="provenance",
        title="How this report was made",
        intro="The code, configuration and input files behind every number above.",
        ran=True,
        blocks=tuple(blocks),
    )


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
