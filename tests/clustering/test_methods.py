"""Clustering methods, selection, bootstrap stability and profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import skew
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from moodrec.clustering.config import ClusteringConfig
from moodrec.clustering.methods import (
    bootstrap_ari,
    cluster_profiles,
    feature_matrix,
    fit_gmm,
    fit_predict,
    gmm_criteria,
    power_transform,
    select_clustering,
)
from moodrec.clustering.stage import run_clusters_stage
from moodrec.errors import InputDataError


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    x, y = make_blobs(n_samples=300, centers=3, cluster_std=0.5, random_state=0)
    return x, y


@pytest.mark.parametrize(
    "method", ["kmeans", "minibatch_kmeans", "gmm", "agglomerative", "spectral", "hdbscan"]
)
def test_every_method_recovers_separated_blobs(blobs, method: str) -> None:
    x, y = blobs
    cfg = ClusteringConfig(spectral_sample=150, agglomerative_sample=150, hdbscan_sample=200)
    lab = fit_predict(method, x, 3, cfg, seed=0)
    assert adjusted_rand_score(y, lab) > 0.9


@pytest.mark.parametrize("selection", ["icl", "bic", "rank_mean"])
def test_selection_finds_k_and_is_stable(blobs, selection: str) -> None:
    x, _ = blobs
    cfg = ClusteringConfig(
        methods=("kmeans", "gmm"), k_min=2, k_max=6, bootstrap_rounds=3, selection=selection
    )
    res = select_clustering(x, cfg)
    assert res.selected["n_clusters"] == 3
    assert res.selected["stability_ari_min"] > 0.9
    assert res.candidates["selected"].sum() == 1
    assert res.selected["selection"] == selection
    if selection != "rank_mean":
        assert res.selected["method"] == "gmm"
        gmm = res.candidates[res.candidates["method"] == "gmm"]
        assert res.selected["icl"] == gmm["icl"].min() or selection == "bic"
        assert res.candidates.loc[res.candidates["method"] == "kmeans", "eligible"].sum() == 0


def test_model_selection_without_a_mixture_falls_back_to_rank_mean(blobs) -> None:
    x, _ = blobs
    cfg = ClusteringConfig(methods=("kmeans",), k_min=2, k_max=5, bootstrap_rounds=0)
    res = select_clustering(x, cfg)
    assert cfg.selection == "icl"
    assert res.selected["selection"] == "rank_mean"
    assert res.selected["k"] == 3
    assert res.selected["icl"] is None


def test_icl_adds_assignment_entropy_to_bic(blobs) -> None:
    x, _ = blobs
    cfg = ClusteringConfig()
    separated = gmm_criteria(fit_gmm(x, 3, cfg, 0), x)
    assert separated["icl"] >= separated["bic"]
    # two components on one blob: the split is uncertain, so ICL pays much more than BIC
    one_blob = x[fit_predict("kmeans", x, 3, cfg, 0) == 0]
    split = gmm_criteria(fit_gmm(one_blob, 2, cfg, 0), one_blob)
    assert split["icl"] - split["bic"] > 0.1 * len(one_blob)


def test_gmm_on_a_sample_labels_every_row(blobs) -> None:
    x, y = blobs
    cfg = ClusteringConfig(gmm_sample=60)
    lab = fit_predict("gmm", x, 3, cfg, seed=0)
    assert len(lab) == len(x)
    assert adjusted_rand_score(y, lab) > 0.9
    res = select_clustering(x, cfg.model_copy(update={"methods": ("gmm",), "k_max": 4}))
    assert res.selected["k"] == 3 and len(res.labels) == len(x)


def test_power_transform_standardises_keeps_order_and_handles_constants() -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack(
        [
            rng.exponential(0.05, 500),  # skewed, piles up near 0 like instrumentalness
            rng.normal(-8.0, 3.0, 500),  # loudness-like, negative
            np.full(500, 0.5),  # constant
            rng.lognormal(12.3, 0.25, 500),  # duration_ms-like
        ]
    )
    before = x.copy()
    z = power_transform(x)
    np.testing.assert_array_equal(x, before)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(z[:, [0, 1, 3]].mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(z[:, [0, 1, 3]].std(axis=0), 1.0, atol=1e-6)
    assert np.all(z[:, 2] == 0.0)
    for j in (0, 1, 3):  # a monotone transform: ranks survive
        np.testing.assert_array_equal(
            np.argsort(x[:, j], kind="stable"), np.argsort(z[:, j], kind="stable")
        )
    # the skewed column is made far more symmetric
    assert abs(skew(z[:, 0])) < 0.5 < skew(x[:, 0])


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000))
def test_bootstrap_is_seeded(seed: int) -> None:
    x, _ = make_blobs(n_samples=80, centers=2, random_state=seed)
    cfg = ClusteringConfig(bootstrap_rounds=2, seed=seed)
    lab = fit_predict("kmeans", x, 2, cfg, seed)
    a = bootstrap_ari(x, "kmeans", 2, lab, cfg)
    assert a == bootstrap_ari(x, "kmeans", 2, lab, cfg)
    assert all(-1.0 <= v <= 1.0 for v in a)


def test_feature_matrix_errors_and_does_not_mutate() -> None:
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": [1, 2, 3, 4]})
    before = df.copy()
    x = feature_matrix(df, ["a", "b"])
    pd.testing.assert_frame_equal(df, before)
    assert np.isfinite(x).all()
    with pytest.raises(InputDataError, match="missing"):
        feature_matrix(df, ["a", "zzz"])


def test_profiles_sum_to_rows() -> None:
    df = pd.DataFrame({"f": [1.0, 2.0, 3.0, 4.0], "genres": [["a"], ["a", "b"], ["c"], ["c"]]})
    prof = cluster_profiles(df, np.array([0, 0, 1, 1]), ["f"], genre_column="genres")
    assert prof["size"].sum() == 4
    assert prof["top_genres"].tolist() == ["a, b", "c"]
    assert prof["mean_f"].tolist() == [1.5, 3.5]


def _demo_selection(truth_dir, **overrides):
    """The selection pipeline on the demo world's audio features, planted labels unseen."""
    tracks = pd.read_parquet(truth_dir / "tracks.parquet")
    settings = {
        "methods": ("kmeans", "gmm", "agglomerative"),
        "k_min": 4,
        "k_max": 12,
        "bootstrap_rounds": 0,
        "silhouette_sample": 2000,
    }
    cfg = ClusteringConfig(**{**settings, **overrides})
    blind = tracks.drop(columns=["audio_cluster", "audio_cluster_label", "super_genre"])
    res = select_clustering(feature_matrix(blind, cfg.audio_features, cfg.scaling), cfg)
    return res, adjusted_rand_score(tracks["audio_cluster"], res.labels)


