"""Speed and planted-truth benchmark of the genres/clustering stages.

Run ``python -m benchmarks.bench_genres [--sections speed,super_genres,clustering]
[--seeds 42,1,2,3] [--holdout-seeds 11,12]`` (``quality`` = ``super_genres,clustering``).

Speed:

1. A synthetic 5,000-genre co-occurrence graph (100 genre families, 25,000 artists with 2–5
   genres, 85 % from their own family): all-pairs shortest paths + classical-MDS genre vectors
   (target <= 60 s), and a UMAP 2D map of the same distances, reported separately; the
   super-genre placement (shortest path and label propagation, 9 anchors) on the same graph.
2. MiniBatchKMeans (k = 8) on 1,000,000 × 12 synthetic audio features (target <= 120 s), and
   the Box–Cox feature scaling of that matrix.

Quality (issue 6 planted-truth targets, sandbox ``demo`` worlds, one per seed):

3. Super-genre placement vs the planted hierarchy (target >= 0.90): the shortest path, label
   propagation on graph evidence only (``1/length`` — the earlier default — and the
   resource-allocation affinity), + genre-name links, + audio links, and the default (graph +
   names + audio), next to a vote over each genre's co-occurrence neighbours' TRUE
   super-genres (what the graph's local evidence allows at best for a one-hop rule). The
   settings were selected on seeds 1-10; seed 42 (the acceptance test) and the held-out
   seeds 11-20 are reported apart. On the real HetRec and Spotify genre sources (when
   ``../shared/data`` exists): hits on a fixed list of well-known genres per variant.
4. Audio-feature clustering: the selected candidate's silhouette, Davies–Bouldin,
   Calinski–Harabasz and its ARI against the planted clusters (target >= 0.8), for the
   default (Box–Cox scaling, Gaussian mixtures selected by ICL) and the earlier default
   (robust scaling, mean rank of silhouette/DB/CH).

Writes ``benchmarks/results/genres.json`` and ``genres.md`` atomically; a run of one section
keeps the other section's previous results.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec.clustering.config import ClusteringConfig
from moodrec.clustering.methods import (
    feature_matrix,
    fit_predict,
    power_transform,
    select_clustering,
)
from moodrec.genres.config import GenresConfig
from moodrec.genres.embedding import classical_mds, shortest_path_matrix, umap_precomputed
from moodrec.genres.graph import GenreGraph, build_genre_graph
from moodrec.genres.sources import read_hetrec_tags, read_sandbox_genres, read_spotify_artist_genres
from moodrec.genres.stage import load_tracks, placement_audio_profiles
from moodrec.genres.supergenres import assign_super_genres, place_super_genres
from moodrec.sandbox.config import SandboxConfig
from moodrec.sandbox.world import generate_world
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
    anchors = tuple(g.nodes["genre"].iloc[:9])  # one genre from each of 9 families
    placement = {}
    for method in ("shortest_path", "label_propagation"):
        t = time.perf_counter()
        labels, _, _ = assign_super_genres(g, anchors, method)
        placement[f"super_genre_{method}_s"] = round(time.perf_counter() - t, 2)
        if sum(x is None for x in labels) == len(labels):
            raise RuntimeError(f"{method} placed no genre")
    t = time.perf_counter()
    place_super_genres(g, cfg.model_copy(update={"super_genres": anchors}))
    placement["super_genre_default_s"] = round(time.perf_counter() - t, 2)
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
        **placement,
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
    power_transform(x)
    t2 = time.perf_counter()
    return {
        "power_transform_s": round(t2 - t1, 2),
        "rows": n,
        "features": d,
        "k": k,
        "fit_predict_s": round(t1 - t0, 2),
        "clusters_found": int(np.unique(lab).size),
        "target_s": 120,
    }


#: well-known genres and the super-genre a listener would give them (fixed before measuring)
KNOWN_GENRES = {
    "death metal": "metal",
    "black metal": "metal",
    "thrash metal": "metal",
    "heavy metal": "metal",
    "power metal": "metal",
    "groove metal": "metal",
    "alternative metal": "metal",
    "hip-hop": "hip hop",
    "rap": "hip hop",
    "gangsta rap": "hip hop",
    "dutch hip hop": "hip hop",
    "pop rap": "hip hop",
    "trance": "electronica",
    "house": "electronica",
    "techno": "electronica",
    "drum and bass": "electronica",
    "big room": "electronica",
    "edm": "electronica",
    "hardstyle": "electronica",
    "punk": "rock",
    "hard rock": "rock",
    "classic rock": "rock",
    "grunge": "rock",
    "album rock": "rock",
    "bebop": "jazz",
    "smooth jazz": "jazz",
    "vocal jazz": "jazz",
    "opera": "classical",
    "baroque": "classical",
    "folk rock": "folk",
    "singer-songwriter": "folk",
    "indie folk": "folk",
    "dance pop": "pop",
    "europop": "pop",
    "classic dutch pop": "pop",
    "noise": "experimental",
}
#: placement variants: label -> GenresConfig overrides ("default" = the stage default)
PLACEMENTS: dict[str, dict[str, Any]] = {
    "shortest_path": {"super_genre_method": "shortest_path"},
    "propagation_inv_length": {
        "propagation_affinity": "inv_length",
        "name_prior_weight": 0.0,
        "audio_prior_weight": 0.0,
    },
    "propagation_allocation": {"name_prior_weight": 0.0, "audio_prior_weight": 0.0},
    "allocation_names": {"audio_prior_weight": 0.0},
    "allocation_audio": {"name_prior_weight": 0.0},
    "default": {},
}
PLACEMENT_NOTES = {
    "shortest_path": "graph only: the seed's nearest super-genre by weighted shortest path",
    "propagation_inv_length": "graph only: label propagation, affinity 1/length (earlier default)",
    "propagation_allocation": "graph only: label propagation, resource-allocation affinity",
    "allocation_names": "graph + genre-name links (weight 0.25)",
    "allocation_audio": "graph + audio-profile links (weight 0.1, k = 8)",
    "default": "graph + names + audio (the default)",
}
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _world(seed: int, root: Path) -> Path:
    truth = root / f"demo-{seed}" / "truth"
    if not (truth / "tracks.parquet").is_file():
        generate_world(SandboxConfig(profile="demo", seed=seed), truth.parent)
    return truth


def _neighbour_vote(g: GenreGraph, truth: pd.Series, names: tuple[str, ...]) -> float:
    """Accuracy of a count-weighted vote over each genre's neighbours' TRUE super-genres."""
    from scipy import sparse

    n = g.n_nodes
    e = g.edges
    c = e["count"].to_numpy(dtype=np.float64)
    s, t = e["source"].to_numpy(), e["target"].to_numpy()
    w = sparse.coo_matrix((np.r_[c, c], (np.r_[s, t], np.r_[t, s])), shape=(n, n)).tocsr()
    y = np.array([names.index(truth[x]) for x in g.nodes["genre"]])
    votes = w @ np.eye(len(names))[y]
    pred = votes.argmax(axis=1)
    hit = pd.Series(pred == y, index=g.nodes["genre"])
    return float(hit.reindex(truth.index).fillna(False).mean())


def _placement(
    table: pd.DataFrame, tracks: pd.DataFrame | None, g: GenreGraph, overrides: dict[str, Any]
) -> pd.Series:
    """Super-genre per genre of one placement variant (index = genre)."""
    cfg = GenresConfig(**overrides)
    labels, _, _, _ = place_super_genres(g, cfg, placement_audio_profiles(table, tracks, cfg))
    return pd.Series(labels, index=g.nodes["genre"], dtype=object)


def _seed_rows(seeds: list[int], root: Path) -> list[dict[str, Any]]:
    rows = []
    for seed in seeds:
        truth_dir = _world(seed, root)
        truth = pd.read_parquet(truth_dir / "genres.parquet").set_index("genre")["super_genre"]
        cfg = GenresConfig()
        table = read_sandbox_genres(truth_dir)
        tracks = load_tracks(cfg, truth_dir)
        g = build_genre_graph(table, cfg)
        row: dict[str, Any] = {
            "seed": seed,
            "n_genres": len(truth),
            "super_genres_missing": [x for x in cfg.super_genres if x not in g.index_of()],
        }
        for name, overrides in PLACEMENTS.items():
            got = _placement(table, tracks, g, overrides).reindex(truth.index)
            row[name] = round(float((got == truth).mean()), 4)
        row["true_neighbour_vote"] = round(_neighbour_vote(g, truth, cfg.super_genres), 4)
        rows.append(row)
    return rows


def _means(rows: list[dict[str, Any]]) -> dict[str, float]:
    keys = (*PLACEMENTS, "true_neighbour_vote")
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in keys}


def bench_super_genres(seeds: list[int], holdout: list[int], root: Path) -> dict[str, Any]:
    """Planted-truth match per placement variant on the tuning and the held-out seeds."""
    tuning = [s for s in seeds if s != 42]
    rows = _seed_rows(seeds, root)
    held = _seed_rows(holdout, root) if holdout else []
    return {
        "per_seed": rows,
        "mean": _means(rows),
        "mean_tuning_seeds": _means([r for r in rows if r["seed"] in tuning]) if tuning else {},
        "tuning_seeds": tuning,
        "holdout_per_seed": held,
        "holdout_mean": _means(held) if held else {},
        "target": 0.90,
    }


def bench_super_genres_real() -> dict[str, Any] | None:
    if not SHARED.is_dir():
        return None
    hetrec = SHARED / "hetrec2011_lastfm_2k"
    spotify = SHARED / "spotify_top40nl_artist_genres" / "spotify_songs_top40nl.csv"
    sources = {
        # the settings the real-data tests use
        "hetrec": (
            read_hetrec_tags(hetrec),
            {"source": "hetrec", "path": hetrec, "min_genre_support": 10, "min_edge_support": 2},
        ),
        "spotify_top40nl": (
            read_spotify_artist_genres(spotify),
            {"source": "spotify_csv", "path": spotify},
        ),
    }
    out: dict[str, Any] = {}
    for name, (table, base) in sources.items():
        cfg = GenresConfig(**base)
        tracks = load_tracks(cfg)
        g = build_genre_graph(table, cfg)
        labels = {
            v: _placement(table, tracks, g, {**base, **overrides})
            for v, overrides in PLACEMENTS.items()
        }
        known = [k for k in KNOWN_GENRES if k in g.index_of()]
        out[name] = {
            "n_genres": g.n_nodes,
            "has_audio": tracks is not None,
            "known_genres": len(known),
            "known_hits": {
                v: int(sum(lab[k] == KNOWN_GENRES[k] for k in known)) for v, lab in labels.items()
            },
            "known_misses_default": {
                k: labels["default"][k] for k in known if labels["default"][k] != KNOWN_GENRES[k]
            },
            "default_counts": {
                str(k): int(v)
                for k, v in labels["default"].value_counts(dropna=False).sort_index().items()
            },
            # pairs, not a dict: the results JSON is written with sorted keys
            "default_examples": [
                [k, labels["default"][k]]
                for k in g.nodes.sort_values("support", ascending=False)["genre"].head(25)
            ],
        }
    return out


CLUSTER_CONFIGS = {
    "default (power scaling, GMM by ICL)": {},
    "previous (robust scaling, rank_mean)": {"scaling": "robust", "selection": "rank_mean"},
}


def bench_clustering(seeds: list[int], root: Path) -> dict[str, Any]:
    from sklearn.metrics import adjusted_rand_score

    rows = []
    for seed in seeds:
        tracks = pd.read_parquet(_world(seed, root) / "tracks.parquet")
        blind = tracks.drop(columns=["audio_cluster", "audio_cluster_label", "super_genre"])
        for label, overrides in CLUSTER_CONFIGS.items():
            cfg = ClusteringConfig(
                methods=("kmeans", "gmm", "agglomerative"),
                k_min=4,
                k_max=12,
                bootstrap_rounds=0,
                silhouette_sample=2000,
                **overrides,
            )
            t0 = time.perf_counter()
            res = select_clustering(feature_matrix(blind, cfg.audio_features, cfg.scaling), cfg)
            sel = res.selected
            rows.append(
                {
                    "seed": seed,
                    "config": label,
                    "method": sel["method"],
                    "k": sel["k"],
                    "silhouette": round(sel["silhouette"], 4),
                    "davies_bouldin": round(sel["davies_bouldin"], 4),
                    "calinski_harabasz": round(sel["calinski_harabasz"], 1),
                    "ari": round(
                        float(adjusted_rand_score(tracks["audio_cluster"], res.labels)), 4
                    ),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
    df = pd.DataFrame(rows)
    mean = df.groupby("config")["ari"].agg(["mean", "min"]).round(4)
    return {
        "per_seed": rows,
        "ari_mean": mean["mean"].to_dict(),
        "ari_min": mean["min"].to_dict(),
        "target": 0.8,
        "n_planted_clusters": int(tracks["audio_cluster"].nunique()),
    }


def _placement_table(rows: list[dict[str, Any]], mean: dict[str, float], label: str) -> list[str]:
    cols = [*PLACEMENTS, "true_neighbour_vote"]
    md = [
        "| seed | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for r in rows:
        cells = [f"{r[c]:.3f}" for c in cols]
        missing = (
            f" (no {', '.join(r['super_genres_missing'])} node)"
            if r.get("super_genres_missing")
            else ""
        )
        md.append(f"| {r['seed']}{missing} | " + " | ".join(cells) + " |")
    md.append(f"| **{label}** | " + " | ".join(f"**{mean[c]:.3f}**" for c in cols) + " |")
    return md


def _super_genre_markdown(sg: dict[str, Any], real: dict[str, Any] | None) -> list[str]:
    md = [
        "## Planted truth: super-genre placement (sandbox demo worlds)",
        "",
        f"Share of the 153 planted genres placed under their planted super-genre (target ≥ "
        f"{sg['target']}). Variants:",
        "",
        *[f"- `{k}`: {v}" for k, v in PLACEMENT_NOTES.items()],
        "- `true_neighbour_vote`: a vote over each genre's co-occurrence neighbours' TRUE "
        "super-genres — a reference for the graph's local evidence, not a method.",
        "",
        f"Weights and affinity were selected on seeds {sg['tuning_seeds']}; seed 42 is the "
        "acceptance test's world.",
        "",
        *_placement_table(sg["per_seed"], sg["mean"], "mean"),
        "",
        "Tuning seeds only: "
        + ", ".join(
            f"{c} {sg['mean_tuning_seeds'][c]:.3f}"
            for c in [*PLACEMENTS, "true_neighbour_vote"]
            if c in sg["mean_tuning_seeds"]
        ),
        "",
    ]
    if sg.get("holdout_per_seed"):
        md += [
            "Held-out seeds, not used to choose the affinity or the weights (seed 18's world "
            "has no `classical` tag; looking at it led to the name-only anchors, which change "
            "nothing where every super-genre is a genre of the graph):",
            "",
            *_placement_table(sg["holdout_per_seed"], sg["holdout_mean"], "held-out mean"),
            "",
        ]
    if real:
        md += [
            f"Real sources (no planted truth): hits on {len(KNOWN_GENRES)} well-known genres "
            "fixed in advance (those present), per variant.",
            "",
            "| source | genres | audio | known present | " + " | ".join(PLACEMENTS) + " |",
            "|---" * (4 + len(PLACEMENTS)) + "|",
        ]
        for name, r in real.items():
            hits = " | ".join(str(r["known_hits"][v]) for v in PLACEMENTS)
            md.append(
                f"| {name} | {r['n_genres']} | {'yes' if r['has_audio'] else 'no'} | "
                f"{r['known_genres']} | {hits} |"
            )
        md.append("")
        for name, r in real.items():
            md += [
                f"{name}, default: misses {r['known_misses_default']}; super-genre sizes "
                f"{r['default_counts']}; the 25 most supported genres: "
                + ", ".join(f"{k} → {v}" for k, v in r["default_examples"]),
                "",
            ]
    return md


def _markdown(result: dict[str, Any]) -> str:
    md = [
        "# genres benchmark",
        "",
        f"machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']} "
        "(the CPUs are shared: timings under load are upper bounds)",
        "",
    ]
    if "genre_graph_5000" in result:
        g, m = result["genre_graph_5000"], result["minibatch_kmeans_1m_x_12"]
        md += [
            "## Speed",
            "",
            f"Load average (1 min) when this section started: {g.get('load_average_1m', '?')}.",
            "",
            "| benchmark | measured | target |",
            "|---|---|---|",
            f"| APSP + MDS vectors, {g['n_genres']} genres / {g['n_edges']} edges "
            f"| {g['apsp_plus_mds_s']} s | ≤ {g['target_s']} s |",
            f"| graph build (co-occurrence + weighted-Jaccard discount) | {g['build_s']} s | — |",
            f"| … + UMAP 2D map | {g['apsp_plus_mds_plus_umap_s']} s | ≤ {g['target_s']} s |",
        ]
        for method in ("shortest_path", "label_propagation", "default"):
            key = f"super_genre_{method}_s"
            if key in g:
                md.append(f"| super-genre placement, {method}, 9 anchors | {g[key]} s | — |")
        md.append(
            f"| MiniBatchKMeans k=8 on 1M × 12 | {m['fit_predict_s']} s | ≤ {m['target_s']} s |"
        )
        if "power_transform_s" in m:
            md.append(f"| Box–Cox scaling of 1M × 12 | {m['power_transform_s']} s | — |")
        md.append("")
    q = result.get("quality") or {}
    sg = q.get("super_genres")
    if sg and "mean_tuning_seeds" in sg:
        md += _super_genre_markdown(sg, q.get("super_genres_real"))
    cl = q.get("clustering")
    if cl:
        md += [
            "## Planted truth: audio-feature clustering (sandbox demo worlds)",
            "",
            f"Candidates kmeans, gmm, agglomerative × k 4–12; {cl['n_planted_clusters']} planted "
            f"clusters; ARI of the selected candidate (target ≥ {cl['target']}). Selection never "
            "sees the planted labels.",
            "",
            "| seed | config | selected | silhouette | Davies–Bouldin | Calinski–Harabasz | ARI "
            "| s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in cl["per_seed"]:
            md.append(
                f"| {r['seed']} | {r['config']} | {r['method']} k={r['k']} | {r['silhouette']} | "
                f"{r['davies_bouldin']} | {r['calinski_harabasz']} | **{r['ari']}** | "
                f"{r['seconds']} |"
            )
        md += ["", "| config | mean ARI | min ARI |", "|---|---|---|"]
        for name, v in cl["ari_mean"].items():
            md.append(f"| {name} | {v:.3f} | {cl['ari_min'][name]:.3f} |")
        md.append("")
    return "\n".join(md)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sections",
        default="speed,quality",
        help="comma-separated: speed, quality (= super_genres + clustering), super_genres, "
        "real (the real-source part of super_genres alone), clustering",
    )
    parser.add_argument("--seeds", default="42,1,2,3,4,5,6,7,8,9,10")
    parser.add_argument(
        "--holdout-seeds", default="11,12,13,14,15,16,17,18,19,20", help="super-genres only"
    )
    parser.add_argument("--cluster-seeds", default="42,1,2,3,4,5,6,7")
    parser.add_argument("--workdir", default=None, help="where the demo worlds are generated")
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    seeds = [int(x) for x in args.seeds.split(",")]
    logging.basicConfig(level=logging.INFO)
    RESULTS.mkdir(parents=True, exist_ok=True)
    previous = RESULTS / "genres.json"
    result: dict[str, Any] = json.loads(previous.read_text()) if previous.is_file() else {}
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if "speed" in sections:
        load = round(os.getloadavg()[0], 2)
        result["genre_graph_5000"] = bench_graph()
        result["genre_graph_5000"]["load_average_1m"] = load
        result["minibatch_kmeans_1m_x_12"] = bench_minibatch()
    if "quality" in sections:
        sections |= {"super_genres", "clustering"}
    holdout = [int(x) for x in args.holdout_seeds.split(",") if x]
    cluster_seeds = [int(x) for x in args.cluster_seeds.split(",")]
    if sections & {"super_genres", "real", "clustering"}:
        import tempfile

        quality = result.setdefault("quality", {})
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(args.workdir) if args.workdir else Path(tmp)
            if "super_genres" in sections:
                quality["super_genres"] = bench_super_genres(seeds, holdout, root)
            if sections & {"super_genres", "real"}:
                quality["super_genres_real"] = bench_super_genres_real()
            if "clustering" in sections:
                quality["clustering"] = bench_clustering(cluster_seeds, root)
    write_json_atomic(RESULTS / "genres.json", result)
    write_text_atomic(RESULTS / "genres.md", _markdown(result))
    logger.info("benchmark results written to %s", RESULTS)


if __name__ == "__main__":
    main()
