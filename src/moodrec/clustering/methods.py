"""Candidate clusterings of tracks, model selection, bootstrap stability and cluster profiles.

Selection is unsupervised: each candidate (method × k) is scored by silhouette (higher is
better, on a seeded sample), Davies–Bouldin (lower) and Calinski–Harabasz (higher), and each
Gaussian mixture also by BIC and ICL (lower). The default rule picks the Gaussian mixture
with the lowest ICL; ``rank_mean`` picks the best mean rank over the three geometric scores.
Planted labels are never seen here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import (
    HDBSCAN,
    AgglomerativeClustering,
    KMeans,
    MiniBatchKMeans,
    SpectralClustering,
)
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import (
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from moodrec.clustering.config import ClusteringConfig
from moodrec.errors import InputDataError, MoodrecError

logger = logging.getLogger(__name__)

NOISE = -1


class ClusteringError(MoodrecError):
    """No candidate clustering could be fitted or selected."""


def feature_matrix(
    frame: pd.DataFrame, columns: list[str] | tuple[str, ...], scaling: str = "robust"
) -> np.ndarray:
    """Scaled float matrix of ``columns``, shape ``(n, len(columns))``.

    ``scaling`` is ``power`` (Box–Cox transform to near-normal, then z-scores), ``robust``
    (median, 5–95 % range, clipped at ±3), ``standard`` (z-scores) or ``quantile`` (ranks
    mapped to ``[0, 1]``); see ``ClusteringConfig.scaling``.

    NaNs are filled with the column median (0 when a column is all NaN). The frame is not
    modified.

    Raises
    ------
    InputDataError
        When a column is missing or there are fewer than 3 rows.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputDataError(f"clustering features missing from the table: {missing}")
    if len(frame) < 3:
        raise InputDataError("clustering needs at least 3 rows")
    x = frame[list(columns)].astype(np.float64)
    x = x.fillna(x.median()).fillna(0.0).to_numpy()
    if scaling == "power":
        return power_transform(x)
    if scaling == "standard":
        return StandardScaler().fit_transform(x)
    if scaling == "quantile":
        qt = QuantileTransformer(n_quantiles=min(1000, len(x)), subsample=200_000, random_state=0)
        return qt.fit_transform(x)
    if scaling == "robust":
        return np.clip(RobustScaler(quantile_range=(5.0, 95.0)).fit_transform(x), -3.0, 3.0)
    raise InputDataError(f"unknown scaling {scaling!r}")


#: the Yeo–Johnson exponents are estimated on at most this many rows (seeded sample)
_POWER_FIT_ROWS = 200_000


def power_transform(x: np.ndarray, seed: int = 0, offset: float = 0.01) -> np.ndarray:
    """Per-column Box–Cox transform to near-normal, then z-scores, shape like ``x``.

    Audio features are skewed and bounded (instrumentalness, liveness and speechiness pile up
    near 0, loudness has a long quiet tail); a per-feature power transform makes the
    within-cluster spread closer to Gaussian, which is what KMeans and Gaussian mixtures
    assume. Each column is min–max scaled to ``[0, 1]`` and shifted by ``offset`` (Box–Cox
    needs positive values; scaling first makes the exponent search independent of units such
    as milliseconds), then the Box–Cox exponent is fitted by maximum likelihood on a seeded
    sample of at most 200,000 rows. Constant columns map to 0.
    """
    x = np.asarray(x, dtype=np.float64)
    lo, span = x.min(axis=0), np.ptp(x, axis=0)
    const = span == 0
    out = np.zeros_like(x)
    if const.all():
        return out
    xv = (x[:, ~const] - lo[~const]) / span[~const] + offset
    fit_rows = xv
    if len(xv) > _POWER_FIT_ROWS:
        idx = np.random.default_rng(seed).choice(len(xv), size=_POWER_FIT_ROWS, replace=False)
        fit_rows = xv[idx]
    pt = PowerTransformer(method="box-cox", standardize=True).fit(fit_rows)
    out[:, ~const] = pt.transform(xv)
    return out


def _sample_then_extend(x: np.ndarray, size: int, seed: int, fit: Any) -> np.ndarray:
    """Fit ``fit(x_sample) -> labels`` on a seeded sample, label the rest by 1-NN."""
    n = len(x)
    if n <= size:
        return np.asarray(fit(x))
    idx = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    lab = np.asarray(fit(x[idx]))
    return KNeighborsClassifier(n_neighbors=1).fit(x[idx], lab).predict(x)


