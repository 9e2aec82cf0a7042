"""Genre embeddings, random walks, per-track vectors and the song map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodrec.genres.config import GenresConfig
from moodrec.genres.embedding import (
    classical_mds,
    embed_genres,
    finite_distances,
    random_walks,
    shortest_path_matrix,
    track_genre_vectors,
    vector_columns,
)
from moodrec.genres.graph import build_genre_graph
from moodrec.genres.songmap import song_map_coordinates, write_song_map_html


def _graph():
    table = pd.DataFrame(
        [("a", "x"), ("a", "y"), ("b", "y"), ("b", "z"), ("c", "z"), ("c", "w"), ("d", "q")],
        columns=["artist", "genre"],
    ).assign(weight=1.0)
    return table, build_genre_graph(table, GenresConfig(edge_discount="none"))


def test_classical_mds_recovers_points_on_a_line() -> None:
    pts = np.array([0.0, 1.0, 3.0, 7.0])
    d = np.abs(pts[:, None] - pts[None, :])
    x = classical_mds(d, 2)
    rec = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    np.testing.assert_allclose(rec, d, atol=1e-8)


def test_disconnected_distances_are_capped_not_infinite() -> None:
    _, g = _graph()
    d = shortest_path_matrix(g)
    assert np.isinf(d).any()
    f = finite_distances(d)
    assert np.isfinite(f).all()
    assert f.max() == pytest.approx(1.5 * d[np.isfinite(d)].max())


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), length=st.integers(2, 12))
def test_random_walks_follow_edges_and_reproduce(seed: int, length: int) -> None:
    _, g = _graph()
    w = random_walks(g, length, 3, seed)
    assert w.shape == (3 * g.n_nodes, length)
    np.testing.assert_array_equal(w, random_walks(g, length, 3, seed))
    edges = {(s, t) for s, t in zip(g.edges["source"], g.edges["target"], strict=True)}
    edges |= {(t, s) for s, t in edges}
    isolated = set(range(g.n_nodes)) - {s for s, _ in edges}
    for a, b in zip(w[:, :-1].ravel(), w[:, 1:].ravel(), strict=True):
        assert (a, b) in edges or (a == b and a in isolated)


@pytest.mark.parametrize("method", ["mds", "node2vec"])
def test_embed_genres_shapes(method: str) -> None:
    _, g = _graph()
    cfg = GenresConfig(embedding=method, vector_dim=4, walk_length=8, walks_per_node=5)
    e = embed_genres(g, cfg)
    assert e["genre"].tolist() == g.nodes["genre"].tolist()
    assert len(vector_columns(e)) == 4
    assert np.isfinite(e[["x", "y", "x3", "y3", "z3", *vector_columns(e)]].to_numpy()).all()


def test_track_vectors_closest_pair_and_weighted_mean() -> None:
    emb = pd.DataFrame({"genre": ["a", "b", "c"], "v0": [0.0, 1.0, 10.0], "v1": [0.0, 0.0, 0.0]})
    ag = pd.DataFrame(
        {
            "artist": ["x", "x", "x", "y"],
            "genre": ["a", "b", "c", "c"],
            "weight": [1.0, 1.0, 2.0, 1.0],
        }
    )
    tracks = pd.DataFrame({"track_id": [1, 2, 3], "artist": ["x", "y", "nobody"]})
    cp = track_genre_vectors(tracks, ag, emb, "closest_pair")
    assert cp["g0"].tolist()[:2] == [0.5, 10.0]
    assert np.isnan(cp.loc[2, "g0"]) and cp.loc[2, "n_genres"] == 0
    wm = track_genre_vectors(tracks, ag, emb, "weighted_mean")
    assert wm.loc[0, "g0"] == pytest.approx((0 + 1 + 20) / 4)


def test_song_map_html(tmp_path) -> None:
    rng = np.random.default_rng(0)
    feats = pd.DataFrame(rng.random((30, 3)), columns=["valence", "energy", "tempo"])
    xy = song_map_coordinates(feats, None, GenresConfig(song_map_method="pca"))
    pts = feats.assign(
        x=xy[:, 0],
        y=xy[:, 1],
        artist_name="A",
        name="T",
        genres="rock",
        super_genre="rock",
        cluster=rng.integers(0, 3, 30),
    )
    out = write_song_map_html(pts, tmp_path / "m.html", GenresConfig(plotlyjs="cdn"))
    html = out.read_text()
    assert "plotly" in html and "super_genre" in html and "valence" in html


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("mds", ["shortest paths (APSP)", "MDS vectors"]),
        ("node2vec", ["node2vec walks + word2vec", "MDS maps"]),
    ],
)
def test_genres_stage_reports_each_step(tmp_path, method: str, expected: list[str]) -> None:
    from moodrec import progress
    from moodrec.genres.stage import genres_stage_steps, run_genres_stage

    table, _ = _graph()
    cfg = GenresConfig(
        embedding=method, vector_dim=4, walk_length=8, walks_per_node=5, edge_discount="none"
    )
    dirs = {layer: tmp_path / layer for layer in ("interim", "features", "reports")}
    for folder in dirs.values():
        folder.mkdir()
    events: list[progress.ProgressEvent] = []
    with progress.listening(events.append):
        run_genres_stage(table, None, cfg, dirs)
    plan = genres_stage_steps(cfg, with_tracks=False)
    assert plan == ["genre graph", "super-genres", *expected]
    assert {e.name for e in events} == {"genres: steps"}
    # one event as each step starts (naming it), then all done
    assert [(e.done, e.detail) for e in events[:-1]] == list(enumerate(plan))
    assert (events[-1].done, events[-1].total) == (len(plan), len(plan))
    assert {e.total for e in events} == {len(plan)}
