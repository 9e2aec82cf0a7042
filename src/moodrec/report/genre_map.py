"""The genre map, the study's signature figure: genres in 2D coloured by super-genre, hubs
labelled; and the readable layout it falls back to when the embedding piles genres up."""

from __future__ import annotations

import pandas as pd

from moodrec.plotting import label_shifts


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
