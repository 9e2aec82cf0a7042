"""Super-genre evidence beyond co-occurrence: name links, audio profiles, mixed affinity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodrec.errors import InputDataError
from moodrec.genres.analysis import analyse_genre_graph
from moodrec.genres.config import GenresConfig
from moodrec.genres.evidence import (
    audio_knn_affinity,
    genre_audio_profiles,
    name_containment_affinity,
    name_tokens,
    unit_mean_strength,
)
from moodrec.genres.graph import build_genre_graph
from moodrec.genres.stage import placement_audio_profiles
from moodrec.genres.supergenres import (
    assign_super_genres,
    cooccurrence_affinity,
    placement_affinity,
    propagate_super_genres,
)


def _table(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["artist", "genre"]).assign(weight=1.0)


def _links(genres: list[str]) -> set[tuple[str, str]]:
    w = name_containment_affinity(genres).tocoo()
    return {(genres[i], genres[j]) for i, j in zip(w.row, w.col, strict=True) if i < j}


def test_name_tokens_split_on_hyphens_and_spaces() -> None:
    assert name_tokens(" Post-Rock ") == ("post", "rock")
    assert name_tokens("drum_and_bass") == ("drum", "and", "bass")
    assert name_tokens("r&b") == ("r&b",)


def test_name_links_go_to_the_longest_contained_genre() -> None:
    genres = ["metal", "death metal", "melodic death metal", "hip hop", "hip-hop", "rock", "pop"]
    links = _links(genres)
    assert ("death metal", "melodic death metal") in links
    assert ("metal", "melodic death metal") not in links  # only the longest run
    assert ("metal", "death metal") in links
    assert ("hip hop", "hip-hop") in links  # spelling variants
    assert not any("rock" in pair or "pop" in pair for pair in links)
    w = name_containment_affinity(genres)
    assert (w != w.T).nnz == 0
    assert w.diagonal().sum() == 0


def test_name_links_are_evidence_not_truth() -> None:
    # "pop punk" names pop but four artists put it with punk: co-occurrence outweighs the name
    rows = [(f"r{i}", g) for i in range(4) for g in ("punk", "pop punk")]
    rows += [(f"p{i}", g) for i in range(4) for g in ("pop", "dance pop")]
    cfg = GenresConfig(super_genres=("punk", "pop"), name_prior_weight=0.25)
    g = build_genre_graph(_table(rows), cfg)
    res = analyse_genre_graph(g, cfg)
    sup = dict(zip(res.genres["genre"], res.genres["super_genre"], strict=True))
    assert sup["pop punk"] == "punk"
    assert sup["dance pop"] == "pop"


def test_a_name_places_a_genre_without_co_occurrence_path() -> None:
    rows = [("a", "metal"), ("a", "death metal"), ("b", "rock"), ("b", "indie rock")]
    rows += [("c", "swedish death metal"), ("c", "gothenburg sound")]  # an island
    table = _table(rows)
    graph_only = GenresConfig(super_genres=("rock", "metal"), name_prior_weight=0.0)
    res = analyse_genre_graph(build_genre_graph(table, graph_only), graph_only)
    assert sorted(res.report["unplaceable"]) == ["gothenburg sound", "swedish death metal"]
    cfg = GenresConfig(super_genres=("rock", "metal"), name_prior_weight=0.25)
    res = analyse_genre_graph(build_genre_graph(table, cfg), cfg)
    genres = res.genres.set_index("genre")
    # the name joins the island to "death metal"; there is still no co-occurrence path
    assert genres.loc["swedish death metal", "super_genre"] == "metal"
    assert genres.loc["gothenburg sound", "super_genre"] == "metal"
    assert bool(genres.loc["swedish death metal", "placed"])
    assert np.isinf(genres.loc["swedish death metal", "super_distance"])
    assert res.report["unplaceable"] == []
    assert res.report["super_genre_evidence"]["names"] is True
    assert res.report["super_genre_evidence"]["name_links"] == 3


def _tracks(artist_sound: dict[str, float], per_artist: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for artist, level in artist_sound.items():
        for _ in range(per_artist):
            rows.append(
                {
                    "artist": artist,
                    "energy": level + rng.normal(0, 0.02),
                    "acousticness": 1 - level + rng.normal(0, 0.02),
                }
            )
    return pd.DataFrame(rows)


def test_audio_profiles_weigh_artists_equally_and_leave_inputs() -> None:
    table = _table([("a", "x"), ("b", "x"), ("b", "y")])
    tracks = pd.DataFrame(
        {"artist": ["a", "b", "b", "b", "b"], "energy": [0.0, 1.0, 1.0, 1.0, 1.0]}
    )
    before = tracks.copy()
    prof = genre_audio_profiles(table, tracks, ["energy", "tempo"])
    pd.testing.assert_frame_equal(tracks, before)
    assert list(prof.columns) == ["energy"]  # tempo is absent and skipped
    z_a, z_b = (0.0 - 0.8) / 0.4, (1.0 - 0.8) / 0.4  # population z-scores of 0 and 1
    assert prof.loc["x", "energy"] == pytest.approx((z_a + z_b) / 2)  # not the track mean
    assert prof.loc["y", "energy"] == pytest.approx(z_b)


def test_audio_profiles_need_artist_and_features() -> None:
    with pytest.raises(InputDataError, match="audio profiles"):
        genre_audio_profiles(_table([("a", "x")]), pd.DataFrame({"artist": ["a"]}), ["energy"])


def test_audio_knn_affinity_is_symmetric_and_skips_genres_without_profile() -> None:
    genres = ["a", "b", "c", "d", "silent"]
    prof = pd.DataFrame({"f": [0.0, 0.1, 5.0, 5.1]}, index=pd.Index(["a", "b", "c", "d"]))
    w = audio_knn_affinity(genres, prof, k=1)
    assert (w != w.T).nnz == 0
    assert w.diagonal().sum() == 0
    pairs = {(genres[i], genres[j]) for i, j in zip(*w.nonzero(), strict=True) if i < j}
    assert pairs == {("a", "b"), ("c", "d")}
    assert w[4].nnz == 0


def test_audio_bridges_a_family_the_graph_cannot_reach() -> None:
    # "romantic" co-occurs with its own family only; it sounds like the classical family
    rows = [("c0", "classical"), ("c0", "baroque"), ("c1", "baroque"), ("c1", "harpsichord")]
    rows += [("r0", "romantic"), ("r0", "romantic piano"), ("r1", "romantic piano")]
    rows += [("m0", "metal"), ("m0", "doom metal"), ("m1", "doom metal"), ("m1", "sludge")]
    rows += [("x", "romantic"), ("x", "sludge")]  # one cross-over artist
    table = _table(rows)
    quiet = {a: 0.1 for a in ("c0", "c1", "r0", "r1")}
    tracks = _tracks({**quiet, "m0": 0.9, "m1": 0.9, "x": 0.9})
    base = {"super_genres": ("classical", "metal"), "name_prior_weight": 0.0}
    graph_only = GenresConfig(**base, audio_prior_weight=0.0)
    g = build_genre_graph(table, graph_only)
    res = analyse_genre_graph(g, graph_only, placement_audio_profiles(table, tracks, graph_only))
    sup = res.genres.set_index("genre")["super_genre"]
    assert sup["romantic piano"] == "metal"  # the only path runs through the cross-over
    cfg = GenresConfig(**base, audio_prior_weight=0.5, audio_neighbours=2)
    res = analyse_genre_graph(g, cfg, placement_audio_profiles(table, tracks, cfg))
    sup = res.genres.set_index("genre")["super_genre"]
    assert sup["romantic piano"] == "classical"
    assert sup["sludge"] == "metal"
    assert res.report["super_genre_evidence"]["audio"] is True


def test_allocation_counts_each_artist_once_over_its_co_genres() -> None:
    # artist a has 3 genres (each pair gets 1/2), artist b has 2 (its pair gets 1)
    table = _table([("a", "x"), ("a", "y"), ("a", "z"), ("b", "x"), ("b", "y")])
    g = build_genre_graph(table, GenresConfig())
    alloc = {
        (g.nodes["genre"][s], g.nodes["genre"][t]): v
        for s, t, v in g.edges[["source", "target", "allocation"]].itertuples(index=False)
    }
    assert alloc == {("x", "y"): 1.5, ("x", "z"): 0.5, ("y", "z"): 0.5}


def test_graph_only_inv_length_reproduces_the_earlier_propagation() -> None:
    rows = [(f"a{i}", f"g{(i * 7 + j) % 40}") for i in range(120) for j in range(3)]
    rows += [("s0", "g0"), ("s0", "rock"), ("s1", "g20"), ("s1", "jazz")]
    g = build_genre_graph(_table(rows), GenresConfig())
    earlier, _, _ = propagate_super_genres(g, ("rock", "jazz"))
    affinity = placement_affinity(g, "inv_length")
    now, _, _ = propagate_super_genres(g, ("rock", "jazz"), affinity)
    np.testing.assert_allclose(now, earlier, atol=1e-10)
    assert affinity.evidence == {"affinity": "inv_length", "names": False, "audio": False}
    assert affinity.virtual == ()


def test_unknown_affinity_is_an_error() -> None:
    g = build_genre_graph(_table([("a", "rock"), ("a", "pop")]), GenresConfig())
    with pytest.raises(InputDataError, match="propagation affinity"):
        cooccurrence_affinity(g, "pmi")


def test_shortest_path_ignores_the_extra_evidence() -> None:
    table = _table([("a", "rock"), ("a", "indie rock"), ("b", "pop")])
    g = build_genre_graph(table, GenresConfig())
    cfg = GenresConfig(super_genres=("rock", "pop"), super_genre_method="shortest_path")
    res = analyse_genre_graph(g, cfg)
    assert res.report["super_genre_evidence"]["names"] is False
    labels, _, _ = assign_super_genres(g, cfg.super_genres, "shortest_path")
    assert labels == ["rock", "pop", "rock"]  # nodes sorted: indie rock, pop, rock


@settings(max_examples=30, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 8), st.floats(0.0, 1.0)),
        min_size=1,
        max_size=30,
    ),
    name_weight=st.sampled_from([0.0, 0.25, 1.0]),
    audio_weight=st.sampled_from([0.0, 0.1, 1.0]),
)
def test_mixed_affinity_scores_are_distributions(pairs, name_weight, audio_weight) -> None:
    names = ["rock", "indie rock", "jazz", "free jazz", "g4", "g5", "g6", "g7", "g8"]
    rows = []
    sound = {}
    for i, (a, b, level) in enumerate(pairs):
        rows += [(f"art{i}", names[a]), (f"art{i}", names[b])]
        sound[f"art{i}"] = level
    table = _table(rows)
    cfg = GenresConfig(
        super_genres=("rock", "jazz"),
        name_prior_weight=name_weight,
        audio_prior_weight=audio_weight,
        audio_neighbours=2,
    )
    g = build_genre_graph(table, cfg)
    profiles = placement_audio_profiles(table, _tracks(sound, per_artist=1), cfg)
    affinity = placement_affinity(
        g, cfg.propagation_affinity, name_weight, profiles, audio_weight, 2, ("rock", "jazz")
    )
    w = affinity.matrix
    assert w.shape[0] == g.n_nodes + len(affinity.virtual)
    assert (abs(w - w.T) > 1e-12).nnz == 0
    assert w.min() >= 0 and w.diagonal().sum() == 0
    scores, _, _ = propagate_super_genres(g, cfg.super_genres, affinity)
    assert np.all(np.isfinite(scores)) and np.all(scores >= -1e-12)
    placed = scores.sum(axis=1) > 0
    np.testing.assert_allclose(scores[placed].sum(axis=1), 1.0)
    res = analyse_genre_graph(g, cfg, profiles)
    assert res.report["n_unplaceable"] == int((~placed).sum())


def test_unit_mean_strength() -> None:
    g = build_genre_graph(_table([("a", "x"), ("a", "y"), ("b", "y"), ("b", "z")]), GenresConfig())
    w = unit_mean_strength(cooccurrence_affinity(g, "allocation"))
    assert w.sum() == pytest.approx(g.n_nodes)


def test_an_absent_super_genre_is_anchored_by_the_genres_naming_it() -> None:
    # no artist carries the tag "classical", but "contemporary classical" names it
    rows = [("c0", "contemporary classical"), ("c0", "minimalism"), ("c1", "minimalism")]
    rows += [("c1", "spectral music"), ("c2", "spectral music"), ("c2", "minimalism")]
    rows += [("x", "spectral music"), ("x", "noise rock")]  # one cross-over artist
    rows += [("r0", "rock"), ("r0", "noise rock"), ("r1", "rock"), ("r1", "indie rock")]
    table = _table(rows)
    cfg = GenresConfig(super_genres=("rock", "classical", "jazz"))
    res = analyse_genre_graph(build_genre_graph(table, cfg), cfg)
    sup = res.genres.set_index("genre")["super_genre"]
    assert sup["minimalism"] == "classical"
    assert sup["spectral music"] == "classical"
    assert sup["noise rock"] == "rock"
    assert res.report["super_genres_missing"] == ["classical", "jazz"]  # still reported
    assert res.report["super_genre_evidence"]["name_only_anchors"] == ["classical"]
    off = GenresConfig(super_genres=("rock", "classical", "jazz"), name_only_anchors=False)
    res = analyse_genre_graph(build_genre_graph(table, off), off)
    assert set(res.genres["super_genre"].dropna()) == {"rock"}


def test_aliases_anchor_a_super_genre_under_other_names() -> None:
    rows = [(f"e{i}", g) for i in range(3) for g in ("edm", "big room")]
    rows += [("e0", "electronica"), ("e0", "ambient"), ("e1", "ambient")]
    rows += [(f"p{i}", g) for i in range(3) for g in ("pop", "dance pop")]
    rows += [("x", "big room"), ("x", "pop"), ("y", "big room"), ("y", "dance pop")]
    table = _table(rows)
    base = {"super_genres": ("pop", "electronica"), "name_prior_weight": 0.0}
    plain = GenresConfig(**base)
    g = build_genre_graph(table, plain)
    sup = analyse_genre_graph(g, plain).genres.set_index("genre")["super_genre"]
    assert sup["big room"] == "pop"  # "electronica" sits out on the "ambient" side
    aliased = GenresConfig(**base, super_genre_aliases={"electronica": ["edm"]})
    res = analyse_genre_graph(g, aliased)
    sup = res.genres.set_index("genre")["super_genre"]
    assert sup["edm"] == "electronica" and sup["big room"] == "electronica"
    assert sup["dance pop"] == "pop"
    sp = GenresConfig(
        **{**base, "super_genre_method": "shortest_path"},
        super_genre_aliases={"electronica": ["edm"]},
    )
    res = analyse_genre_graph(g, sp)
    genres = res.genres.set_index("genre")
    assert genres.loc["edm", "super_genre"] == "electronica"
    assert genres.loc["edm", "super_distance"] == 0.0


def test_aliases_must_name_configured_super_genres() -> None:
    with pytest.raises(ValueError, match="unknown super-genres"):
        GenresConfig(super_genre_aliases={"polka": ["oompah"]})


def test_only_name_only_anchors_still_place_genres() -> None:
    # no super-genre is a genre of the graph; "dark jazz" and "jazz rock" name jazz
    table = _table([("a", "dark jazz"), ("a", "doom drone"), ("b", "jazz rock"), ("b", "x")])
    cfg = GenresConfig(super_genres=("jazz", "metal"))
    res = analyse_genre_graph(build_genre_graph(table, cfg), cfg)
    genres = res.genres.set_index("genre")
    assert set(genres["super_genre"]) == {"jazz"}
    assert np.isinf(genres["super_distance"]).all()
    assert res.report["super_genres_missing"] == ["jazz", "metal"]