@pytest.mark.slow
def test_demo_audio_clusters_recover_planted_08(demo_truth) -> None:
    """Issue 6 target: the selected clustering recovers the planted clusters with ARI >= 0.8.

    Measured on demo seed 42: Box-Cox scaling + diagonal GMM selected by ICL picks gmm k=8
    with ARI 0.916 (seeds 1..7: 0.81-0.92, benchmarks/results/genres.md); the earlier robust
    scaling + rank_mean rule picked kmeans k=7 at 0.687.
    """
    res, ari = _demo_selection(demo_truth)
    assert res.selected["method"] == "gmm"
    assert res.selected["k"] == 8  # the planted number of sound clusters
    assert ari >= 0.8


def test_stage_clusters_audio_and_topics(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x, y = make_blobs(n_samples=120, centers=3, n_features=3, random_state=1)
    topics = rng.dirichlet(np.ones(4), size=120)
    tracks = pd.DataFrame(x, columns=["energy", "valence", "tempo"]).assign(
        track_id=np.arange(120), genres=[["rock"]] * 120, topic_mixture=list(topics)
    )
    tracks.loc[0, "topic_mixture"] = None  # an instrumental: no topic vector
    cfg = ClusteringConfig(
        methods=("kmeans",),
        k_min=2,
        k_max=4,
        bootstrap_rounds=1,
        audio_features=("energy", "valence", "tempo"),
    )
    outputs, report = run_clusters_stage(tracks, cfg, {"features": tmp_path, "reports": tmp_path})
    labels = pd.read_parquet(outputs["track_clusters"])
    assert adjusted_rand_score(y, labels["audio_cluster"]) == 1.0
    assert labels.loc[0, "topic_cluster"] == -1
    assert report["topics"]["n_tracks"] == 119
    prof = pd.read_parquet(outputs["cluster_profiles"])
    assert prof["size"].sum() == 120
    assert "top_topics" in prof.columns


def test_too_few_tracks_is_a_named_error_not_a_sklearn_one(tmp_path) -> None:
    # issue 16: clusters on 7 real tracks ended in sklearn's "Expected n_samples >=
    # n_components" from a bootstrap refit
    from moodrec.clustering.methods import ClusteringError
    from moodrec.clustering.stage import run_clusters_stage

    cfg = ClusteringConfig()
    rng = np.random.default_rng(0)
    tracks = pd.DataFrame(rng.random((7, len(cfg.audio_features))), columns=cfg.audio_features)
    tracks["track_id"] = range(7)
    with pytest.raises(ClusteringError, match=r"7 track\(s\) .* at least 10 are needed"):
        run_clusters_stage(tracks, cfg, {"features": tmp_path, "reports": tmp_path})


def test_bootstrap_leaves_out_a_resample_too_small_to_refit() -> None:
    # 10 rows in 9 clusters: some resamples hold fewer distinct rows than clusters
    rng = np.random.default_rng(1)
    x = rng.random((10, 3))
    cfg = ClusteringConfig(bootstrap_rounds=5, seed=3)
    lab = np.arange(10) % 9
    out = bootstrap_ari(x, "gmm", 9, lab, cfg)
    assert len(out) < 5 and all(-1 <= a <= 1 for a in out)
