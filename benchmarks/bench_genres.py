"""Speed benchmark of the genres/clustering stages (``python -m benchmarks.bench_genres``).

1. A synthetic 5,000-genre co-occurrence graph (100 genre families, 25,000 artists with 2–5
   genres, 85 % from their own family): all-pairs shortest paths + classical-MDS genre vectors
   (target <= 60 s), and a UMAP 2D map of the same distances, reported separately.
2. MiniBatchKMeans (k = 8) on 1,000,000 × 12 synthetic audio features (target <= 120 s).

Writes ``benchmarks/results/genres.json`` and ``genres.md`` atomically.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec.clustering.config import ClusteringConfig
from moodrec.clustering.methods import fit_predict
from moodrec.genres.config import GenresConfig
from moodrec.genres.embedding import classical_mds, shortest_path_matrix, umap_precomputed
from moodrec.genres.graph import build_genre_graph
from moodrec.storage import write_json_atomic, write_text_atomic

logger = logging.getLogger(__name__)
RESULTS = Path(__file__).parent / "results"


def synthetic_genre_table(n_genres: int = 5000, n_artists: int = 25_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_fam = 100
    fam_of = np.arange(n_genres) % n_fam
    members = [np.flatnonzero(fam_of == f) for f in range(n_fam)]
    rows_a, rows_g = [], []
    fam = rng.integers(0, n_fam, n_artists)
    k = rng.integers(2, 6, n_artists)
    for a in range(n_artists):
        own = rng.random(k[a]) < 0.85
        g = np.where(own, rng.choice(members[fam[a]], k[a]), rng.integers(0, n_genres, k[a]))
        rows_a.extend([a] * k[a])
        rows_g.extend(g.tolist())
    # every genre at least once so the graph has exactly n_genres nodes
    rows_a.extend(range(n_artists, n_artists + n_genres))
    rows_g.extend(range(n_genres))
    return pd.DataFrame(
        {
            "artist": np.asarray(rows_a).astype(str),
            "genre": [f"genre {g:05d}" for g in rows_g],
            "weight": 1.0,
        }
    )


def bench_graph() -> dict[str, Any]:
    table = synthetic_genre_table()
    cfg = GenresConfig()
    t0 = time.perf_counter()
    g = build_genre_graph(table, cfg)
    t1 = time.perf_counter()
    dist = shortest_path_matrix(g)
    t2 = time.perf_counter()
    vec = classical_mds(dist, cfg.vector_dim)
    t3 = time.perf_counter()
    map2 = umap_precomputed(dist, 2, cfg.umap_neighbors, cfg.seed)
    t4 = time.perf_counter()
    if vec.shape != (g.n_nodes, cfg.vector_dim) or map2.shape != (g.n_nodes, 2):
        raise RuntimeError(f"unexpected embedding shapes {vec.shape}, {map2.shape}")
    return {
        "n_genres": g.n_nodes,
        "n_edges": len(g.edges),
        "build_s": round(t1 - t0, 2),
        "apsp_s": round(t2 - t1, 2),
        "mds_vectors_s": round(t3 - t2, 2),
        "umap_2d_s": round(t4 - t3, 2),
        "apsp_plus_mds_s": round(t3 - t1, 2),
        "apsp_plus_mds_plus_umap_s": round(t4 - t1, 2),
        "target_s": 60,
    }


def bench_minibatch() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n, d, k = 1_000_000, 12, 8
    centres = rng.normal(0, 3, (k, d))
    x = (centres[rng.integers(0, k, n)] + rng.normal(0, 1, (n, d))).astype(np.float64)
    cfg = ClusteringConfig()
    t0 = time.perf_counter()
    lab = fit_predict("minibatch_kmeans", x, k, cfg, seed=0)
    t1 = time.perf_counter()
    return {
        "rows": n,
        "features": d,
        "k": k,
        "fit_predict_s": round(t1 - t0, 2),
        "clusters_found": int(np.unique(lab).size),
        "target_s": 120,
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "genre_graph_5000": bench_graph(),
        "minibatch_kmeans_1m_x_12": bench_minibatch(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json_atomic(RESULTS / "genres.json", result)
    g, m = result["genre_graph_5000"], result["minibatch_kmeans_1m_x_12"]
    md = [
        "# genres benchmark",
        "",
        f"machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}",
        "",
        "| benchmark | measured | target |",
        "|---|---|---|",
        f"| APSP + MDS vectors, {g['n_genres']} genres / {g['n_edges']} edges "
        f"| {g['apsp_plus_mds_s']} s | ≤ {g['target_s']} s |",
        f"| graph build (co-occurrence + weighted-Jaccard discount) | {g['build_s']} s | — |",
        f"| … + UMAP 2D map | {g['apsp_plus_mds_plus_umap_s']} s | ≤ {g['target_s']} s |",
        f"| MiniBatchKMeans k=8 on 1M × 12 | {m['fit_predict_s']} s | ≤ {m['target_s']} s |",
        "",
    ]
    write_text_atomic(RESULTS / "genres.md", "\n".join(md))
    logger.info("benchmark results: %s", result)


if __name__ == "__main__":
    main()