def gmm_fit_rows(x: np.ndarray, cfg: ClusteringConfig) -> np.ndarray:
    """The rows a Gaussian mixture is fitted (and scored) on: all, or a seeded sample.

    Above ``cfg.gmm_sample`` rows a sorted seeded sample of that size keeps each EM fit
    bounded; labels are still predicted for every row.
    """
    if len(x) <= cfg.gmm_sample:
        return x
    idx = np.sort(np.random.default_rng(cfg.seed).choice(len(x), cfg.gmm_sample, replace=False))
    return x[idx]


def fit_gmm(x: np.ndarray, k: int, cfg: ClusteringConfig, seed: int) -> GaussianMixture:
    """A Gaussian mixture of ``k`` components (``cfg.gmm_*`` settings) fitted on ``x``.

    The variance floor is ``cfg.gmm_reg_covar`` times the mean column variance of ``x``, so it
    means the same on standardised audio features and on raw topic shares. Callers with many
    rows pass :func:`gmm_fit_rows` of their matrix.
    """
    scale = float(np.mean(np.var(x, axis=0))) if len(x) > 1 else 1.0
    gm = GaussianMixture(
        n_components=k,
        covariance_type=cfg.gmm_covariance,
        reg_covar=cfg.gmm_reg_covar * (scale if scale > 0 else 1.0),
        n_init=cfg.gmm_n_init,
        random_state=seed,
    )
    return gm.fit(x)


def gmm_criteria(gm: GaussianMixture, x: np.ndarray) -> dict[str, float]:
    """BIC and ICL (BIC + 2 × entropy of the posterior assignment) of a fitted mixture.

    Both are "lower is better". ICL (Biernacki, Celeux & Govaert 2000) adds the cost of
    assigning rows to components, so a component that only reshapes a cluster (overlapping
    another heavily) costs more than it gains.
    """
    bic = float(gm.bic(x))
    post = gm.predict_proba(x)
    entropy = float(-np.sum(post * np.log(np.clip(post, 1e-300, None))))
    return {"bic": bic, "icl": bic + 2.0 * entropy}


def fit_predict(
    method: str, x: np.ndarray, k: int | None, cfg: ClusteringConfig, seed: int
) -> np.ndarray:
    """Labels of one clustering method on ``x`` (shape ``(n, d)``), ``-1`` = noise (HDBSCAN).

    ``k`` is ignored by HDBSCAN. KMeans becomes MiniBatchKMeans above ``cfg.minibatch_above``
    rows; spectral, agglomerative and HDBSCAN run on a seeded sample and extend by 1-NN.
    """
    n = len(x)
    if method in {"kmeans", "minibatch_kmeans"}:
        if method == "minibatch_kmeans" or n > cfg.minibatch_above:
            model = MiniBatchKMeans(
                n_clusters=k, random_state=seed, n_init=3, batch_size=4096, max_no_improvement=20
            )
        else:
            model = KMeans(n_clusters=k, random_state=seed, n_init=4)
        return model.fit_predict(x)
    if method == "gmm":
        return fit_gmm(gmm_fit_rows(x, cfg), int(k), cfg, seed).predict(x)
    if method == "agglomerative":
        return _sample_then_extend(
            x,
            cfg.agglomerative_sample,
            seed,
            lambda s: AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(s),
        )
    if method == "spectral":
        return _sample_then_extend(
            x,
            cfg.spectral_sample,
            seed,
            lambda s: SpectralClustering(
                n_clusters=k,
                affinity="nearest_neighbors",
                n_neighbors=min(15, len(s) - 1),
                random_state=seed,
                assign_labels="cluster_qr",
            ).fit_predict(s),
        )
    if method == "hdbscan":
        return _sample_then_extend(
            x,
            cfg.hdbscan_sample,
            seed,
            lambda s: HDBSCAN(
                min_cluster_size=min(cfg.hdbscan_min_cluster_size, len(s)), copy=True
            ).fit_predict(s),
        )
    raise InputDataError(f"unknown clustering method {method!r}")


