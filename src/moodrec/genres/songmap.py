"""Song map: 2D layout of tracks from scaled audio features + genre vector, as plotly HTML."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from moodrec.errors import InputDataError
from moodrec.genres.config import GenresConfig
from moodrec.storage import write_text_atomic

logger = logging.getLogger(__name__)

#: colourings offered in the map's drop-down, when the column exists
COLOUR_BY = ("valence", "energy", "cluster", "super_genre")


def song_map_coordinates(
    features: pd.DataFrame, genre_vectors: pd.DataFrame | None, cfg: GenresConfig
) -> np.ndarray:
    """2D coordinates of tracks, shape ``(n, 2)``.

    Parameters
    ----------
    features
        Numeric audio features, one row per track (NaN filled with the column median).
    genre_vectors
        Same rows, ``g*`` columns (NaN → 0, i.e. no genre pull); ``None`` for audio only.
    cfg
        ``song_map_method`` (``umap`` or ``pca``), ``song_map_genre_weight``, ``seed``.

    Raises
    ------
    InputDataError
        When there are fewer than 3 tracks or no numeric feature.
    """
    if len(features) < 3 or features.shape[1] == 0:
        raise InputDataError("the song map needs at least 3 tracks and one audio feature")
    x = features.astype(np.float64)
    x = x.fillna(x.median()).fillna(0.0).to_numpy()
    parts = [StandardScaler().fit_transform(x)]
    if genre_vectors is not None and genre_vectors.shape[1] and cfg.song_map_genre_weight > 0:
        g = np.nan_to_num(genre_vectors.to_numpy(dtype=np.float64))
        scale = g.std(axis=0).mean() or 1.0
        # genre block scaled to unit average spread, then weighted against the audio block
        parts.append(g / scale * cfg.song_map_genre_weight)
    z = np.hstack(parts)
    if cfg.song_map_method == "umap" and len(z) > 15:
        import umap

        reducer = umap.UMAP(n_components=2, random_state=cfg.seed, n_jobs=1)
        return np.asarray(reducer.fit_transform(z), dtype=np.float64)
    return PCA(n_components=2, random_state=cfg.seed).fit_transform(z)


def song_map_figure(points: pd.DataFrame, title: str = "moodrec song map"):
    """Plotly figure: one WebGL scatter, hover (artist, track, genres), colour drop-down.

    ``points`` needs ``x, y, artist_name, name, genres`` and any of :data:`COLOUR_BY`.
    """
    import plotly.graph_objects as go

    options = [c for c in COLOUR_BY if c in points.columns]
    if not options:
        raise InputDataError(f"song map points need one of {COLOUR_BY} to colour by")

    def colour(col: str) -> dict:
        s = points[col]
        if pd.api.types.is_numeric_dtype(s) and col != "cluster":
            return {
                "color": s.to_numpy(),
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": col},
            }
        codes, uniques = pd.factorize(s.astype(str), sort=True)
        return {
            "color": codes,
            "colorscale": "Turbo",
            "showscale": True,
            "colorbar": {
                "title": col,
                "tickvals": list(range(len(uniques))),
                "ticktext": [str(u) for u in uniques],
            },
        }

    custom = np.stack(
        [points[c].astype(str).to_numpy() for c in ("artist_name", "name", "genres")], axis=1
    )
    fig = go.Figure(
        go.Scattergl(
            x=points["x"],
            y=points["y"],
            mode="markers",
            marker={"size": 4, "opacity": 0.8, **colour(options[0])},
            customdata=custom,
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[0]}<br>%{customdata[2]}"
            "<extra></extra>",
        )
    )
    buttons = []
    for col in options:
        c = colour(col)
        buttons.append(
            {
                "label": col,
                "method": "restyle",
                "args": [{f"marker.{k}": [v] for k, v in c.items()}],
            }
        )
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=800,
        updatemenus=[{"buttons": buttons, "x": 1.0, "y": 1.08, "xanchor": "right"}],
        xaxis={"showticklabels": False},
        yaxis={"showticklabels": False},
    )
    return fig


def write_song_map_html(
    points: pd.DataFrame, path: Path | str, cfg: GenresConfig, title: str = "moodrec song map"
) -> Path:
    """Write the interactive song map to ``path`` atomically (plotly.js inline or CDN)."""
    fig = song_map_figure(points, title)
    html = fig.to_html(include_plotlyjs=True if cfg.plotlyjs == "inline" else "cdn", full_html=True)
    return write_text_atomic(path, html)
