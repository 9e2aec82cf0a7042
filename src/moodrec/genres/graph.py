"""Genre co-occurrence graph: nodes, weighted edges and their lengths.

Two genres are joined when at least ``min_edge_support`` artists carry both; the edge length
shrinks with that co-occurrence count ``c`` so that genres often seen together are near. The
seed's ``1/ln(c)`` is infinite at ``c = 1`` (and negative below), so one of two safe forms is
used (``GenresConfig.edge_weight``):

* ``inv_one_plus_log``: ``1 / (1 + ln c)`` — 1 at ``c = 1``, then the seed's shape shifted by 1;
* ``inv_log1p``: ``1 / ln(1 + c)`` — ``1/ln 2 ≈ 1.44`` at ``c = 1``.

Both are finite, positive and strictly decreasing for every ``c >= 1``. Super-genre
placement on this graph is :mod:`moodrec.genres.supergenres`; centrality, components and the
report are :mod:`moodrec.genres.analysis`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse

from moodrec.errors import InputDataError
from moodrec.genres.config import GenresConfig
from moodrec.genres.sources import limit_genres_per_artist, validate_genre_table

logger = logging.getLogger(__name__)


def edge_lengths(counts: np.ndarray | pd.Series, kind: str = "inv_one_plus_log") -> np.ndarray:
    """Edge lengths from co-occurrence counts (see the module docstring).

    Parameters
    ----------
    counts
        Co-occurrence counts, shape ``(m,)``, every value ``>= 1``.
    kind
        ``"inv_one_plus_log"`` or ``"inv_log1p"``.

    Raises
    ------
    InputDataError
        When a count is below 1 or not finite, or ``kind`` is unknown.
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.size and (not np.all(np.isfinite(c)) or c.min() < 1):
        raise InputDataError("co-occurrence counts must be finite and >= 1")
    if kind == "inv_one_plus_log":
        return 1.0 / (1.0 + np.log(c))
    if kind == "inv_log1p":
        return 1.0 / np.log1p(c)
    raise InputDataError(f"unknown edge weight {kind!r}")


#: above this many genres row overlaps use sparse row slicing instead of a dense float32 copy
_DENSE_MAX_NODES = 6000
_CHUNK_EDGES = 4096


