"""Content → collaborative-factor mapping on top of iALS (CB2CF, Barkan et al. 2019): ``cb2cf``.

Warm items keep the item factors of an iALS fit (:mod:`moodrec.models.ials`), so on items
with training interactions the model *is* iALS. Items without training interactions get
factors mapped from their content: a ridge regression ``ŷ_i = s · (W x_i + b)`` from the
standardised content features ``x_i`` (with explicit missing-content flags, see
:func:`moodrec.models.content_input.content_matrix`) to the iALS item factors, fitted on the
warm items (the DropoutNet/CB2CF idea of serving cold items in the CF space; Volkovs et al.
2017, Barkan et al. 2019). ``s`` rescales the mapped factors: a ridge fit regresses towards
the mean, and cold items compete with warm ones in a whole-catalogue ranking.

Which content groups to use, the ridge strength and ``s`` are chosen during ``fit`` on a
pseudo-cold split of the warm items: a seeded ``holdout_fraction`` of them loses its training
interactions, iALS is refitted without them, and each candidate mapping is scored by the mean
(weighted by ``cold_weight``) of two NDCG@k, both ranking the whole catalogue with training
items excluded: of those pseudo-cold interactions, and of warm ones (the validation matrix, or
else a random share of the other training pairs, also held out) — so the choice cannot buy
cold-item hits with warm ones. Groups are added greedily while the score improves; the choice
is returned by :meth:`selected_params`, so a refit without validation data reuses it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from moodrec.errors import ModelError
from moodrec.interactions.ranking import exclude_items, hit_matrix, ranking_metrics, top_k
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.content_input import content_matrix
from moodrec.models.ials import IALS, IALSParams
from moodrec.models.mips import IndexedFactorScoring

logger = logging.getLogger(__name__)


#: factors of this process's last iALS fits, by (parameters, training matrix): the ablation's
#: family variants each fit ``cb2cf`` with one set of iALS parameters on one split, so each
#: would refit the same two iALS models (the training matrix and its pseudo-cold copy). The
#: fit is deterministic, so a hit returns what a new fit would; large fits are not kept.
_IALS_FITS: OrderedDict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = OrderedDict()
_IALS_FITS_LOCK = threading.Lock()
_IALS_FITS_KEPT = 2
_IALS_FITS_MAX_VALUES = 1 << 23  # factor values (float32) of a fit worth keeping: 32 MB


def fit_ials_factors(params: dict[str, Any], train: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``(user_factors, item_factors)`` of an :class:`~moodrec.models.ials.IALS` fit of
    ``train`` with ``params``: from the last fits of this process when one had the same
    parameters and matrix content, else a new fit (copies either way)."""
    m = sp.csr_matrix(train, dtype=np.float32, copy=True)
    m.sort_indices()
    digest = hashlib.blake2b(digest_size=16)
    for part in (np.asarray(m.shape, np.int64), m.indptr, m.indices, m.data):
        digest.update(np.ascontiguousarray(part).tobytes())
    key = (tuple(sorted(params.items())), digest.hexdigest())
    with _IALS_FITS_LOCK:
        hit = _IALS_FITS.get(key)
        if hit is not None:
            _IALS_FITS.move_to_end(key)
            return hit[0].copy(), hit[1].copy()
    model = IALS(**params).fit(train)
    user, item = model.user_factors, model.item_factors
    if (user.shape[0] + item.shape[0]) * user.shape[1] <= _IALS_FITS_MAX_VALUES:
        with _IALS_FITS_LOCK:
            _IALS_FITS[key] = (user.copy(), item.copy())
            while len(_IALS_FITS) > _IALS_FITS_KEPT:
                _IALS_FITS.popitem(last=False)
    return user.copy(), item.copy()


