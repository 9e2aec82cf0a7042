"""Exact top-k maximum inner-product search over item factors, without reading every item.

A factor model scores item ``i`` for user ``u`` as ``v_i · x_u``. By Cauchy–Schwarz no item
of a set can score above ``‖x_u‖ · max ‖v_i‖`` over that set. :class:`FactorIndex` sorts the
items by decreasing norm into fixed-size blocks and scores them block by block; once the
bound of the next block falls strictly below the current ``k``-th best score, no later block
(all have smaller norms) can enter the top ``k`` — not even as a tie — and the scan stops.
Learned factors of long-tail items have small norms (little evidence, so regularisation
shrinks them), so most of a large catalogue is never read. When the bound does not bite
(factors of alike norms) every block is read: single-threaded, that costs more than one
multi-threaded product on an idle machine (``scan_fraction`` < 1 switches to one product for
the rest after that share of the catalogue; on the shared 2-core machine it did not pay,
see ``benchmarks/results/serving.md``).

The result is the same as brute force (:func:`moodrec.interactions.ranking.top_k` over every score):
same items, same order, ties broken by the lower item index. The bound is inflated by the
worst-case float32 rounding error of a dot product of length ``f`` (``f · 2⁻²³ · ‖x‖·‖v‖``),
so rounding never prunes an item whose computed score could reach the threshold. Scores
are computed in float32 like the models' own ``score``; where two computations of the same
dot product could round differently (different BLAS kernels), the order of two items whose
scores differ by less than one rounding step may differ — with exactly representable
products (as in the tests) the results are identical bit for bit.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from moodrec.errors import ModelError

#: items per block: large enough for an efficient BLAS call, small enough to stop early
DEFAULT_BLOCK = 8192


@cache
def _blas_controller() -> ThreadpoolController:
    """One controller per process (inspecting the loaded BLAS libraries takes milliseconds)."""
    return ThreadpoolController()


def factor_scores(
    user_factors: np.ndarray, item_factors: np.ndarray, users: np.ndarray, items: np.ndarray | None
) -> np.ndarray:
    """Dot-product scores of a factor model, ``(len(users), n_items or len(items))`` float32.

    The one scoring rule of every factor model here (iALS, the blend's iALS part).
    """
    u = user_factors[np.atleast_1d(np.asarray(users, dtype=np.int64))]
    it = item_factors if items is None else item_factors[np.asarray(items, dtype=np.int64)]
    return u @ it.T


class FactorIndex:
    """Item factors sorted by decreasing norm, in blocks, for exact top-k search.

    Parameters
    ----------
    item_factors
        ``(n_items, f)`` float array; copied once into norm order (float32).
    block_size
        Items per block (``>= 1``).
    scan_fraction
        Share of the catalogue scanned block by block; if the bound has not stopped the scan
        by then, the rest is scored in one multi-threaded product. Default 1.0: blocks only.
    """

    def __init__(
        self,
        item_factors: np.ndarray,
        block_size: int = DEFAULT_BLOCK,
        scan_fraction: float = 1.0,
    ) -> None:
        if item_factors.ndim != 2:
            raise ModelError(f"FactorIndex: item_factors must be 2-D, got {item_factors.shape}")
        if block_size < 1:
            raise ModelError(f"FactorIndex: block_size must be >= 1, got {block_size}")
        v = np.asarray(item_factors, dtype=np.float32)
        self.n_items, self.n_factors = (int(x) for x in v.shape)
        norms = np.sqrt(np.einsum("if,if->i", v, v, dtype=np.float64))
        #: item index at each sorted position (decreasing norm, ties by lower index)
        self.order = np.lexsort((np.arange(self.n_items), -norms)).astype(np.int64)
        #: sorted position of each item index
        self.position = np.empty(self.n_items, dtype=np.int64)
        self.position[self.order] = np.arange(self.n_items)
        self.sorted_factors = np.ascontiguousarray(v[self.order])
        self.block_size = int(block_size)
        self.scan_fraction = float(scan_fraction)
        starts = np.arange(0, self.n_items, self.block_size)
        self.block_starts = starts
        # the first item of a block has its largest norm (sorted); empty catalogue: no blocks
        self.block_max_norm = norms[self.order[starts]] if starts.size else np.zeros(0)
        # worst-case float32 rounding of a length-f dot product, relative to ‖x‖·‖v‖
        self._slack = 1.0 + 2.0 * max(self.n_factors, 1) * np.finfo(np.float32).eps

    def search(
        self, user_vector: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Top-``k`` items of one user vector, exactly as a full sort would give them.

        Parameters
        ----------
        user_vector
            ``(f,)`` float array.
        k
            How many to return, ``>= 1``.
        exclude
            Item indices never to return (e.g. the user's training items).

        Returns
        -------
        (indices, scores, n_scored)
            ``(min(k, n_items),)`` int64 item indices best first (ties: lower index first) and
            their float32 scores as float64, padded with ``-1`` / ``-inf`` when fewer items
            remain;
            ``n_scored`` is how many items were read (for benchmarks).
        """
        if k < 1:
            raise ModelError(f"FactorIndex.search: k must be >= 1, got {k}")
        k = min(k, self.n_items)  # as top_k: a list is never longer than the catalogue
        x = np.asarray(user_vector, dtype=np.float32).ravel()
        if x.size != self.n_factors:
            raise ModelError(
                f"FactorIndex.search: user vector has {x.size} factors, index {self.n_factors}"
            )
        x_norm = float(np.sqrt(np.dot(x.astype(np.float64), x.astype(np.float64))))
        excluded = (
            np.sort(self.position[np.asarray(exclude, dtype=np.int64)])
            if exclude is not None and len(exclude)
            else np.zeros(0, dtype=np.int64)
        )
        best_v = np.zeros(0, dtype=np.float32)  # current top-k scores (unordered)
        threshold = -np.inf  # the k-th best score so far (-inf until k are found)
        chunks: list[np.ndarray] = []
        end = 0
        # many small BLAS calls: one thread each (waking a pool per block costs more than
        # the product itself on a loaded machine)
        with _blas_controller().limit(limits=1, user_api="blas"):
            for b, start in enumerate(self.block_starts):
                bound = x_norm * float(self.block_max_norm[b]) * self._slack
                # strictly below: an item scoring exactly the threshold could still win a tie
                if bound < threshold or start >= self.n_items * self.scan_fraction:
                    break
                end = min(int(start) + self.block_size, self.n_items)
                chunks.append(self._block_scores(x, start, end, excluded))
                better = chunks[-1][chunks[-1] > threshold]
                if better.size:
                    pool = np.concatenate([best_v, better])
                    best_v = pool if pool.size <= k else np.partition(pool, pool.size - k)[-k:]
                    if best_v.size == k:
                        threshold = float(best_v.min())
        if end < self.n_items:
            b = int(np.searchsorted(self.block_starts, end))
            if x_norm * float(self.block_max_norm[b]) * self._slack >= threshold:
                # the bound does not bite (factors of alike norms): score the rest in one
                # product with every BLAS thread rather than block by block
                chunks.append(self._block_scores(x, end, self.n_items, excluded))
                end = self.n_items
        return (*self._finish(chunks, k), end)

    def _block_scores(
        self, x: np.ndarray, start: int, end: int, excluded: np.ndarray
    ) -> np.ndarray:
        """Scores of sorted positions ``[start, end)``; excluded positions ``-inf``."""
        s = self.sorted_factors[start:end] @ x
        lo, hi = np.searchsorted(excluded, [start, end])
        if hi > lo:
            s[excluded[lo:hi] - start] = -np.inf
        return s

    def _finish(self, chunks: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k of the scored prefix ``[0, end)`` of the sorted order, ties by item index."""
        out_i = np.full(k, -1, dtype=np.int64)
        out_v = np.full(k, -np.inf, dtype=np.float64)
        if not chunks:
            return out_i, out_v
        scores = np.concatenate(chunks)
        finite = np.flatnonzero(scores > -np.inf)
        if finite.size > k:
            kth = np.partition(scores[finite], finite.size - k)[finite.size - k]
            finite = finite[scores[finite] >= kth]  # every tie of the k-th score stays
        items = self.order[finite]
        vals = scores[finite]
        top = np.lexsort((items, -vals))[:k]
        out_i[: top.size] = items[top]
        out_v[: top.size] = vals[top]
        return out_i, out_v


def search_users(
    index: FactorIndex,
    user_vectors: np.ndarray,
    users: np.ndarray,
    k: int,
    seen: sp.csr_matrix | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``k`` for each row of ``user_vectors`` (the vectors of ``users``, in order),
    leaving out each user's row of ``seen`` when given; ``(indices, scores)`` as
    :meth:`moodrec.models.base.Recommender.recommend` returns them.

    Raises
    ------
    ModelError
        If a user vector is not finite (every score would be NaN, which the index skips:
        the answer would silently be an empty list).
    """
    bad = ~np.isfinite(user_vectors).all(axis=1)
    if bad.any():
        raise ModelError(f"NaN scores: non-finite factors of user(s) {users[bad][:5].tolist()}")
    k = min(k, index.n_items)  # what index.search returns at most
    out_i = np.empty((users.size, k), dtype=np.int64)
    out_v = np.empty((users.size, k), dtype=np.float64)
    for r, u in enumerate(users):
        exclude = seen.indices[seen.indptr[u] : seen.indptr[u + 1]] if seen is not None else None
        out_i[r], out_v[r], _ = index.search(user_vectors[r], k, exclude)
    return out_i, out_v


class IndexedFactorScoring:
    """Mixin for a :class:`~moodrec.models.base.Recommender` with ``user_factors`` /
    ``item_factors``: dot-product :meth:`score` and an exact indexed :meth:`recommend` path.

    At ``index_min_items`` items or more, ``recommend`` over the whole catalogue searches a
    :class:`FactorIndex` per user (built on first use or by ``prepare_serving``) instead of
    scoring every item; the result is the brute-force one. Subclasses call
    :meth:`_reset_index` whenever their item factors change; the factors are what they save.
    """

    #: catalogues at least this large use the index (below it one matrix product is faster)
    index_min_items: int = 50_000
    user_factors: np.ndarray
    item_factors: np.ndarray
    _index: FactorIndex | None = None

    def _reset_index(self) -> None:
        self._index = None

    def factor_index(self) -> FactorIndex:
        """The (cached) norm-ordered index of the item factors."""
        if self._index is None or self._index.n_items != self.item_factors.shape[0]:
            self._index = FactorIndex(self.item_factors)
        return self._index

    def prepare_serving(self) -> None:
        self.factor_index()

    # the saved state is the two factor matrices (``SavedModel._state`` / ``_restore``)
    def _state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = arrays["user_factors"]
        self.item_factors = arrays["item_factors"]
        self._reset_index()

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()  # type: ignore[attr-defined]
        return factor_scores(self.user_factors, self.item_factors, users, items)

    def _exact_top_k(
        self, users: np.ndarray, k: int, exclude_seen: bool
    ) -> tuple[np.ndarray, np.ndarray] | None:
        if self.item_factors.shape[0] < self.index_min_items:
            return None
        seen = self._seen_matrix() if exclude_seen else None  # type: ignore[attr-defined]
        return search_users(self.factor_index(), self.user_factors[users], users, k, seen)
