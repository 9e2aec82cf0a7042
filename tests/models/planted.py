"""A small interaction matrix with planted tastes and content that reveals them.

Users and items each belong to one of ``n_groups`` groups; a user plays items of their own
group with probability ``p_in`` and others with ``p_out``. Item content is the group one-hot
plus noise (group ``signal``) and pure noise columns (group ``noise``), so a content-aware
model can place items that have no training interactions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from moodrec.models.base import ItemFeatures


@dataclass(frozen=True)
class Planted:
    train: sp.csr_matrix
    test: sp.csr_matrix
    user_group: np.ndarray
    item_group: np.ndarray
    features: ItemFeatures
    cold_items: np.ndarray


def planted(
    n_users: int = 120,
    n_items: int = 200,
    n_groups: int = 4,
    p_in: float = 0.2,
    p_out: float = 0.01,
    cold_fraction: float = 0.2,
    seed: int = 0,
) -> Planted:
    rng = np.random.default_rng(seed)
    ug = rng.integers(0, n_groups, n_users)
    ig = rng.integers(0, n_groups, n_items)
    prob = np.where(ug[:, None] == ig[None, :], p_in, p_out)
    full = (rng.random((n_users, n_items)) < prob).astype(np.float32)
    cold = np.sort(rng.choice(n_items, size=int(cold_fraction * n_items), replace=False))
    is_cold = np.zeros(n_items, dtype=bool)
    is_cold[cold] = True
    hold = rng.random(full.shape) < 0.2
    train = np.where(~is_cold[None, :] & ~hold, full, 0.0)
    test = np.where(is_cold[None, :] | hold, full, 0.0)
    signal = np.eye(n_groups)[ig] + rng.normal(0, 0.3, (n_items, n_groups))
    noise = rng.normal(0, 1, (n_items, 3))
    features = ItemFeatures(
        values=np.hstack([signal, noise]).astype(np.float32),
        columns=[f"s{i}" for i in range(n_groups)] + ["n0", "n1", "n2"],
        groups={"audio": [f"s{i}" for i in range(n_groups)], "topics": ["n0", "n1", "n2"]},
    )
    return Planted(sp.csr_matrix(train), sp.csr_matrix(test), ug, ig, features, cold)