def score_labels(x: np.ndarray, labels: np.ndarray, cfg: ClusteringConfig) -> dict[str, float]:
    """Silhouette (seeded sample), Davies–Bouldin and Calinski–Harabasz on non-noise rows.

    Scores are NaN when fewer than two clusters remain.
    """
    keep = labels != NOISE
    noise = float(1.0 - keep.mean())
    xs, ls = x[keep], labels[keep]
    n_clusters = int(np.unique(ls).size)
    out = {
        "n_clusters": n_clusters,
        "noise_fraction": noise,
        "silhouette": np.nan,
        "davies_bouldin": np.nan,
        "calinski_harabasz": np.nan,
    }
    if n_clusters < 2 or n_clusters >= len(ls):
        return out
    sample = min(cfg.silhouette_sample, len(ls))
    out["silhouette"] = float(silhouette_score(xs, ls, sample_size=sample, random_state=cfg.seed))
    out["davies_bouldin"] = float(davies_bouldin_score(xs, ls))
    out["calinski_harabasz"] = float(calinski_harabasz_score(xs, ls))
    return out


def _rank_score(cands: pd.DataFrame, rule: str) -> pd.Series:
    if rule in {"bic", "icl"}:
        return cands[rule]
    if rule == "silhouette":
        return -cands["silhouette"]
    if rule == "davies_bouldin":
        return cands["davies_bouldin"]
    if rule == "calinski_harabasz":
        return -cands["calinski_harabasz"]
    return (
        cands["silhouette"].rank(ascending=False)
        + cands["davies_bouldin"].rank(ascending=True)
        + cands["calinski_harabasz"].rank(ascending=False)
    ) / 3.0


@dataclass(frozen=True)
class ClusteringResult:
    """The candidates table, the selected candidate and its labels."""

    candidates: pd.DataFrame
    selected: dict[str, Any]
    labels: np.ndarray
    stability: list[float] = field(default_factory=list)


def min_tracks(cfg: ClusteringConfig) -> int:
    """The fewest rows :func:`select_clustering` accepts: 10, or 3 per cluster at ``k_min``."""
    return max(10, 3 * cfg.k_min)


def select_clustering(x: np.ndarray, cfg: ClusteringConfig) -> ClusteringResult:
    """Fit every method × k, score, select by ``cfg.selection`` and measure stability.

    Raises
    ------
    ClusteringError
        Fewer rows than :func:`min_tracks` (naming the count and what to do), or no
        candidate yields at least two clusters within ``max_noise_fraction``.
    """
    need = min_tracks(cfg)
    if len(x) < need:
        raise ClusteringError(
            f"clusters: {len(x)} track(s) with every feature of {list(cfg.audio_features)} "
            f"is too few to cluster: at least {need} are needed (k_min = {cfg.k_min} clusters, "
            "each refitted on bootstrap resamples). Give the stage more tracks (a features "
            "file or enrich run covering more of the log) or skip it (orchestration.skip: "
            "[clusters])"
        )
    rows: list[dict[str, Any]] = []
    labels_of: dict[tuple[str, int | None], np.ndarray] = {}
    ks = list(range(cfg.k_min, min(cfg.k_max, len(x) - 1) + 1))
    for method in cfg.methods:
        for k in [None] if method == "hdbscan" else ks:
            crit: dict[str, float] = {}
            try:
                if method == "gmm":
                    rows_fit = gmm_fit_rows(x, cfg)
                    gm = fit_gmm(rows_fit, int(k), cfg, cfg.seed)
                    lab = gm.predict(x)
                    crit = gmm_criteria(gm, rows_fit)
                else:
                    lab = fit_predict(method, x, k, cfg, cfg.seed)
            except (ValueError, np.linalg.LinAlgError) as exc:
                # a method that cannot fit this k (too few rows, singular covariance) is
                # recorded as failed, not hidden
                logger.warning("clustering %s k=%s failed: %s", method, k, exc)
                rows.append({"method": method, "k": k, "error": str(exc)})
                continue
            labels_of[(method, k)] = lab
            rows.append(
                {"method": method, "k": k, "error": None, **score_labels(x, lab, cfg), **crit}
            )
    cands = pd.DataFrame(rows)
    for col in ("silhouette", "davies_bouldin", "calinski_harabasz", "noise_fraction"):
        if col not in cands.columns:
            cands[col] = np.nan
    for col in ("bic", "icl"):
        if col not in cands.columns:
            cands[col] = np.nan
    ok = cands["silhouette"].notna() & (cands["noise_fraction"] <= cfg.max_noise_fraction)
    rule = cfg.selection
    if rule in {"bic", "icl"}:
        model_ok = ok & cands[rule].notna()
        if model_ok.any():
            ok = model_ok
        else:
            logger.warning("selection %r needs a fitted Gaussian mixture: using rank_mean", rule)
            rule = "rank_mean"
    cands["eligible"] = ok
    cands["score"] = np.nan
    if not ok.any():
        raise ClusteringError("no clustering candidate produced two or more clusters")
    cands.loc[ok, "score"] = _rank_score(cands[ok], rule)
    best = cands[ok].sort_values(["score", "silhouette"], ascending=[True, False]).iloc[0]
    key = (str(best["method"]), None if pd.isna(best["k"]) else int(best["k"]))
    labels = labels_of[key]
    stability = bootstrap_ari(x, key[0], key[1], labels, cfg)
    cands["selected"] = (cands["method"] == key[0]) & (
        cands["k"].isna() if key[1] is None else cands["k"] == key[1]
    )
    selected = {
        "method": key[0],
        "k": key[1],
        "selection": rule,
        **{
            c: _py(best[c])
            for c in (
                "n_clusters",
                "silhouette",
                "davies_bouldin",
                "calinski_harabasz",
                "noise_fraction",
                "bic",
                "icl",
            )
        },
        "stability_ari_mean": float(np.mean(stability)) if stability else None,
        "stability_ari_min": float(np.min(stability)) if stability else None,
    }
    logger.info("selected clustering %s", selected)
    return ClusteringResult(candidates=cands, selected=selected, labels=labels, stability=stability)