def fit_ridge(x: np.ndarray, y: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression with an unpenalised intercept: ``(W, b)`` with ``y ≈ x W + b``.

    ``x`` is ``(n, d)`` (``d`` may be 0: the mean only), ``y`` is ``(n, f)``.
    """
    b = y.mean(0)
    if x.shape[1] == 0:
        return np.zeros((0, y.shape[1])), b
    xc = x - x.mean(0)
    gram = xc.T @ xc + lam * np.eye(x.shape[1])
    w = np.linalg.solve(gram, xc.T @ (y - b))
    return w, b - x.mean(0) @ w


def _ndcg(scores: np.ndarray, truth: sp.csr_matrix, seen: sp.csr_matrix, k: int) -> float:
    """Mean NDCG@k over the rows of ``truth`` with relevant items (whole-catalogue ranking)."""
    s = np.array(scores, dtype=np.float64, copy=True)
    exclude_items(s, seen)
    n_rel = np.diff(truth.indptr)
    keep = np.flatnonzero(n_rel > 0)
    if keep.size == 0:
        return float("nan")
    top, _ = top_k(s[keep], k)
    hits = hit_matrix(top, truth, keep)
    return float(np.mean(ranking_metrics(hits, n_rel[keep], k)["ndcg"]))


class CB2CF(IndexedFactorScoring, Recommender):
    """iALS for warm items, a content → factor ridge mapping for cold items.

    Parameters
    ----------
    **ials_params
        The iALS parameters (:class:`~moodrec.models.ials.IALSParams`).
    groups
        Candidate content groups (``None`` = every group of ``item_features``).
    select
        Choose ``ridge`` and ``scale`` (and, with ``select_groups``, the groups: greedy
        forward selection over ``groups``) on the pseudo-cold split during ``fit``;
        ``False`` uses them as given.
    select_groups
        Whether the selection may drop groups (``False``: every group of ``groups`` is used,
        as in a one-family ablation variant).
    ridge, scale
        The mapping's L2 strength and the rescaling of mapped factors (used when
        ``select`` is false, or as the fixed values of a finished selection).
    ridge_grid, scale_grid
        Candidates tried by the selection.
    holdout_fraction
        Share of warm items made pseudo-cold for the selection.
    select_k, select_users
        Cut-off of the selection's NDCG and the most users it scores (a seeded sample).
    cold_weight
        Weight of the pseudo-cold NDCG in the selection score (the warm NDCG gets the rest):
        0.5 weighs cold and warm hits equally; ``None`` takes the share of the validation
        pairs whose item has no training interaction (the protocol's own mix: near 0 under a
        per-user holdout, where lifting cold items only costs warm hits).
    select_min_items
        Fewest pseudo-cold items a selection needs; with fewer (a tiny catalogue) its choice
        would be noise, so the given ``ridge`` and ``scale`` and every group are used.
    """

    name = "cb2cf"
    scores_cold_items = True
    contract_params: ClassVar[dict[str, Any]] = IALSParams.CONTRACT

    def __init__(
        self,
        *,
        groups: list[str] | tuple[str, ...] | None = None,
        select: bool = True,
        select_groups: bool = True,
        ridge: float = 10.0,
        scale: float = 1.0,
        ridge_grid: list[float] | tuple[float, ...] = (1.0, 10.0, 100.0, 1000.0, 10000.0),
        scale_grid: list[float] | tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
        holdout_fraction: float = 0.2,
        select_k: int = 20,
        select_users: int = 1000,
        select_min_items: int = 20,
        cold_weight: float | None = 0.5,
        **ials_params: Any,
    ) -> None:
        if not 0 < holdout_fraction < 1:
            raise ModelError("cb2cf: holdout_fraction must be in (0, 1)")
        if ridge < 0 or scale <= 0 or not ridge_grid or not scale_grid:
            raise ModelError("cb2cf: ridge >= 0, scale > 0 and non-empty grids are required")
        ials = IALSParams(**ials_params)
        super().__init__(
            **ials.as_dict(),
            groups=None if groups is None else [str(g) for g in groups],
            select=bool(select),
            select_groups=bool(select_groups),
            ridge=float(ridge),
            scale=float(scale),
            ridge_grid=[float(r) for r in ridge_grid],
            scale_grid=[float(s) for s in scale_grid],
            holdout_fraction=float(holdout_fraction),
            select_k=int(select_k),
            select_users=int(select_users),
            select_min_items=int(select_min_items),
            cold_weight=None if cold_weight is None else float(cold_weight),
        )
        self.user_factors = np.zeros((0, ials.factors), dtype=np.float32)
        self.item_factors = np.zeros((0, ials.factors), dtype=np.float32)
        self.selection: dict[str, Any] = {}

    def _ials_params(self) -> dict[str, Any]:
        return {k: self.params[k] for k in IALSParams.names()}

    def _candidate_groups(self, item_features: ItemFeatures) -> list[str]:
        groups = self.params["groups"]
        if groups is None:
            return [g for g in item_features.groups if item_features.groups[g]]
        unknown = [g for g in groups if g not in item_features.groups]
        if unknown:
            raise ModelError(
                f"cb2cf: no feature group(s) {unknown}; have {list(item_features.groups)}"
            )
        return list(groups)

    def _map(
        self,
        item_features: ItemFeatures,
        groups: list[str],
        fit_items: np.ndarray,
        target: np.ndarray,
        ridge: float,
    ) -> np.ndarray:
        """Mapped factors of every item from a ridge fit on ``fit_items`` (``target`` rows)."""
        if groups:
            x, _, _ = content_matrix(item_features, groups, self.name)
        else:
            x = np.zeros((item_features.n_items, 0), dtype=np.float32)
        x = x.astype(np.float64)
        w, b = fit_ridge(x[fit_items], target[fit_items].astype(np.float64), ridge)
        return x @ w + b

    def _select(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures,
        candidates: list[str],
    ) -> dict[str, Any]:
        """Greedy choice of groups, ridge and scale on a pseudo-cold split (see module doc)."""
        p = self.params
        rng = np.random.default_rng(p["seed"] + 7)
        warm = np.flatnonzero(np.diff(train.tocsc().indptr) > 0)
        n_hold = round(p["holdout_fraction"] * warm.size)
        if n_hold < max(1, p["select_min_items"]) or warm.size - n_hold < 2:
            return {"groups": candidates, "ridge": p["ridge"], "scale": p["scale"]}
        hold = np.sort(rng.choice(warm, size=n_hold, replace=False))
        is_hold = np.zeros(train.shape[1], dtype=bool)
        is_hold[hold] = True
        coo = train.tocoo()
        cold_pair = is_hold[coo.col]
        # the warm part of the target: the validation matrix, or else a random share of the
        # remaining training pairs, so the choice balances cold items against warm ones
        warm_pair = np.zeros_like(cold_pair)
        if validation is None or validation.nnz == 0:
            warm_pair = ~cold_pair & (rng.random(coo.nnz) < p["holdout_fraction"])
        keep = ~cold_pair & ~warm_pair
        sim_train = sp.csr_matrix(
            (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=train.shape
        )

        def pairs(mask: np.ndarray) -> sp.csr_matrix:
            return sp.csr_matrix(
                (np.ones(int(mask.sum()), np.float32), (coo.row[mask], coo.col[mask])),
                shape=train.shape,
            )

        truth_cold = pairs(cold_pair)
        if validation is not None and validation.nnz:
            truth_warm = sp.csr_matrix((sp.csr_matrix(validation) != 0).astype(np.float32))
        else:
            truth_warm = pairs(warm_pair)
        users = np.flatnonzero(
            (np.diff(truth_cold.indptr) > 0)
            & (np.diff(truth_warm.indptr) > 0)
            & (np.diff(sim_train.indptr) > 0)
        )
        if users.size == 0:
            return {"groups": candidates, "ridge": p["ridge"], "scale": p["scale"]}
        if users.size > p["select_users"]:
            users = np.sort(rng.choice(users, size=p["select_users"], replace=False))
        sim_user, sim_item = fit_ials_factors(self._ials_params(), sim_train)
        fit_items = np.flatnonzero(~is_hold & (np.diff(sim_train.tocsc().indptr) > 0))
        pu = sim_user[users].astype(np.float64)
        base = sim_item.astype(np.float64)
        seen, rel_cold, rel_warm = sim_train[users], truth_cold[users], truth_warm[users]

        warm_scores = pu @ base[~is_hold].T
        w_cold = p.get("cold_weight", 0.5)
        if w_cold is None:
            w_cold = 0.5
            if validation is not None and validation.nnz:
                val = sp.csr_matrix(validation)
                has_train = np.diff(train.tocsc().indptr) > 0
                w_cold = float((~has_train[val.indices]).mean())

        def evaluate(groups: list[str]) -> tuple[float, float, float]:
            best = (-np.inf, p["ridge"], p["scale"])
            for lam in p["ridge_grid"]:
                mapped = self._map(item_features, groups, fit_items, base, lam)
                cold_part = pu @ mapped[is_hold].T
                for s in p["scale_grid"]:
                    scores = np.empty((users.size, train.shape[1]))
                    scores[:, ~is_hold] = warm_scores
                    scores[:, is_hold] = s * cold_part
                    # lifting cold items costs warm hits: weigh the two as configured
                    value = w_cold * _ndcg(scores, rel_cold, seen, p["select_k"]) + (
                        1.0 - w_cold
                    ) * _ndcg(scores, rel_warm, seen, p["select_k"])
                    if value > best[0] + 1e-9:
                        best = (value, lam, s)
            return best

        if not p["select_groups"]:
            score, lam, s = evaluate(list(candidates))
            return {"groups": list(candidates), "ridge": lam, "scale": s, "ndcg": score}
        chosen: list[str] = []
        score, lam, s = evaluate(chosen)
        history = [{"groups": [], "ndcg": score}]
        remaining = list(candidates)
        while remaining:
            trials = {g: evaluate([*chosen, g]) for g in remaining}
            g_best = max(remaining, key=lambda g: trials[g][0])
            if trials[g_best][0] <= score + 1e-4:
                break
            chosen.append(g_best)
            remaining.remove(g_best)
            score, lam, s = trials[g_best]
            history.append({"groups": list(chosen), "ndcg": score})
        logger.info(
            "cb2cf: chose groups %s, ridge %g, scale %g (pseudo-cold NDCG@%d %.4f)",
            chosen,
            lam,
            s,
            p["select_k"],
            score,
        )
        return {"groups": chosen, "ridge": lam, "scale": s, "ndcg": score, "history": history}

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        p = self.params
        user, item = fit_ials_factors(self._ials_params(), train)
        self.selection = {}
        if item_features is not None:
            candidates = self._candidate_groups(item_features)
            if p["select"]:
                self.selection = self._select(train, validation, item_features, candidates)
            else:
                self.selection = {"groups": candidates, "ridge": p["ridge"], "scale": p["scale"]}
            sel = self.selection
            warm = np.diff(train.tocsc().indptr) > 0
            if warm.sum() >= 2:
                mapped = self._map(
                    item_features, sel["groups"], np.flatnonzero(warm), item, sel["ridge"]
                )
                item[~warm] = (sel["scale"] * mapped[~warm]).astype(np.float32)
        self.user_factors = user
        self.item_factors = item
        self._reset_index()

    def selected_params(self) -> dict[str, Any]:
        if not self.selection:
            return {}
        s = self.selection
        return {
            "groups": list(s["groups"]),
            "ridge": s["ridge"],
            "scale": s["scale"],
            "select": False,
        }