def _row_min_sums(rows: sparse.csr_matrix, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``sum_k min(rows[s, k], rows[t, k])`` for every edge ``(s, t)``, shape ``(m,)``."""
    n = rows.shape[0]
    if n > _DENSE_MAX_NODES:
        return np.asarray(rows[source].minimum(rows[target]).sum(axis=1)).ravel()
    dense = rows.toarray().astype(np.float32)
    out = np.empty(len(source), dtype=np.float64)
    for lo in range(0, len(source), _CHUNK_EDGES):
        hi = lo + _CHUNK_EDGES
        out[lo:hi] = np.minimum(dense[source[lo:hi]], dense[target[lo:hi]]).sum(axis=1)
    return out


def neighbourhood_jaccard(source: np.ndarray, target: np.ndarray, n: int) -> np.ndarray:
    """Jaccard overlap of the closed neighbourhoods of each edge's two ends, in ``(0, 1]``.

    Both ends belong to both closed neighbourhoods, so the overlap is at least ``2 / (d_s +
    d_t)`` and never zero.
    """
    if len(source) == 0:
        return np.ones(0)
    ones = np.ones(len(source))
    adj = sparse.coo_matrix((ones, (source, target)), shape=(n, n))
    closed = (((adj + adj.T) > 0).astype(np.float64) + sparse.identity(n, format="csr")).tocsr()
    size = np.asarray(closed.sum(axis=1)).ravel()
    inter = _row_min_sums(closed, source, target)
    return inter / (size[source] + size[target] - inter)


def weighted_jaccard(
    source: np.ndarray, target: np.ndarray, counts: np.ndarray, support: np.ndarray, n: int
) -> np.ndarray:
    """Weighted Jaccard ``sum(min)/sum(max)`` of each edge's two co-occurrence rows, ``(0, 1]``.

    Rows are the co-occurrence counts with each genre's own support on the diagonal; both
    ends of an edge have a positive entry in both rows, so the overlap is never zero.
    """
    if len(source) == 0:
        return np.ones(0)
    c = counts.astype(np.float64)
    co = sparse.coo_matrix((c, (source, target)), shape=(n, n))
    rows = (co + co.T + sparse.diags(support.astype(np.float64))).tocsr()
    total = np.asarray(rows.sum(axis=1)).ravel()
    inter = _row_min_sums(rows, source, target)
    return inter / (total[source] + total[target] - inter)


def _allocation(incidence: sparse.csr_matrix, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Resource-allocation weight of each edge: ``sum over shared artists of 1 / (k_a - 1)``.

    An artist with ``k_a`` genres spreads one unit over its ``k_a - 1`` co-genres, so an
    artist tagged with everything says less about each pair than one with two genres.
    """
    if len(source) == 0:
        return np.ones(0)
    k = np.asarray(incidence.sum(axis=1)).ravel()
    share = sparse.diags(1.0 / np.maximum(k - 1.0, 1.0))
    alloc = (incidence.T @ share @ incidence).tocsr()
    return np.asarray(alloc[source, target]).ravel()


@dataclass(frozen=True)
class GenreGraph:
    """Genres (nodes, index = position) and weighted co-occurrence edges.

    ``nodes``: ``genre, support`` (artists carrying it), ``weight`` (summed tag weight).
    ``edges``: ``source, target`` (node positions, source < target), ``count``, ``jaccard``
    and ``weighted_jaccard`` (neighbourhood overlaps), ``allocation`` (sum over the shared
    artists of ``1 / (genres of the artist - 1)``), ``length`` (the shortest-path edge length).
    ``dropped``: genres under ``min_genre_support`` with their support (listed, not lost).
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    def index_of(self) -> dict[str, int]:
        return {g: i for i, g in enumerate(self.nodes["genre"])}

    def adjacency(self) -> sparse.csr_matrix:
        """Symmetric sparse matrix of edge lengths, shape ``(n_nodes, n_nodes)``."""
        n = self.n_nodes
        s = self.edges["source"].to_numpy()
        t = self.edges["target"].to_numpy()
        w = self.edges["length"].to_numpy(dtype=np.float64)
        return sparse.coo_matrix(
            (np.concatenate([w, w]), (np.concatenate([s, t]), np.concatenate([t, s]))),
            shape=(n, n),
        ).tocsr()

    def to_networkx(self) -> nx.Graph:
        g = nx.Graph()
        g.add_nodes_from(range(self.n_nodes))
        g.add_weighted_edges_from(
            zip(
                self.edges["source"].tolist(),
                self.edges["target"].tolist(),
                self.edges["length"].tolist(),
                strict=True,
            ),
            weight="length",
        )
        return g


def build_genre_graph(table: pd.DataFrame, cfg: GenresConfig) -> GenreGraph:
    """Build the co-occurrence graph from a tidy ``(artist, genre, weight)`` table.

    Parameters
    ----------
    table
        One row per artist and genre (not modified).
    cfg
        Uses ``max_genres_per_artist``, ``min_genre_support``, ``min_edge_support``,
        ``edge_weight``.

    Raises
    ------
    InputDataError
        When the table is malformed or no genre reaches ``min_genre_support``.
    """
    tidy = limit_genres_per_artist(validate_genre_table(table), cfg.max_genres_per_artist)
    stats = tidy.groupby("genre", sort=True).agg(
        support=("artist", "nunique"), weight=("weight", "sum")
    )
    keep = stats["support"] >= cfg.min_genre_support
    dropped = stats[~keep].reset_index()
    nodes = stats[keep].reset_index()
    if nodes.empty:
        raise InputDataError(
            f"no genre is carried by >= {cfg.min_genre_support} artists "
            f"({len(stats)} genres in the input)"
        )
    idx = pd.Index(nodes["genre"])
    kept = tidy[tidy["genre"].isin(idx)]
    a_codes, _ = pd.factorize(kept["artist"], sort=True)
    g_codes = idx.get_indexer(kept["genre"])
    incidence = sparse.csr_matrix(
        (np.ones(len(kept), dtype=np.float64), (a_codes, g_codes)),
        shape=(int(a_codes.max()) + 1 if len(a_codes) else 0, len(nodes)),
    )
    co = sparse.triu(incidence.T @ incidence, k=1).tocoo()
    mask = co.data >= cfg.min_edge_support
    counts = co.data[mask].astype(np.int64)
    src, dst = co.row[mask].astype(np.int64), co.col[mask].astype(np.int64)
    allocation = _allocation(incidence, src, dst)
    length = edge_lengths(counts, cfg.edge_weight)
    overlap = neighbourhood_jaccard(src, dst, len(nodes))
    weighted = weighted_jaccard(src, dst, counts, nodes["support"].to_numpy(), len(nodes))
    if cfg.edge_discount == "jaccard":
        length = length / overlap
    elif cfg.edge_discount == "weighted_jaccard":
        length = length / weighted
    edges = pd.DataFrame(
        {
            "source": src,
            "target": dst,
            "count": counts,
            "jaccard": overlap,
            "weighted_jaccard": weighted,
            "allocation": allocation,
            "length": length,
        }
    ).sort_values(["source", "target"], ignore_index=True)
    logger.info(
        "genre graph: %d genres (%d under support %d), %d edges",
        len(nodes),
        len(dropped),
        cfg.min_genre_support,
        len(edges),
    )
    return GenreGraph(nodes=nodes, edges=edges, dropped=dropped)
