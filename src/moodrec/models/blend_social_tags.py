"""A blend of collaborative filtering with side information: friends and item tags.

``score = z(iALS) + w_ease · z(EASE) + w_social · z(social) + w_tags · z(tags)``, each part
standardised per user over the items the user has not seen (``z``):

``iALS``    the mean of ``ials_models`` iALS models' z-scores (seeds ``seed, seed + 1, ...``),
            fitted with one pseudo-user row per tag appended to the matrix (its items =
            the items carrying the tag, value ``tag_rows · mean(value) · log(1 + count)``),
            so that items sharing tags get similar factors (collective factorisation).
            With ``friend_cols > 0`` one pseudo-item column per user is appended too (its
            users = the user and the user's friends, value ``friend_cols · mean(value)``),
            so that friends get similar user factors: the social side of the
            factorisation, as in SoRec (Ma, Yang, Lyu & King 2008), which factorises the
            user–item and the user–user matrices with shared user factors (here with
            self-links, so that two friends share a column and not only common friends).
``EASE``    EASE on the items with at least ``min_users`` training users.
``social``  how many of the user's friends have the item in *their training row* (friends'
            held-out items never enter: the model only knows the training matrix).
``tags``    cosine similarity between the item's tf-idf tag vector and the sum of the user's
            training items' tag vectors (the item tags must come without the tag
            assignments of held-out pairs, as ``moodrec.evaluation.side_info`` builds them).

Without side information (``fit(side=None)``) the social and tag parts are absent and the
model is a pure-CF iALS + EASE blend. When ``fit`` gets a validation matrix and
``search_weights`` is true, the three weights are chosen by coordinate ascent on validation
NDCG@20 and reported by :meth:`selected_params`, so the refit on all training data reuses
them.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from moodrec.errors import ModelError
from moodrec.interactions.matrix import weight_matrix
from moodrec.interactions.ranking import exclude_items, hit_matrix, ranking_metrics, top_k
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.blend import parts_state, restore_parts
from moodrec.models.ease import EASE
from moodrec.models.ials import IALS, IALSParams
from moodrec.models.saved import csr_arrays, csr_from

logger = logging.getLogger(__name__)

#: the candidate weights of each non-iALS part (iALS has weight 1)
WEIGHT_GRID = (0.0, 0.1, 0.2, 0.4, 0.8, 1.2)
SIDE_PARTS = ("ease", "social", "tags")


def standardise_unseen(scores: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    """Per-row z-scores, mean and std taken over the unseen entries only (float32).

    ``seen`` is ``(n_rows, n_items)``; its non-zero entries are left out of the statistics
    (their z-scores are still computed, with the unseen statistics).
    """
    s = np.asarray(scores, dtype=np.float64)
    n = s.shape[1]
    rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    seen_vals = s[rows, seen.indices]
    n_unseen = np.maximum(n - np.diff(seen.indptr), 1)
    total = s.sum(axis=1) - np.bincount(rows, seen_vals, minlength=s.shape[0])
    sq = np.einsum("ij,ij->i", s, s) - np.bincount(rows, seen_vals**2, minlength=s.shape[0])
    mean = total / n_unseen
    var = np.maximum(sq / n_unseen - mean**2, 0.0)
    sd = np.sqrt(var)
    return ((s - mean[:, None]) / np.where(sd > 0, sd, 1.0)[:, None]).astype(np.float32)


def _tfidf_rows(tags: sp.csr_matrix) -> sp.csr_matrix:
    """Rows of tag counts → tf-idf, L2-normalised (empty rows stay empty)."""
    m = sp.csr_matrix(tags, dtype=np.float64)
    df = np.bincount(m.indices, minlength=m.shape[1])
    idf = np.log(max(m.shape[0], 1) / (1.0 + df))
    m = sp.csr_matrix(m.multiply(idf[None, :]))
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ m, dtype=np.float32)


class SocialTagBlend(Recommender):
    """iALS + EASE + friends + tags, z-scored per user and mixed (see the module doc).

    Fit it on raw counts (``weighting="raw"``); each CF part re-weights the matrix itself
    (``ials_weighting``, ``ease_weighting``). ``parts`` names the non-iALS parts the blend may
    use (``ease``, ``social``, ``tags``; a part left out keeps weight 0 and is not searched):
    ``["tags"]`` is iALS with tag side information plus tag similarity, a content model with
    no second CF model and no friends. Other keywords are iALS parameters
    (:class:`~moodrec.models.ials.IALSParams`; ``reg`` 60 by default here).
    """

    name = "blend_social_tags"
    uses_side_information = True
    contract_params: ClassVar[dict[str, Any]] = IALSParams.CONTRACT | {
        "lambda_": 1.0,
        "min_users": 1,
        "ials_models": 1,
    }

    def __init__(
        self,
        *,
        ease_weight: float = 0.2,
        social_weight: float = 0.1,
        tags_weight: float = 0.8,
        search_weights: bool = True,
        ials_models: int = 3,
        tag_rows: float = 0.3,
        friend_cols: float = 0.0,
        lambda_: float = 100.0,
        min_users: int = 2,
        ials_weighting: str = "bm25",
        ease_weighting: str = "binary",
        parts: list[str] | tuple[str, ...] = SIDE_PARTS,
        **ials_params: Any,
    ) -> None:
        unknown = sorted(set(parts) - set(SIDE_PARTS))
        if unknown:
            raise ModelError(f"blend_social_tags: unknown part(s) {unknown}; have {SIDE_PARTS}")
        weights = {"ease": ease_weight, "social": social_weight, "tags": tags_weight}
        weights = {part: (w if part in parts else 0.0) for part, w in weights.items()}
        if min(weights.values()) < 0:
            raise ModelError(f"blend_social_tags: weights must be >= 0, got {weights}")
        if tag_rows < 0:
            raise ModelError(f"blend_social_tags: tag_rows must be >= 0, got {tag_rows}")
        if friend_cols < 0:
            raise ModelError(f"blend_social_tags: friend_cols must be >= 0, got {friend_cols}")
        if ials_models < 1:
            raise ModelError(f"blend_social_tags: ials_models must be >= 1, got {ials_models}")
        ials = IALSParams(**({"reg": 60.0} | ials_params)).as_dict()
        self.ease = EASE(lambda_=lambda_, min_users=min_users)
        super().__init__(
            ease_weight=float(weights["ease"]),
            social_weight=float(weights["social"]),
            tags_weight=float(weights["tags"]),
            parts=[part for part in SIDE_PARTS if part in parts],
            search_weights=bool(search_weights),
            ials_models=int(ials_models),
            tag_rows=float(tag_rows),
            friend_cols=float(friend_cols),
            ials_weighting=ials_weighting,
            ease_weighting=ease_weighting,
            lambda_=float(lambda_),
            min_users=int(min_users),
            **ials,
        )
        self.ials = [IALS(**(ials | {"seed": ials["seed"] + m})) for m in range(int(ials_models))]
        self.graph: sp.csr_matrix | None = None
        self.item_tags: sp.csr_matrix | None = None
        self._selected: dict[str, Any] = {}

    # -- fitting --------------------------------------------------------------------------
    def _fit(
        self,
        train: sp.csr_matrix,
        validation: sp.csr_matrix | None,
        item_features: ItemFeatures | None,
    ) -> None:
        p = self.params
        side = self._side
        ials_train = weight_matrix(train, p["ials_weighting"])
        ials_input = ials_train
        if side is not None and side.item_tags is not None and p["tag_rows"] > 0:
            tag_users = sp.csr_matrix(side.item_tags.T, dtype=np.float32)
            tag_users.data = np.log1p(tag_users.data) * np.float32(
                p["tag_rows"] * float(ials_train.data.mean())
            )
            ials_input = sp.csr_matrix(sp.vstack([ials_train, tag_users]))
        if side is not None and side.user_graph is not None and p["friend_cols"] > 0:
            # column j = user j's ego network (j and j's friends): two friends share two
            # columns, users with friends in common share theirs
            ego = side.user_graph + sp.identity(self.n_users, format="csr")
            friends = sp.csr_matrix(ego, dtype=np.float32)
            friends.data[:] = np.float32(p["friend_cols"] * float(ials_train.data.mean()))
            # the tag rows (if any) have no friends
            friends.resize((ials_input.shape[0], self.n_users))
            ials_input = sp.csr_matrix(sp.hstack([ials_input, friends]))
        for model in self.ials:
            model.fit(ials_input)
            # keep the real users and items only: the tag rows served the item factors, the
            # friend columns the user factors
            model.user_factors = model.user_factors[: self.n_users]
            model.item_factors = model.item_factors[: self.n_items]
            model.n_users, model.n_items, model._seen = self.n_users, self.n_items, ials_train
            model._reset_index()
        if "ease" in p["parts"]:
            self.ease.fit(weight_matrix(train, p["ease_weighting"]))
        use_graph = side is not None and side.user_graph is not None and "social" in p["parts"]
        self.graph = side.user_graph if use_graph else None
        if side is not None and side.item_tags is not None and "tags" in p["parts"]:
            self.item_tags = _tfidf_rows(side.item_tags)
        else:
            self.item_tags = None
        self._selected = {}
        if validation is not None and p["search_weights"] and sp.csr_matrix(validation).nnz:
            self._search_weights(train, sp.csr_matrix(validation))

    def _search_weights(self, train: sp.csr_matrix, validation: sp.csr_matrix) -> None:
        """Coordinate ascent (two rounds) of the part weights on validation NDCG@20.

        Ranks the whole catalogue minus the training items, as the evaluation does.
        """
        n_validation = np.diff(validation.indptr)
        users = np.flatnonzero(n_validation > 0)
        parts = self._part_scores(users)
        seen = train[users]
        weights = {part: 0.0 for part in SIDE_PARTS}

        def ndcg(w: dict[str, float]) -> float:
            s = exclude_items(self._mix(parts, w).astype(np.float64), seen)
            s[np.isnan(s)] = -np.inf
            hits = hit_matrix(top_k(s, 20)[0], validation, users)
            return float(ranking_metrics(hits, n_validation[users], 20)["ndcg"].mean())

        best = ndcg(weights)
        for _ in range(2):
            for part in SIDE_PARTS:
                if part not in parts or part not in self.params["parts"]:
                    continue
                for value in WEIGHT_GRID:
                    trial = weights | {part: value}
                    if trial == weights:
                        continue
                    score = ndcg(trial)
                    if score > best + 1e-6:
                        best, weights = score, trial
        logger.info("blend_social_tags: validation ndcg@20 %.4f with weights %s", best, weights)
        self.params |= {f"{part}_weight": float(v) for part, v in weights.items()}
        self._selected = {f"{part}_weight": float(v) for part, v in weights.items()} | {
            "search_weights": False
        }

    def selected_params(self) -> dict[str, Any]:
        return dict(self._selected)

    # -- scoring --------------------------------------------------------------------------
    def _part_scores(self, users: np.ndarray) -> dict[str, np.ndarray]:
        """Each available part's z-scores for ``users``, ``(len(users), n_items)`` float32."""
        seen = self._seen_matrix()[users]
        ials = sum(standardise_unseen(m.score(users), seen) for m in self.ials) / len(self.ials)
        parts = {"ials": np.asarray(ials, dtype=np.float32)}
        if "ease" in self.params["parts"]:
            parts["ease"] = standardise_unseen(self.ease.score(users), seen)
        binary = sp.csr_matrix(self._seen_matrix(), dtype=np.float32, copy=True)
        binary.data[:] = 1.0
        if self.graph is not None:
            social = (self.graph[users] @ binary).toarray()
            parts["social"] = standardise_unseen(social, seen)
        if self.item_tags is not None:
            profile = binary[users] @ self.item_tags
            parts["tags"] = standardise_unseen((profile @ self.item_tags.T).toarray(), seen)
        return parts

    def _mix(self, parts: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
        out = parts["ials"].copy()
        for part, w in weights.items():
            if w and part in parts:
                out += np.float32(w) * parts[part]
        return out

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        u = np.atleast_1d(np.asarray(users, dtype=np.int64))
        weights = {part: self.params[f"{part}_weight"] for part in SIDE_PARTS}
        s = self._mix(self._part_scores(u), weights)
        return s if items is None else s[:, np.asarray(items)]

    # -- persistence ----------------------------------------------------------------------
    def _parts(self) -> dict[str, tuple[Recommender, str]]:
        parts = {
            f"ials{m}": (model, self.params["ials_weighting"]) for m, model in enumerate(self.ials)
        }
        if "ease" not in self.params["parts"]:
            return parts
        return parts | {"ease": (self.ease, self.params["ease_weighting"])}

    def _state(self) -> dict[str, np.ndarray]:
        state = parts_state({name: model for name, (model, _) in self._parts().items()})
        for key, matrix in (("graph", self.graph), ("tags", self.item_tags)):
            if matrix is not None:
                state |= csr_arrays(key, matrix)
        return state

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        restore_parts(self, arrays, self._parts())
        self.graph = csr_from("graph", arrays) if "graph__shape" in arrays else None
        self.item_tags = csr_from("tags", arrays) if "tags__shape" in arrays else None
