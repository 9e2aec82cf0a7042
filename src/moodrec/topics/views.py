"""Interactive HTML pages (plotly, self-contained, offline): topic view and topic map."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from moodrec.plotting import label_shifts


def _html(fig) -> str:
    # include_plotlyjs=True embeds plotly.js: the page opens offline
    return fig.to_html(include_plotlyjs=True, full_html=True)


def topic_view_html(topics: pd.DataFrame, words: pd.DataFrame, title: str) -> str:
    """One bar chart per topic (top words by probability) plus topic sizes.

    Parameters
    ----------
    topics
        ``topic_id``, ``label``, ``share`` (see :func:`moodrec.topics.lda.topic_tables`).
    words
        ``topic_id``, ``rank``, ``word``, ``probability``.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    k = len(topics)
    cols = min(4, k + 1)
    rows = int(np.ceil((k + 1) / cols))
    titles = ["topic sizes", *(f"{r.topic_id}: {r.label}" for r in topics.itertuples())]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles)
    fig.add_trace(
        go.Bar(
            x=topics["topic_id"].astype(str),
            y=topics["share"],
            name="share",
            hovertext=topics["label"],
        ),
        row=1,
        col=1,
    )
    for i, t in enumerate(topics["topic_id"]):
        w = words[words["topic_id"] == t].sort_values("rank", ascending=False)
        pos = i + 1
        fig.add_trace(
            go.Bar(x=w["probability"], y=w["word"], orientation="h", name=f"topic {t}"),
            row=pos // cols + 1,
            col=pos % cols + 1,
        )
    fig.update_layout(title=title, showlegend=False, height=320 * rows)
    return _html(fig)


def topic_map_html(
    tracks: pd.DataFrame, topics: pd.DataFrame, labels: dict[int, str], title: str
) -> str:
    """Scatter of the topic map coloured by dominant topic and, if present, by valence.

    ``tracks`` has ``track_id``, ``x``, ``y``, ``dominant_topic`` and optional ``valence``;
    ``topics`` has ``topic_id``, ``x``, ``y`` (drawn as labelled markers). With valence the
    page has a dropdown to switch the colouring.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    names = tracks["dominant_topic"].map(lambda t: f"{t}: {labels.get(int(t), '')}")
    by_topic = []
    for t in sorted(tracks["dominant_topic"].unique()):
        sel = tracks["dominant_topic"] == t
        fig.add_trace(
            go.Scattergl(
                x=tracks.loc[sel, "x"],
                y=tracks.loc[sel, "y"],
                mode="markers",
                marker={"size": 5, "opacity": 0.7},
                name=names[sel].iloc[0],
                hovertext=tracks.loc[sel, "track_id"].astype(str),
            )
        )
        by_topic.append(len(fig.data) - 1)
    has_valence = "valence" in tracks.columns and tracks["valence"].notna().any()
    if has_valence:
        fig.add_trace(
            go.Scattergl(
                x=tracks["x"],
                y=tracks["y"],
                mode="markers",
                name="valence",
                visible=False,
                marker={
                    "size": 5,
                    "color": tracks["valence"],
                    "colorscale": "RdYlBu_r",
                    "showscale": True,
                    "colorbar": {"title": "valence"},
                },
                hovertext=tracks["track_id"].astype(str),
            )
        )
    fig.add_trace(
        go.Scatter(
            x=topics["x"],
            y=topics["y"],
            mode="markers",
            name="topics",
            hovertext=[labels.get(int(t), str(t)) for t in topics["topic_id"]],
            marker={"size": 12, "symbol": "x", "color": "black"},
        )
    )
    # labels as annotations on a light box, nudged apart where they would overlap
    for (t, x, y), shift in zip(
        topics[["topic_id", "x", "y"]].itertuples(index=False, name=None),
        label_shifts(topics["x"].to_numpy(), topics["y"].to_numpy()),
        strict=True,
    ):
        fig.add_annotation(
            x=x,
            y=y,
            text=f"{int(t)}: {labels.get(int(t), '')}",
            showarrow=bool(shift),
            arrowwidth=0.8,
            ax=0,
            ay=-14 - shift,
            yshift=0 if shift else 12,
            font={"size": 11},
            bgcolor="rgba(255,255,255,0.8)",
        )
    if has_valence:
        n = len(fig.data)
        topic_vis = [i in by_topic or i == n - 1 for i in range(n)]
        val_vis = [i == n - 2 or i == n - 1 for i in range(n)]
        fig.update_layout(
            updatemenus=[
                {
                    "buttons": [
                        {
                            "label": "colour: topic",
                            "method": "update",
                            "args": [{"visible": topic_vis}],
                        },
                        {
                            "label": "colour: valence",
                            "method": "update",
                            "args": [{"visible": val_vis}],
                        },
                    ],
                    # top right, above the plot: clear of the title (top left) and the legend
                    "x": 1.0,
                    "y": 1.02,
                    "xanchor": "right",
                    "yanchor": "bottom",
                }
            ]
        )
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"}, height=700, margin={"t": 80}
    )
    return _html(fig)


def sweep_markdown(sweep: pd.DataFrame, chosen: str | Collection[str]) -> str:
    """The sweep as a Markdown table, the chosen model (one per language) marked."""
    chosen_names = {chosen} if isinstance(chosen, str) else set(chosen)
    lang = ["language"] if "language" in sweep.columns else []
    cols = [
        *lang,
        "model",
        "k",
        "alpha",
        "eta",
        "c_v",
        "c_npmi",
        "log_perplexity",
        "perplexity",
        "topic_diversity",
        "fit_seconds",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in sweep.sort_values([*lang, "k", "model"]).itertuples():
        vals = []
        for c in cols:
            v = getattr(r, c)
            vals.append(f"{v:.4f}" if isinstance(v, float) else str(v))
        mark = " **(chosen)**" if r.model in chosen_names else ""
        lines.append("| " + " | ".join(vals) + mark + " |")
    return "\n".join(lines) + "\n"
