"""Super-genre placement on the genre graph.

Super-genres are placed by ``GenresConfig.super_genre_method``: the seed's nearest
super-genre by weighted shortest path, or (the default) label propagation from the
super-genre nodes with class mass normalisation (:func:`propagate_super_genres`), which
weighs all paths instead of the single shortest one, so one cross-over edge or a hub genre no
longer decides a genre's place. Propagation runs on :func:`placement_affinity`: the
co-occurrence affinity (``1 / length`` or the resource-allocation weight of the shared
artists) plus, with configurable weights, links between genres whose names contain one
another and between genres whose tracks sound alike (:mod:`moodrec.genres.evidence`).
A super-genre is anchored at its own genre and at configured aliases; one that is no genre of
the graph can still be anchored through the genres whose names contain it (a name-only node).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph
from scipy.sparse.linalg import cg, spsolve

from moodrec.errors import InputDataError
from moodrec.genres.config import GenresConfig
from moodrec.genres.evidence import (
    audio_knn_affinity,
    name_containment_affinity,
    unit_mean_strength,
)
from moodrec.genres.graph import GenreGraph

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlacementAffinity:
    """The affinity label propagation runs on, over the graph's genres plus name-only anchors.

    Attributes
    ----------
    matrix
        Shape ``(n + len(virtual), n + len(virtual))``: symmetric, non-negative, zero diagonal;
        rows ``0..n-1`` are the graph's genres.
    virtual
        Configured super-genres (or aliases) that are not genres of the graph but were added
        as name-only nodes (rows ``n..``), linked only by name to the genres containing them.
    evidence
        JSON-able summary: which evidence was used and how many links it added.
    """

    matrix: sparse.csr_matrix
    virtual: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)


def _anchor_names(
    super_genres: tuple[str, ...] | list[str], aliases: dict[str, tuple[str, ...]] | None
) -> list[list[str]]:
    """Names that anchor each super-genre: its own name, then its aliases."""
    aliases = aliases or {}
    return [[s, *[a for a in aliases.get(s, ()) if a != s]] for s in super_genres]


def _anchor_indices(
    graph: GenreGraph,
    super_genres: tuple[str, ...] | list[str],
    aliases: dict[str, tuple[str, ...]] | None = None,
    virtual: tuple[str, ...] = (),
) -> tuple[list[str], list[list[int]], list[str]]:
    """Anchor nodes of each super-genre.

    Returns the super-genres with at least one anchor node (graph genre or name-only node),
    their anchor node indices, and the configured super-genres with no anchor among the
    graph's genres (``missing``, reported even when a name-only node stands in).
    """
    index = graph.index_of()
    extended = {**index, **{v: graph.n_nodes + i for i, v in enumerate(virtual)}}
    present: list[str] = []
    anchors: list[list[int]] = []
    missing: list[str] = []
    for s, names in zip(super_genres, _anchor_names(super_genres, aliases), strict=True):
        if not any(name in index for name in names):
            missing.append(s)
        nodes = sorted({extended[name] for name in names if name in extended})
        if nodes:
            present.append(s)
            anchors.append(nodes)
    return present, anchors, missing


#: up to this many unknowns the harmonic system is solved directly (sparse LU), above it by
#: Jacobi-preconditioned conjugate gradients (LU fill-in grows fast on dense genre graphs)
_DIRECT_SOLVE_MAX = 2000


def _solve_laplacian(lap_uu: sparse.csr_matrix, rhs: np.ndarray) -> np.ndarray:
    """Solve ``lap_uu @ X = rhs`` for a symmetric positive definite restricted Laplacian.

    Raises
    ------
    InputDataError
        When conjugate gradients do not converge.
    """
    m = lap_uu.shape[0]
    if m <= _DIRECT_SOLVE_MAX:
        return np.asarray(spsolve(lap_uu.tocsc(), rhs)).reshape(m, rhs.shape[1])
    inv_diag = sparse.diags(1.0 / lap_uu.diagonal())
    out = np.empty((m, rhs.shape[1]))
    for j in range(rhs.shape[1]):
        col, info = cg(lap_uu, rhs[:, j], rtol=1e-10, atol=0.0, maxiter=10 * m, M=inv_diag)
        if info != 0:
            raise InputDataError(f"label propagation did not converge (cg info {info})")
        out[:, j] = col
    return out


#: ``GenresConfig.propagation_affinity`` choices
PROPAGATION_AFFINITIES = ("inv_length", "allocation")


def cooccurrence_affinity(graph: GenreGraph, kind: str = "inv_length") -> sparse.csr_matrix:
    """Symmetric genre × genre affinity from the co-occurrence edges, shape ``(n, n)``.

    Parameters
    ----------
    graph
        The genre graph.
    kind
        ``"inv_length"``: ``1 / length`` (the edge length with its discount);
        ``"allocation"``: the resource-allocation weight (shared artists, each counting
        ``1 / (its genres - 1)``), which keeps artists with long genre lists from tying
        unrelated genre families together.

    Raises
    ------
    InputDataError
        When ``kind`` is unknown.
    """
    if kind == "inv_length":
        w = 1.0 / graph.edges["length"].to_numpy(dtype=np.float64)
    elif kind == "allocation":
        w = graph.edges["allocation"].to_numpy(dtype=np.float64)
    else:
        raise InputDataError(
            f"unknown propagation affinity {kind!r}; choose one of {PROPAGATION_AFFINITIES}"
        )
    n = graph.n_nodes
    s = graph.edges["source"].to_numpy()
    t = graph.edges["target"].to_numpy()
    return sparse.coo_matrix(
        (np.concatenate([w, w]), (np.concatenate([s, t]), np.concatenate([t, s]))),
        shape=(n, n),
    ).tocsr()


def placement_affinity(
    graph: GenreGraph,
    kind: str = "inv_length",
    name_weight: float = 0.0,
    audio_profiles: pd.DataFrame | None = None,
    audio_weight: float = 0.0,
    audio_neighbours: int = 8,
    anchors: tuple[str, ...] = (),
) -> PlacementAffinity:
    """Co-occurrence affinity plus weighted name and audio links, for label propagation.

    Each part is scaled to a mean node strength of 1 (:func:`unit_mean_strength`), then
    ``W = W_cooc + name_weight * W_names + audio_weight * W_audio``. With both weights 0 this
    is the co-occurrence affinity alone (graph-only placement).

    Parameters
    ----------
    graph
        The genre graph.
    kind
        Co-occurrence affinity, see :func:`cooccurrence_affinity`.
    name_weight
        Weight of :func:`name_containment_affinity` links (0 = names unused).
    audio_profiles
        :func:`genre_audio_profiles` output, or ``None`` when the source has no tracks.
    audio_weight
        Weight of the audio nearest-neighbour links (ignored without ``audio_profiles``).
    audio_neighbours
        ``k`` of the audio nearest-neighbour links.
    anchors
        Super-genre (and alias) names. With ``name_weight > 0``, those that are not genres of
        the graph become name-only nodes linked to the genres whose names contain them (a
        source without a ``classical`` tag still has "contemporary classical"); those that no
        genre name contains are left out.
    """
    genres = graph.nodes["genre"].tolist()
    n = len(genres)
    affinity = unit_mean_strength(cooccurrence_affinity(graph, kind))
    evidence: dict[str, Any] = {"affinity": kind, "names": False, "audio": False}
    virtual: tuple[str, ...] = ()
    if name_weight > 0:
        known = set(genres)
        absent = list(dict.fromkeys(a for a in anchors if a not in known))
        names = name_containment_affinity([*genres, *absent])
        linked = np.diff(names.indptr)[n:] > 0
        keep = np.r_[np.arange(n), n + np.flatnonzero(linked)]
        names = names[keep][:, keep].tocsr()
        virtual = tuple(a for a, ok in zip(absent, linked, strict=True) if ok)
        size = n + len(virtual)
        affinity = sparse.block_diag(
            [affinity, sparse.csr_matrix((len(virtual), len(virtual)))], format="csr"
        )
        affinity = affinity + name_weight * unit_mean_strength(names)
        evidence.update(
            names=True,
            name_weight=name_weight,
            name_links=int(names.nnz // 2),
            name_only_anchors=list(virtual),
        )
    else:
        size = n
    if audio_weight > 0 and audio_profiles is not None and len(audio_profiles):
        audio = audio_knn_affinity(genres, audio_profiles, audio_neighbours)
        audio = sparse.block_diag(
            [unit_mean_strength(audio), sparse.csr_matrix((size - n, size - n))], format="csr"
        )
        affinity = affinity + audio_weight * audio
        evidence.update(
            audio=True,
            audio_weight=audio_weight,
            audio_neighbours=audio_neighbours,
            genres_with_audio=int(pd.Index(genres).isin(audio_profiles.index).sum()),
            audio_links=int(audio.nnz // 2),
        )
    affinity = affinity.tocsr()
    affinity.setdiag(0.0)
    affinity.eliminate_zeros()
    return PlacementAffinity(matrix=affinity, virtual=virtual, evidence=evidence)


def propagate_super_genres(
    graph: GenreGraph,
    super_genres: tuple[str, ...] | list[str],
    affinity: PlacementAffinity | None = None,
    aliases: dict[str, tuple[str, ...]] | None = None,
) -> tuple[np.ndarray, list[str], list[str]]:
    """Super-genre scores by label propagation from the super-genre nodes.

    The harmonic solution of Zhu, Ghahramani & Lafferty (2003): the anchor nodes of each
    super-genre (its own genre, its aliases, name-only nodes) are clamped to their one-hot
    label and every other node takes the affinity-weighted mean of its neighbours' labels
    (``F_u = L_uu^-1 W_ul F_l`` with the graph Laplacian ``L``). A large super-genre spreads
    more mass than a small one, so each column is then divided by its total mass (class mass
    normalisation with a uniform prior), which keeps big, hub-rich super-genres from
    absorbing the genres of small ones. Nodes in a component without any anchor score zero
    everywhere.

    Parameters
    ----------
    graph
        The genre graph.
    super_genres
        Candidate super-genres (genre names).
    affinity
        :func:`placement_affinity`; default ``1 / length`` of the co-occurrence edges.
    aliases
        Extra anchor genres per super-genre (``{"hip hop": ("rap",)}``).

    Returns
    -------
    scores
        Shape ``(n, len(present))``: normalised scores (rows of placeable nodes sum to 1).
    present
        The configured super-genres with an anchor (column order of ``scores``).
    missing
        Configured super-genres none of whose anchor names is a genre of the graph.
    """
    if affinity is None:
        affinity = PlacementAffinity(cooccurrence_affinity(graph, "inv_length"))
    present, anchors, missing = _anchor_indices(graph, super_genres, aliases, affinity.virtual)
    n = graph.n_nodes
    w = affinity.matrix.tocsr()
    size = w.shape[0]
    scores = np.zeros((size, len(present)))
    if not present:
        return scores[:n], present, missing
    _, comp = csgraph.connected_components(w, directed=False)
    is_anchor = np.zeros(size, dtype=bool)
    for j, nodes in enumerate(anchors):
        scores[nodes, j] = 1.0
        is_anchor[nodes] = True
    clamped = np.flatnonzero(is_anchor)
    # only nodes sharing a component with some anchor can be reached by propagation;
    # there the restricted Laplacian L_uu is non-singular
    free = np.isin(comp, comp[clamped]) & ~is_anchor
    if free.any():
        degree = np.asarray(w.sum(axis=1)).ravel()
        lap = (sparse.diags(degree) - w).tocsr()
        lap_uu = lap[free][:, free].tocsr()
        rhs = np.asarray(w[free][:, clamped] @ scores[clamped])
        scores[free] = _solve_laplacian(lap_uu, rhs)
    mass = scores[free].sum(axis=0) if free.any() else np.zeros(len(present))
    scores[free] = scores[free] / np.where(mass > 0, mass, 1.0)
    # an alias claimed by two super-genres is split evenly (rows of placed nodes sum to 1)
    total = scores.sum(axis=1, keepdims=True)
    scores = np.divide(scores, total, out=np.zeros_like(scores), where=total > 0)
    return scores[:n], present, missing


def assign_super_genres(
    graph: GenreGraph,
    super_genres: tuple[str, ...] | list[str],
    method: str = "shortest_path",
    affinity: PlacementAffinity | None = None,
    aliases: dict[str, tuple[str, ...]] | None = None,
) -> tuple[list[str | None], np.ndarray, list[str]]:
    """Super-genre of every node.

    Parameters
    ----------
    graph
        The genre graph.
    super_genres
        Candidate super-genres (genre names; those absent from the graph are reported).
    method
        ``"shortest_path"`` (the seed's rule: the super-genre at the shortest weighted
        distance) or ``"label_propagation"`` (the highest :func:`propagate_super_genres`
        score).
    affinity
        Affinity for label propagation (:func:`placement_affinity`; default ``1 / length``).
        Ignored by ``shortest_path``.
    aliases
        Extra anchor genres per super-genre.

    Returns
    -------
    labels
        Super-genre per node (``None`` when no super-genre is reachable).
    distances
        Shortest co-occurrence path length to the assigned super-genre's nearest anchor
        genre, shape ``(n,)`` (inf when there is no co-occurrence path, e.g. a genre placed
        through its name alone).
    missing
        Configured super-genres none of whose anchor names is a genre of the graph.

    Raises
    ------
    InputDataError
        When ``method`` is unknown.
    """
    if method not in {"shortest_path", "label_propagation"}:
        raise InputDataError(f"unknown super-genre method {method!r}")
    n = graph.n_nodes
    present, anchors, missing = _anchor_indices(graph, super_genres, aliases)
    dist = np.full((len(present), n), np.inf)
    if present:
        flat = np.concatenate([np.asarray(a) for a in anchors])
        d_all = csgraph.dijkstra(graph.adjacency(), directed=False, indices=flat)
        owner = np.repeat(np.arange(len(present)), [len(a) for a in anchors])
        for j in range(len(present)):
            dist[j] = d_all[owner == j].min(axis=0)
    if method == "shortest_path":
        if not present:
            return [None] * n, np.full(n, np.inf), missing
        best = np.argmin(dist, axis=0)  # ties go to the earlier super-genre in the list
        best_d = dist[best, np.arange(n)]
        return (
            [present[b] if np.isfinite(d) else None for b, d in zip(best, best_d, strict=True)],
            best_d,
            missing,
        )
    scores, lp_present, missing = propagate_super_genres(graph, super_genres, affinity, aliases)
    if not lp_present:
        return [None] * n, np.full(n, np.inf), missing
    best = np.argmax(scores, axis=1)  # ties go to the earlier super-genre in the list
    placed = scores.sum(axis=1) > 0
    # distance rows exist only for super-genres anchored by a genre of the graph
    row = {s: j for j, s in enumerate(present)}
    dist_row = np.array([row.get(s, -1) for s in lp_present])[best]
    best_d = np.full(n, np.inf)
    if present:
        best_d = np.where(dist_row >= 0, dist[np.maximum(dist_row, 0), np.arange(n)], np.inf)
    labels = [lp_present[b] if ok else None for b, ok in zip(best, placed, strict=True)]
    return labels, best_d, missing


def place_super_genres(
    graph: GenreGraph, cfg: GenresConfig, audio_profiles: pd.DataFrame | None = None
) -> tuple[list[str | None], np.ndarray, list[str], dict[str, Any]]:
    """Super-genre of every genre with the configured method and evidence.

    Parameters
    ----------
    graph
        The genre graph.
    cfg
        Uses ``super_genres``, ``super_genre_aliases``, ``super_genre_method`` and, for label
        propagation, ``propagation_affinity``, ``name_prior_weight``, ``name_only_anchors``,
        ``audio_prior_weight``, ``audio_neighbours``.
    audio_profiles
        Per-genre audio profiles, or ``None`` (audio evidence unused).

    Returns
    -------
    labels, distances, missing
        As :func:`assign_super_genres`.
    evidence
        JSON-able summary of the evidence used (``affinity``, ``names``, ``audio``, ...).
    """
    aliases = {k: tuple(v) for k, v in cfg.super_genre_aliases.items()}
    if cfg.super_genre_method != "label_propagation":
        labels, dist, missing = assign_super_genres(
            graph, cfg.super_genres, cfg.super_genre_method, None, aliases
        )
        return labels, dist, missing, {"affinity": "shortest_path", "names": False, "audio": False}
    anchor_names = [a for names in _anchor_names(cfg.super_genres, aliases) for a in names]
    affinity = placement_affinity(
        graph,
        cfg.propagation_affinity,
        cfg.name_prior_weight,
        audio_profiles,
        cfg.audio_prior_weight,
        cfg.audio_neighbours,
        tuple(anchor_names) if cfg.name_only_anchors else (),
    )
    labels, dist, missing = assign_super_genres(
        graph, cfg.super_genres, "label_propagation", affinity, aliases
    )
    return labels, dist, missing, affinity.evidence
