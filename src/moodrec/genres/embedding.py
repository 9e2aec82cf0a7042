"""Genre embeddings (classical MDS / UMAP on shortest-path distances, or random walks) and
per-track genre vectors.

Shortest-path distances between disconnected genres are infinite; before embedding they are
replaced by ``1.5 ×`` the largest finite distance, so every component is placed but kept apart
(the components themselves are reported by :mod:`moodrec.genres.graph`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from moodrec import progress
from moodrec.errors import InputDataError
from moodrec.genres.config import GenresConfig
from moodrec.genres.graph import GenreGraph

logger = logging.getLogger(__name__)

#: distance given to unreachable pairs, as a multiple of the largest finite distance
DISCONNECTED_FACTOR = 1.5


def shortest_path_matrix(graph: GenreGraph) -> np.ndarray:
    """All-pairs weighted shortest-path lengths, shape ``(n, n)``, float64, inf if unreachable."""
    return csgraph.dijkstra(graph.adjacency(), directed=False)


def finite_distances(dist: np.ndarray) -> np.ndarray:
    """A copy of ``dist`` with infinite entries replaced (see the module docstring)."""
    out = np.array(dist, dtype=np.float64, copy=True)
    finite = np.isfinite(out)
    cap = out[finite].max() if finite.any() else 1.0
    out[~finite] = DISCONNECTED_FACTOR * max(cap, 1e-12)
    return out


def classical_mds(dist: np.ndarray, dim: int) -> np.ndarray:
    """Torgerson (classical) MDS of a distance matrix, shape ``(n, dim)``.

    Double-centres the squared distances and keeps the top ``dim`` eigenvectors scaled by the
    square roots of their (positive) eigenvalues. Deterministic up to eigenvector signs, which
    are fixed so the largest-magnitude entry of each axis is positive.
    """
    d = finite_distances(dist)
    n = d.shape[0]
    if n == 0:
        return np.zeros((0, dim))
    k = min(dim, max(n - 1, 1))
    d2 = d**2
    row = d2.mean(axis=1, keepdims=True)
    b = -0.5 * (d2 - row - row.T + d2.mean())
    if n <= 500 or k >= n - 1:
        vals, vecs = np.linalg.eigh(b)
        order = np.argsort(vals)[::-1][:k]
        vals, vecs = vals[order], vecs[:, order]
    else:
        from scipy.sparse.linalg import eigsh

        v0 = np.ones(n) / np.sqrt(n)
        vals, vecs = eigsh(b, k=k, which="LA", v0=v0)
        order = np.argsort(vals)[::-1]
        vals, vecs = vals[order], vecs[:, order]
    coords = vecs * np.sqrt(np.clip(vals, 0.0, None))
    signs = np.sign(coords[np.abs(coords).argmax(axis=0), np.arange(coords.shape[1])])
    coords = coords * np.where(signs == 0, 1.0, signs)
    if k < dim:
        coords = np.hstack([coords, np.zeros((n, dim - k))])
    return coords


def umap_precomputed(dist: np.ndarray, dim: int, n_neighbors: int, seed: int) -> np.ndarray:
    """UMAP of a precomputed distance matrix, shape ``(n, dim)`` (falls back to MDS if tiny)."""
    n = dist.shape[0]
    if n <= dim + 2:
        return classical_mds(dist, dim)
    import umap  # heavy import (numba); only when asked for

    reducer = umap.UMAP(
        n_components=dim,
        metric="precomputed",
        n_neighbors=min(n_neighbors, n - 1),
        random_state=seed,
        init="random" if n < 4 * dim else "spectral",
        n_jobs=1,
    )
    return np.asarray(reducer.fit_transform(finite_distances(dist)), dtype=np.float64)


def random_walks(graph: GenreGraph, walk_length: int, walks_per_node: int, seed: int) -> np.ndarray:
    """Uniform-bias (node2vec ``p = q = 1``) weighted random walks, shape ``(n·walks, length)``.

    The step probability is proportional to the co-occurrence count of the edge (a stronger
    link is followed more often). Isolated genres "walk" on the spot, so they still get a
    vector. Vectorised: all walkers step at once by a binary search in per-row cumulative
    probabilities laid out as ``row + cumsum`` on one sorted array.
    """
    n = graph.n_nodes
    rng = np.random.default_rng(seed)
    e = graph.edges
    w = e["count"].to_numpy(dtype=np.float64)
    s, t = e["source"].to_numpy(), e["target"].to_numpy()
    a = sparse.coo_matrix(
        (np.concatenate([w, w]), (np.concatenate([s, t]), np.concatenate([t, s]))), shape=(n, n)
    ).tocsr()
    a.sort_indices()
    deg = np.diff(a.indptr)
    rowsum = np.asarray(a.sum(axis=1)).ravel()
    row_of = np.repeat(np.arange(n), deg)
    cum = np.zeros_like(a.data)
    if a.nnz:
        csum = np.cumsum(a.data)
        start = np.concatenate([[0.0], csum])[a.indptr[:-1]]
        cum = (csum - np.repeat(start, deg)) / np.repeat(rowsum, deg)
        cum[np.r_[a.indptr[1:] - 1][deg > 0]] = 1.0  # exact ends against rounding
    key = row_of + cum  # sorted: rows in order, cumulative probabilities within each row
    starts = np.tile(np.arange(n), walks_per_node)
    walks = np.empty((starts.size, walk_length), dtype=np.int64)
    walks[:, 0] = starts
    cur = starts
    for step in range(1, walk_length):
        r = rng.random(cur.size)
        pos = np.searchsorted(key, cur + r, side="left")
        pos = np.minimum(pos, max(a.nnz - 1, 0))
        has = deg[cur] > 0
        nxt = np.where(has, a.indices[pos] if a.nnz else cur, cur)
        walks[:, step] = nxt
        cur = nxt
    return walks


def node2vec_embedding(graph: GenreGraph, dim: int, cfg: GenresConfig) -> np.ndarray:
    """Random-walk embedding (gensim skip-gram Word2Vec on walks), shape ``(n, dim)``.

    Trained single-threaded with an explicit seed so a run reproduces exactly.
    """
    from gensim.models import Word2Vec

    walks = random_walks(graph, cfg.walk_length, cfg.walks_per_node, cfg.seed)
    sentences = [[str(x) for x in row] for row in walks.tolist()]
    model = Word2Vec(
        sentences,
        vector_size=dim,
        window=cfg.word2vec_window,
        min_count=1,
        sg=1,
        workers=1,
        seed=cfg.seed,
        epochs=cfg.word2vec_epochs,
    )
    return np.vstack([model.wv[str(i)] for i in range(graph.n_nodes)]).astype(np.float64)


#: the steps of :func:`embed_genres` as the progress view names them
SHORTEST_PATHS_STEP = "shortest paths (APSP)"


def embedding_steps(cfg: GenresConfig) -> list[str]:
    """The labels :func:`embed_genres` reports, in order, for ``cfg.embedding``."""
    if cfg.embedding == "node2vec":
        return ["node2vec walks + word2vec", "MDS maps"]
    return ["MDS vectors", *(["UMAP 2D", "UMAP 3D"] if cfg.embedding == "umap" else [])]


def embed_genres(
    graph: GenreGraph,
    cfg: GenresConfig,
    dist: np.ndarray | None = None,
    steps: progress.Steps | None = None,
) -> pd.DataFrame:
    """Genre vectors (``vector_dim``) and 2D/3D map coordinates with ``cfg.embedding``.

    ``steps`` (optional) is told when each of :func:`embedding_steps` starts.

    Returns
    -------
    DataFrame
        One row per genre in graph order: ``genre``, ``x, y`` (2D), ``x3, y3, z3`` (3D) and
        ``v0 … v{vector_dim-1}``.

    Raises
    ------
    InputDataError
        When the graph has no genre.
    """
    n = graph.n_nodes
    if n == 0:
        raise InputDataError("cannot embed an empty genre graph")
    start = steps.start if steps is not None else (lambda label: None)
    if cfg.embedding == "node2vec":
        start("node2vec walks + word2vec")
        vectors = node2vec_embedding(graph, cfg.vector_dim, cfg)
        # maps from the vectors: classical MDS of their Euclidean distances
        start("MDS maps")
        diff = vectors[:, None, :] - vectors[None, :, :] if n <= 3000 else None
        vd = np.sqrt((diff**2).sum(-1)) if diff is not None else _pairwise(vectors)
        map2, map3 = classical_mds(vd, 2), classical_mds(vd, 3)
    else:
        if dist is None:
            start(SHORTEST_PATHS_STEP)
        d = shortest_path_matrix(graph) if dist is None else dist
        start("MDS vectors")
        vectors = classical_mds(d, cfg.vector_dim)
        if cfg.embedding == "umap":
            start("UMAP 2D")
            map2 = umap_precomputed(d, 2, cfg.umap_neighbors, cfg.seed)
            start("UMAP 3D")
            map3 = umap_precomputed(d, 3, cfg.umap_neighbors, cfg.seed)
        else:
            map2, map3 = vectors[:, :2].copy(), vectors[:, :3].copy()
    out = pd.DataFrame({"genre": graph.nodes["genre"].to_numpy()})
    out[["x", "y"]] = map2
    out[["x3", "y3", "z3"]] = map3
    vec_cols = [f"v{i}" for i in range(vectors.shape[1])]
    return pd.concat([out, pd.DataFrame(vectors, columns=vec_cols)], axis=1)


def _pairwise(x: np.ndarray) -> np.ndarray:
    sq = (x**2).sum(axis=1)
    return np.sqrt(np.clip(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0, None))


def vector_columns(embedding: pd.DataFrame) -> list[str]:
    """The ``v*`` columns of an embedding table, in order."""
    return [c for c in embedding.columns if c.startswith("v") and c[1:].isdigit()]


def track_genre_vectors(
    tracks: pd.DataFrame,
    artist_genres: pd.DataFrame,
    embedding: pd.DataFrame,
    method: str = "closest_pair",
) -> pd.DataFrame:
    """One genre vector per track from its artist's genres.

    Parameters
    ----------
    tracks
        Columns ``track_id``, ``artist`` (the key used in ``artist_genres``).
    artist_genres
        Tidy ``artist, genre, weight`` table.
    embedding
        Output of :func:`embed_genres`.
    method
        ``closest_pair``: the seed's rule, the mean vector of the two of the artist's genres
        that lie closest together (the genre itself when it has one); ``weighted_mean``: the
        weight-averaged vector of all the artist's genres.

    Returns
    -------
    DataFrame
        ``track_id``, ``n_genres`` (embedded genres of the artist), ``top_genre`` and
        ``g0 … g{d-1}`` (NaN for tracks whose artist has no embedded genre).
    """
    cols = vector_columns(embedding)
    vec = embedding.set_index("genre")[cols]
    ag = artist_genres[artist_genres["genre"].isin(vec.index)]
    per_artist: dict[str, np.ndarray] = {}
    top: dict[str, str] = {}
    n_gen: dict[str, int] = {}
    for artist, grp in ag.groupby("artist", sort=False):
        grp = grp.sort_values(["weight", "genre"], ascending=[False, True])
        v = vec.loc[grp["genre"]].to_numpy()
        top[artist] = str(grp["genre"].iloc[0])
        n_gen[artist] = len(grp)
        if len(grp) == 1:
            per_artist[artist] = v[0]
        elif method == "closest_pair":
            d = ((v[:, None, :] - v[None, :, :]) ** 2).sum(-1)
            d[np.diag_indices_from(d)] = np.inf
            i, j = np.unravel_index(np.argmin(d), d.shape)
            per_artist[artist] = (v[i] + v[j]) / 2.0
        elif method == "weighted_mean":
            w = grp["weight"].to_numpy(dtype=np.float64)
            per_artist[artist] = (v * w[:, None]).sum(axis=0) / w.sum()
        else:
            raise InputDataError(f"unknown track vector method {method!r}")
    keys = tracks["artist"].astype(str)
    mat = np.full((len(tracks), len(cols)), np.nan)
    for r, key in enumerate(keys):
        if key in per_artist:
            mat[r] = per_artist[key]
    out = pd.DataFrame(
        {
            "track_id": tracks["track_id"].to_numpy(),
            "n_genres": keys.map(n_gen).fillna(0).astype(np.int64).to_numpy(),
            "top_genre": keys.map(top).astype("string").to_numpy(),
        }
    )
    g = pd.DataFrame(mat, columns=[f"g{i}" for i in range(len(cols))])
    return pd.concat([out, g], axis=1)
