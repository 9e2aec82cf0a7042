"""Analyse a genre graph: degree, strength, betweenness, components and super-genres.

:func:`analyse_genre_graph` gives the per-genre table and the JSON-able report of the genres
stage; the super-genre of each genre comes from :mod:`moodrec.genres.supergenres`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from moodrec.genres.config import GenresConfig
from moodrec.genres.graph import GenreGraph
from moodrec.genres.supergenres import place_super_genres

logger = logging.getLogger(__name__)


def betweenness(graph: GenreGraph, cfg: GenresConfig) -> np.ndarray:
    """Weighted (edge length) betweenness centrality per node, normalised, shape ``(n,)``.

    Exact up to ``betweenness_exact_max_nodes`` nodes, else estimated from ``betweenness_k``
    seeded source samples.
    """
    g = graph.to_networkx()
    k = None if graph.n_nodes <= cfg.betweenness_exact_max_nodes else cfg.betweenness_k
    bc = nx.betweenness_centrality(g, k=k, weight="length", normalized=True, seed=cfg.seed)
    return np.array([bc[i] for i in range(graph.n_nodes)], dtype=np.float64)


@dataclass(frozen=True)
class GenreGraphAnalysis:
    """Per-genre table plus a JSON-able report.

    ``genres`` columns: ``genre, support, weight, degree, strength, betweenness, component,
    component_size, super_genre`` (``None`` when unplaceable), ``super_distance`` (shortest
    weighted co-occurrence path to the assigned super-genre, whichever method assigned it;
    inf when there is none), ``placed`` (a super-genre was assigned).
    """

    genres: pd.DataFrame
    report: dict[str, Any]


def analyse_genre_graph(
    graph: GenreGraph, cfg: GenresConfig, audio_profiles: pd.DataFrame | None = None
) -> GenreGraphAnalysis:
    """Degree, strength, betweenness, components and super-genre of every genre.

    Parameters
    ----------
    graph
        The genre graph.
    cfg
        Uses ``super_genres``, ``super_genre_method`` and, for label propagation,
        ``propagation_affinity``, ``name_prior_weight``, ``name_only_anchors``,
        ``audio_prior_weight``, ``audio_neighbours``; ``super_genre_aliases``; the
        betweenness settings.
    audio_profiles
        Per-genre audio profiles (:func:`moodrec.genres.evidence.genre_audio_profiles`), or
        ``None`` when the source has no tracks (audio evidence is then not used).
    """
    adj = graph.adjacency()
    n_comp, comp = csgraph.connected_components(adj, directed=False)
    comp_sizes = np.bincount(comp, minlength=n_comp)
    # number components by size (0 = largest) so ids are stable across runs
    order = np.lexsort((np.arange(n_comp), -comp_sizes))
    rank = np.empty(n_comp, dtype=np.int64)
    rank[order] = np.arange(n_comp)
    comp = rank[comp]
    comp_sizes = comp_sizes[order]
    labels, dist, missing, evidence = place_super_genres(graph, cfg, audio_profiles)
    counts_adj = sparse.coo_matrix(
        (
            graph.edges["count"].to_numpy(dtype=np.float64),
            (graph.edges["source"], graph.edges["target"]),
        ),
        shape=adj.shape,
    )
    strength = np.asarray((counts_adj + counts_adj.T).sum(axis=1)).ravel()
    genres = graph.nodes.assign(
        degree=np.diff(adj.indptr).astype(np.int64),
        strength=strength,
        betweenness=betweenness(graph, cfg),
        component=comp,
        component_size=comp_sizes[comp],
        super_genre=pd.Series(labels, dtype="string"),
        super_distance=dist,
        placed=np.array([lab is not None for lab in labels], dtype=bool),
    )
    unplaced = genres.loc[~genres["placed"], "genre"].tolist()
    if unplaced:
        logger.warning("%d genres reach no super-genre (listed in the report)", len(unplaced))
    if missing:
        logger.warning("super-genres absent from the graph: %s", ", ".join(missing))
    top_bc = genres.nlargest(10, "betweenness")[["genre", "betweenness"]]
    report = {
        "n_genres": len(genres),
        "n_edges": len(graph.edges),
        "n_dropped_low_support": len(graph.dropped),
        "dropped_low_support": graph.dropped["genre"].tolist() if len(graph.dropped) else [],
        "n_components": int(n_comp),
        "component_sizes": comp_sizes[:20].astype(int).tolist(),
        "super_genre_method": cfg.super_genre_method,
        "super_genre_evidence": evidence,
        "super_genres_missing": missing,
        "super_genre_counts": {
            str(k): int(v) for k, v in genres["super_genre"].value_counts().sort_index().items()
        },
        "n_unplaceable": len(unplaced),
        "unplaceable": unplaced,
        "top_betweenness": dict(zip(top_bc["genre"], top_bc["betweenness"].round(6), strict=True)),
    }
    return GenreGraphAnalysis(genres=genres, report=report)