def _py(v: Any) -> Any:
    """A plain Python value for the JSON report (NaN becomes None)."""
    v = v.item() if isinstance(v, np.generic) else v
    return None if isinstance(v, float) and np.isnan(v) else v


def bootstrap_ari(
    x: np.ndarray, method: str, k: int | None, labels: np.ndarray, cfg: ClusteringConfig
) -> list[float]:
    """ARI between ``labels`` and refits on bootstrap resamples (on the resampled rows).

    Each round draws ``min(n, bootstrap_max_rows)`` rows with replacement (seed ``cfg.seed +
    round``), refits on the distinct drawn rows and compares with ``labels`` there.
    """
    rng = np.random.default_rng(cfg.seed)
    n = len(x)
    m = min(n, cfg.bootstrap_max_rows)
    out = []
    for b in range(cfg.bootstrap_rounds):
        idx = np.unique(rng.choice(n, size=m, replace=True))
        try:
            lab = fit_predict(method, x[idx], k, cfg, cfg.seed + 1 + b)
        except (ValueError, np.linalg.LinAlgError) as exc:
            # a resample with fewer distinct rows than clusters cannot be refitted: the round
            # is left out of the stability estimate (and logged), not the whole stage
            logger.warning("bootstrap round %d of %s k=%s left out: %s", b, method, k, exc)
            continue
        out.append(float(adjusted_rand_score(labels[idx], lab)))
    return out


def cluster_profiles(
    frame: pd.DataFrame,
    labels: np.ndarray,
    feature_columns: list[str] | tuple[str, ...],
    genre_column: str | None = None,
    topic_columns: list[str] | None = None,
    top_n: int = 5,
) -> pd.DataFrame:
    """One row per cluster: size, share, mean of each feature, top genres and top topics.

    ``genre_column`` holds a genre name or a list of genres per row; ``topic_columns`` are
    topic-share columns (the top ones by cluster mean are listed).
    """
    df = frame[list(feature_columns)].astype(np.float64).assign(cluster=labels)
    prof = df.groupby("cluster").mean().add_prefix("mean_")
    size = df.groupby("cluster").size()
    prof.insert(0, "size", size)
    prof.insert(1, "share", size / len(df))
    if genre_column is not None and genre_column in frame.columns:
        g = pd.DataFrame({"cluster": labels, "genre": frame[genre_column].to_numpy()})
        g = g.explode("genre").dropna()
        tops = g.groupby("cluster")["genre"].agg(
            lambda s: ", ".join(s.value_counts().head(top_n).index.astype(str))
        )
        prof["top_genres"] = tops.reindex(prof.index).fillna("")
    if topic_columns:
        t = frame[topic_columns].astype(np.float64).assign(cluster=labels).groupby("cluster").mean()
        prof["top_topics"] = [
            ", ".join(row.sort_values(ascending=False).head(3).index) for _, row in t.iterrows()
        ]
    return prof.reset_index()
