"""Implicit alternating least squares (Hu, Koren & Volinsky 2008) with batched conjugate gradient.

Confidence ``c_ui = 1 + alpha · r_ui`` for observed pairs (``r`` = the training matrix
values, already weighted: log, BM25, ...) and preference ``p_ui = 1``; unobserved pairs have
confidence 1 and preference 0. Each half-step solves, for every user at once,
``(YᵀY + Yᵀ(C_u − I)Y + λI) x_u = YᵀC_u p_u`` with a few conjugate-gradient steps warm-started
from the previous factors (Takács et al. 2011, as in ``implicit``), so one iteration costs
``O(nnz · f + n · f²)`` and is fully vectorised in numpy/scipy.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from moodrec.errors import ModelError, ModelFitError
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.mips import IndexedFactorScoring

logger = logging.getLogger(__name__)


def _cg_solve(
    x: np.ndarray,
    r: sp.csr_matrix,
    y: np.ndarray,
    alpha: float,
    reg: float,
    steps: int,
) -> np.ndarray:
    """Update the rows of ``x`` (one per row of ``r``) given the fixed factors ``y``."""
    yty = y.T @ y + reg * np.eye(y.shape[1], dtype=y.dtype)
    rows = np.repeat(np.arange(r.shape[0]), np.diff(r.indptr))
    cols = r.indices
    w = (alpha * r.data).astype(y.dtype)  # c_ui - 1
    yg = y[cols]  # (nnz, f), gathered once per half-step

    def matvec(p: np.ndarray) -> np.ndarray:
        t = np.einsum("nf,nf->n", yg, p[rows]) * w
        return p @ yty + sp.csr_matrix((t, cols, r.indptr), shape=r.shape) @ y

    conf = sp.csr_matrix((1.0 + w, cols, r.indptr), shape=r.shape)
    b = conf @ y
    res = b - matvec(x)
    p = res.copy()
    rs_old = np.einsum("nf,nf->n", res, res)
    for _ in range(steps):
        ap = matvec(p)
        denom = np.einsum("nf,nf->n", p, ap)
        step = np.divide(rs_old, denom, out=np.zeros_like(rs_old), where=denom > 1e-20)
        x = x + step[:, None] * p
        res = res - step[:, None] * ap
        rs_new = np.einsum("nf,nf->n", res, res)
        beta = np.divide(rs_new, rs_old, out=np.zeros_like(rs_new), where=rs_old > 1e-20)
        p = res + beta[:, None] * p
        rs_old = rs_new
    return x


@dataclass(frozen=True)
class IALSParams:
    """The parameters of an iALS fit, shared by every model built on one (``ials``, ``cb2cf``,
    the blends): one place for their names, defaults, types and checks.

    Attributes
    ----------
    factors
        Latent dimension.
    reg
        L2 regularisation λ (unscaled, as in ``implicit``).
    alpha
        Confidence scale: ``c = 1 + alpha · value``.
    iterations
        ALS sweeps (users then items).
    cg_steps
        Conjugate-gradient steps per sweep and side.
    seed
        Seed of the factor initialisation (normal, std 0.01).

    Raises
    ------
    ModelError
        ``factors``, ``iterations`` or ``cg_steps`` below 1.
    """

    factors: int = 64
    reg: float = 30.0
    alpha: float = 1.0
    iterations: int = 15
    cg_steps: int = 3
    seed: int = 0

    #: a fast fit of the contract matrix, which has rank 2 (two taste blocks)
    CONTRACT: ClassVar[dict[str, Any]] = {
        "factors": 2,
        "reg": 0.01,
        "alpha": 1.0,
        "iterations": 30,
    }

    def __post_init__(self) -> None:
        # JSON and YAML hand over 64.0 or "30": store the declared type (annotations are
        # strings here, ``from __future__ import annotations``)
        for f in fields(self):
            cast = int if f.type == "int" else float
            object.__setattr__(self, f.name, cast(getattr(self, f.name)))
        if self.factors < 1 or self.iterations < 1 or self.cg_steps < 1:
            raise ModelError("ials: factors, iterations and cg_steps must be >= 1")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameter names, in declaration order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def split(cls, params: dict[str, Any]) -> tuple[IALSParams, dict[str, Any]]:
        """``(iALS parameters, the rest)`` of a model's keyword arguments."""
        mine = {k: v for k, v in params.items() if k in cls.names()}
        return cls(**mine), {k: v for k, v in params.items() if k not in mine}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class IALS(IndexedFactorScoring, Recommender):
    """Weighted matrix factorisation for implicit feedback (iALS).

    Parameters
    ----------
    **params
        :class:`IALSParams` (``factors``, ``reg``, ``alpha``, ``iterations``, ``cg_steps``,
        ``seed``).
    """

    name = "ials"
    contract_params: ClassVar[dict[str, Any]] = IALSParams.CONTRACT

    def __init__(self, **params: Any) -> None:
        ials = IALSParams(**params)
        super().__init__(**ials.as_dict())
        self.user_factors = np.zeros((0, ials.factors), dtype=np.float32)
        self.item_factors = np.zeros((0, ials.factors), dtype=np.float32)

    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        p = self.params
        rng = np.random.default_rng(p["seed"])
        n_users, n_items = train.shape
        x = rng.normal(0.0, 0.01, (n_users, p["factors"])).astype(np.float32)
        y = rng.normal(0.0, 0.01, (n_items, p["factors"])).astype(np.float32)
        r = sp.csr_matrix(train, dtype=np.float32)
        r.sort_indices()
        rt = sp.csr_matrix(r.T)
        rt.sort_indices()
        for it in range(p["iterations"]):
            x = _cg_solve(x, r, y, p["alpha"], p["reg"], p["cg_steps"])
            y = _cg_solve(y, rt, x, p["alpha"], p["reg"], p["cg_steps"])
            if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
                raise ModelFitError(
                    f"ials: factors became NaN/inf at iteration {it + 1} "
                    f"(alpha={p['alpha']}, reg={p['reg']}); lower alpha or raise reg"
                )
        self.user_factors = x.astype(np.float32)
        self.item_factors = y.astype(np.float32)
        self._reset_index()
