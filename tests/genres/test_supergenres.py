"""Super-genre placement: shortest path, label propagation, the sandbox's planted hierarchy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moodrec.errors import InputDataError
from moodrec.genres import supergenres as supergenres_module
from moodrec.genres.analysis import analyse_genre_graph
from moodrec.genres.config import GenresConfig
from moodrec.genres.graph import build_genre_graph
from moodrec.genres.sources import read_sandbox_genres
from moodrec.genres.stage import load_tracks, placement_audio_profiles
from moodrec.genres.supergenres import assign_super_genres, propagate_super_genres


def _table(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["artist", "genre"]).assign(weight=1.0)


@pytest.mark.parametrize("method", ["shortest_path", "label_propagation"])
def test_super_genre_placement_and_unplaceable_listed(method: str) -> None:
    # metal <- death metal (2 artists) ; rock <- grunge ; island: polka - oompah (no super)
    table = _table(
        [
            ("a", "metal"),
            ("a", "death metal"),
            ("b", "metal"),
            ("b", "death metal"),
            ("c", "rock"),
            ("c", "grunge"),
            ("d", "polka"),
            ("d", "oompah"),
            ("e", "death metal"),
            ("e", "black metal"),
        ]
    )
    cfg = GenresConfig(super_genres=("rock", "metal", "jazz"), super_genre_method=method)
    g = build_genre_graph(table, cfg)
    res = analyse_genre_graph(g, cfg)
    assert res.report["super_genre_method"] == method
    sup = dict(zip(res.genres["genre"], res.genres["super_genre"], strict=True))
    assert sup["black metal"] == "metal"
    assert sup["grunge"] == "rock"
    assert res.report["unplaceable"] == ["oompah", "polka"]
    assert res.report["super_genres_missing"] == ["jazz"]
    assert res.report["n_components"] == 3
    assert res.report["component_sizes"] == [3, 2, 2]
    labels, dist, _ = assign_super_genres(g, ["metal"], method)
    assert labels[g.index_of()["metal"]] == "metal"
    assert dist[g.index_of()["metal"]] == 0.0


def _hub_table() -> pd.DataFrame:
    """A big super-genre ``pop`` whose hub reaches everything, and a small ``jazz`` family.

    ``bebop`` is carried by four jazz artists (with ``jazz``, ``hard bop``, ``cool jazz``) and
    by one cross-over artist who also carries ``pop``, the tag of twelve other artists.
    """
    rows = [(f"p{i}", "pop") for i in range(12)]
    rows += [(f"p{i}", "dance pop" if i < 6 else "synthpop") for i in range(12)]
    rows += [("x", "pop"), ("x", "bebop")]  # the cross-over artist
    rows += [("j0", "jazz"), ("j0", "hard bop"), ("j1", "hard bop"), ("j1", "bebop")]
    rows += [("j2", "bebop"), ("j2", "cool jazz"), ("j3", "cool jazz"), ("j3", "hard bop")]
    rows += [("j4", "bebop"), ("j4", "hard bop")]
    return _table(rows)


def test_label_propagation_resists_a_single_crossover_edge() -> None:
    cfg = GenresConfig(super_genres=("pop", "jazz"), edge_discount="none")
    g = build_genre_graph(_hub_table(), cfg)
    idx = g.index_of()
    # one cross-over artist puts bebop one edge from pop, two edges from jazz
    sp, _, _ = assign_super_genres(g, cfg.super_genres, "shortest_path")
    assert sp[idx["bebop"]] == "pop"
    lp, dist, _ = assign_super_genres(g, cfg.super_genres, "label_propagation")
    for genre in ("bebop", "hard bop", "cool jazz"):
        assert lp[idx[genre]] == "jazz"
    for genre in ("dance pop", "synthpop"):
        assert lp[idx[genre]] == "pop"
    assert np.all(np.isfinite(dist))


def test_propagation_scores_rows_sum_to_one_and_islands_score_zero() -> None:
    table = _hub_table()
    table = pd.concat([table, _table([("z", "polka"), ("z", "oompah")])], ignore_index=True)
    g = build_genre_graph(table, GenresConfig())
    scores, present, missing = propagate_super_genres(g, ("pop", "jazz", "metal"))
    assert present == ["pop", "jazz"]
    assert missing == ["metal"]
    idx = g.index_of()
    island = [idx["polka"], idx["oompah"]]
    assert np.all(scores[island] == 0.0)
    placed = np.setdiff1d(np.arange(g.n_nodes), island)
    np.testing.assert_allclose(scores[placed].sum(axis=1), 1.0)
    assert scores.min() >= 0.0
    assert scores[idx["pop"]].tolist() == [1.0, 0.0]


def test_iterative_and_direct_propagation_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    rows = [(f"a{i}", f"g{j}") for i in range(300) for j in rng.choice(60, 3, replace=False)]
    rows += [(f"s{j}", f"g{j}") for j in range(60)] + [("s0", "rock"), ("s1", "jazz")]
    g = build_genre_graph(_table(rows), GenresConfig())
    direct, present, _ = propagate_super_genres(g, ("rock", "jazz"))
    monkeypatch.setattr(supergenres_module, "_DIRECT_SOLVE_MAX", 5)
    iterative, _, _ = propagate_super_genres(g, ("rock", "jazz"))
    assert present == ["rock", "jazz"]
    np.testing.assert_allclose(iterative, direct, atol=1e-8)


def test_unknown_super_genre_method_is_an_error() -> None:
    g = build_genre_graph(_table([("a", "rock"), ("a", "pop")]), GenresConfig())
    with pytest.raises(InputDataError, match="super-genre method"):
        assign_super_genres(g, ["rock"], "vote")


def _super_accuracy(truth_dir, cfg: GenresConfig) -> float:
    table = read_sandbox_genres(truth_dir)
    g = build_genre_graph(table, cfg)
    profiles = placement_audio_profiles(table, load_tracks(cfg, truth_dir), cfg)
    res = analyse_genre_graph(g, cfg, profiles)
    truth = pd.read_parquet(truth_dir / "genres.parquet")
    m = truth.merge(res.genres, on="genre", how="left", suffixes=("_true", ""))
    # every planted genre counts: a genre missing from the graph or unplaced is a miss
    return float((m["super_genre"] == m["super_genre_true"]).fillna(False).mean())


#: graph-only settings: co-occurrence alone, no name or audio links
GRAPH_ONLY = {"name_prior_weight": 0.0, "audio_prior_weight": 0.0}


@pytest.mark.parametrize(
    "overrides",
    [
        {"super_genre_method": "shortest_path"},
        {"propagation_affinity": "inv_length", **GRAPH_ONLY},
        {"propagation_affinity": "allocation", **GRAPH_ONLY},
    ],
    ids=["shortest_path", "propagation_inv_length", "propagation_allocation"],
)
def test_sandbox_graph_only_placement_mostly_matches(demo_truth, overrides) -> None:
    acc = _super_accuracy(demo_truth, GenresConfig(**overrides))
    # graph-only on demo seed 42: 0.850 (shortest path), 0.850 (inv_length), 0.830
    # (allocation); means over seeds 1-10: 0.832, 0.871, 0.886 (benchmarks/results/genres.md)
    assert acc >= 0.80


def test_sandbox_names_add_to_the_graph(demo_truth) -> None:
    graph_only = _super_accuracy(demo_truth, GenresConfig(**GRAPH_ONLY))
    with_names = _super_accuracy(demo_truth, GenresConfig(audio_prior_weight=0.0))
    # demo seed 42: 0.830 -> 0.882 (seeds 1-10: 0.886 -> 0.943)
    assert with_names > graph_only + 0.03


def test_sandbox_audio_adds_to_names(demo_truth) -> None:
    names_only = _super_accuracy(demo_truth, GenresConfig(audio_prior_weight=0.0))
    with_audio = _super_accuracy(demo_truth, GenresConfig())
    # demo seed 42: 0.882 -> 0.922 (seeds 1-10: 0.943 -> 0.956)
    assert with_audio > names_only + 0.02


def test_sandbox_super_genres_match_planted_hierarchy_90(demo_truth) -> None:
    # issue 6 target; the default (allocation + names + audio, selected on seeds 1-10)
    # measured 0.922 on demo seed 42; means 0.956 on seeds 1-10 and 0.952 on 11-20
    assert _super_accuracy(demo_truth, GenresConfig()) >= 0.90
