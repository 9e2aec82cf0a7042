"""What the torch recommenders share: seeding, threads, pair sampling, early stopping.

``torch`` is imported only by the model modules (``bpr``, ``neumf``, ``hybrid``, ``rating``)
and this one, never at package import time.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from moodrec import progress
from moodrec.errors import ModelError, ModelFitError
from moodrec.models.deep_config import PairwiseConfig

logger = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """``"cpu"``, ``"cuda"`` or ``"auto"`` (cuda when available, else cpu) as a device.

    Raises
    ------
    ModelError
        When ``"cuda"`` is asked for and torch sees no CUDA device, or the name is unknown.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ModelError("device 'cuda' requested but torch sees no CUDA device (use 'auto')")
    if name not in ("cpu", "cuda"):
        raise ModelError(f"unknown device {name!r} (auto, cpu or cuda)")
    return torch.device(name)


def seed_torch(seed: int, threads: int, device: torch.device | str = "cpu") -> torch.Generator:
    """Seed torch (every device), pin the CPU thread count, ask for deterministic kernels.

    Returns a ``torch.Generator`` on ``device`` seeded with ``seed`` for the model's own draws.
    On CUDA, ``index_add_`` (sparse embedding updates) has no deterministic kernel: runs there
    are seeded but may differ in the last bits (``warn_only``).
    """
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    # warn_only: a few CPU kernels have no deterministic variant; they are deterministic
    # on CPU in practice, and a hard error would make every model unusable there
    torch.use_deterministic_algorithms(True, warn_only=True)
    gen = torch.Generator(device=torch.device(device))
    gen.manual_seed(seed)
    return gen


def positive_pairs(train: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``(users, items)`` int64 arrays of the stored entries of ``train`` (row order)."""
    coo = train.tocoo()
    return coo.row.astype(np.int64), coo.col.astype(np.int64)


def bpr_batches(
    users: np.ndarray,
    items: np.ndarray,
    candidates: np.ndarray,
    batch_size: int,
    n_negatives: int,
    rng: np.random.Generator,
    weights: np.ndarray | None = None,
    pool: int = 1,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """One epoch of shuffled ``(user, positive, negative)`` index batches.

    Negatives are drawn from ``candidates`` (the warm items), uniformly or with the
    probabilities ``weights`` (same length, summing to 1); a drawn negative that happens to be
    a positive of the user is kept (at the sparsity of listening data that is rare and costs
    less than a rejection loop at 1M items). With ``pool > 1`` each positive gets ``pool``
    negative candidates: the negative batch is ``(batch, pool)`` instead of ``(batch,)``.
    """
    n = users.size
    order = np.tile(rng.permutation(n), n_negatives)
    shape = (order.size,) if pool == 1 else (order.size, pool)
    if weights is None:
        neg = candidates[rng.integers(0, candidates.size, size=shape)]
    else:
        cdf = np.cumsum(weights)
        pick = np.searchsorted(cdf, rng.random(shape) * cdf[-1], side="right")
        neg = candidates[np.minimum(pick, candidates.size - 1)]
    for start in range(0, order.size, batch_size):
        idx = order[start : start + batch_size]
        yield (
            torch.from_numpy(users[idx]),
            torch.from_numpy(items[idx]),
            torch.from_numpy(neg[start : start + batch_size]),
        )


def bpr_batches_torch(
    users: torch.Tensor,
    items: torch.Tensor,
    candidates: torch.Tensor,
    batch_size: int,
    n_negatives: int,
    gen: torch.Generator,
    weights: torch.Tensor | None = None,
    pool: int = 1,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """:func:`bpr_batches` with every draw made by torch on the tensors' device.

    Used when a model trains on an accelerator, so that the permutation and the negatives
    never cross the bus; ``gen`` must live on the same device as the tensors.
    """
    dev = users.device
    n = users.numel()
    order = torch.cat([torch.randperm(n, generator=gen, device=dev) for _ in range(n_negatives)])
    shape = (order.numel(),) if pool == 1 else (order.numel(), pool)
    count = int(np.prod(shape))
    if weights is None:
        pick = torch.randint(0, candidates.numel(), shape, generator=gen, device=dev)
    else:
        pick = torch.multinomial(weights, count, replacement=True, generator=gen).reshape(shape)
    neg = candidates[pick]
    for start in range(0, order.numel(), batch_size):
        idx = order[start : start + batch_size]
        yield users[idx], items[idx], neg[start : start + batch_size]


def ndcg_at_k(
    scores: np.ndarray, truth: sp.csr_matrix, seen: sp.csr_matrix | None, k: int
) -> np.ndarray:
    """NDCG@k per row of ``truth`` (binary gain, log2 discount, ideal over ``min(k, |test|)``).

    The ranking takes the ``k`` highest scores per row, ties broken by the lower item index
    (boundary ties included); ``-inf`` and NaN scores are never ranked. Vectorised: one
    ``torch.topk`` per call, an exact tie pass only for the rare rows whose ``k``-th score is
    tied with an item outside the top ``k``. Validation runs this every epoch, so it must
    cost little next to an epoch of training (issue 18: a per-row Python loop over
    ``argpartition`` was two thirds of a BPR fit on HetRec).

    Parameters
    ----------
    scores
        ``(n_rows, n_items)``, higher = better; ``-inf`` entries are never ranked.
    truth
        ``(n_rows, n_items)`` relevant items (any stored entry counts).
    seen
        Items to exclude per row (the training items) or ``None``.
    k
        Cut-off.

    Returns
    -------
    ndarray
        ``(n_rows,)`` float; rows without relevant items are NaN.
    """
    # float32 scores stay float32 (the same values and order as float64, half the memory)
    dtype = np.float32 if np.asarray(scores).dtype == np.float32 else np.float64
    s = np.array(scores, dtype=dtype, copy=True)
    n_rows, n_items = s.shape
    s[np.isnan(s)] = -np.inf
    if seen is not None:
        rows = np.repeat(np.arange(n_rows), np.diff(seen.indptr))
        s[rows, seen.indices] = -np.inf
    out = np.full(n_rows, np.nan)
    kk = min(k, n_items)
    n_rel = np.diff(truth.indptr)
    if kk == 0 or n_rows == 0:
        return out
    vals_t, top_t = torch.topk(torch.from_numpy(s), kk, dim=1)
    vals, top = vals_t.numpy().copy(), top_t.numpy().astype(np.int64)
    # torch.topk breaks ties arbitrarily: rows where an item outside the top kk ties with
    # the kk-th score take their candidates from the whole row instead
    last = vals[:, -1]
    tied = np.flatnonzero(np.isfinite(last) & ((s >= last[:, None]).sum(1) > kk))
    for r in tied:
        cand = np.flatnonzero(s[r] >= last[r])
        cand = cand[np.lexsort((cand, -s[r, cand]))][:kk]
        top[r], vals[r] = cand, s[r, cand]
    # best first, equal scores by the lower index (lexsort: the last key is the primary one)
    order = np.lexsort((top, -vals), axis=1)
    top = np.take_along_axis(top, order, 1)
    ranked = np.isfinite(np.take_along_axis(vals, order, 1))
    # hits: (row, item) keys of the ranking looked up among the sorted keys of ``truth``
    t = sp.csr_matrix(truth, copy=True)
    t.sort_indices()
    keys = np.repeat(np.arange(n_rows, dtype=np.int64), n_rel) * n_items + t.indices
    query = np.arange(n_rows, dtype=np.int64)[:, None] * n_items + top
    pos = np.minimum(np.searchsorted(keys, query), max(keys.size - 1, 0))
    hits = (keys[pos] == query) & ranked if keys.size else np.zeros(query.shape, bool)
    discounts = 1.0 / np.log2(np.arange(2, kk + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])
    has = n_rel > 0
    dcg = (hits * discounts).sum(1)
    out[has] = dcg[has] / ideal[np.minimum(kk, n_rel[has])]
    return out


@dataclass
class EarlyStopping:
    """Keep the best state seen; stop after ``patience`` checks without improvement.

    ``higher_is_better`` for NDCG, ``False`` for a loss.
    """

    patience: int
    higher_is_better: bool = True
    best: float = field(default=float("nan"))
    best_epoch: int = -1
    best_state: dict[str, torch.Tensor] | None = None
    history: list[float] = field(default_factory=list)

    def update(self, value: float, epoch: int, module: torch.nn.Module) -> bool:
        """Record one check; return True when training should stop."""
        self.history.append(float(value))
        better = (
            self.best_epoch < 0
            or (self.higher_is_better and value > self.best)
            or (not self.higher_is_better and value < self.best)
        )
        if better:
            self.best, self.best_epoch = float(value), epoch
            self.best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        return epoch - self.best_epoch >= self.patience

    def restore(self, module: torch.nn.Module) -> None:
        """Load the best state back into ``module`` (no-op when none was recorded)."""
        if self.best_state is not None:
            module.load_state_dict(self.best_state)


def check_finite(name: str, module: torch.nn.Module) -> None:
    """Raise :class:`ModelFitError` when any parameter is NaN or infinite."""
    for pname, p in module.named_parameters():
        if not torch.isfinite(p).all():
            raise ModelFitError(f"{name}: parameter {pname} is not finite (training diverged)")


def validation_users(validation: sp.csr_matrix | None, limit: int, seed: int) -> np.ndarray:
    """Users with validation items, at most ``limit`` of them (a seeded sample)."""
    if validation is None:
        return np.zeros(0, dtype=np.int64)
    users = np.flatnonzero(np.diff(validation.indptr) > 0)
    if users.size > limit:
        users = np.sort(np.random.default_rng(seed).choice(users, size=limit, replace=False))
    return users


class RowSparseAdam(torch.optim.Optimizer):
    """Lazy Adam for sparse embedding gradients: only the rows of the batch are touched.

    The same update as ``torch.optim.SparseAdam`` (moments of untouched rows are not
    decayed), written with ``index_select``/``index_copy_``/``index_add_`` on the dense state,
    which at a million rows is several times faster than SparseAdam's sparse-dense adds.
    """

    def __init__(
        self,
        params: list[torch.nn.Parameter],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        """One update of every parameter that received a (sparse) gradient."""
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.coalesce()
                idx, val = grad.indices()[0], grad.values()
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m = state["m"].index_select(0, idx).mul_(b1).add_(val, alpha=1 - b1)
                v = state["v"].index_select(0, idx).mul_(b2).addcmul_(val, val, value=1 - b2)
                state["m"].index_copy_(0, idx, m)
                state["v"].index_copy_(0, idx, v)
                step_size = group["lr"] * math.sqrt(1 - b2**t) / (1 - b1**t)
                p.index_add_(0, idx, m / v.sqrt().add_(group["eps"]), alpha=-step_size)


def negative_weights(
    train: sp.csr_matrix, candidates: np.ndarray, alpha: float
) -> np.ndarray | None:
    """Sampling probabilities ``∝ n_users(i) ** alpha`` of ``candidates`` (None for uniform).

    ``alpha = 0`` samples uniformly; ``alpha = 1`` in proportion to popularity, which makes
    popular items the usual negatives and so keeps BPR from just learning popularity.
    """
    if alpha == 0:
        return None
    counts = np.diff(train.tocsc().indptr)[candidates].astype(np.float64)
    w = np.power(np.maximum(counts, 1.0), alpha)
    return w / w.sum()


def hardest_negatives(
    pair_scores: Callable[
        [torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]
    ],
    u: torch.Tensor,
    i: torch.Tensor,
    pool: torch.Tensor,
    negative_scores: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Per row, the candidate of ``pool`` (``(n, m)``) the model scores highest for ``u``.

    Dynamic negative sampling (Zhang et al. 2013): training on the hardest of a few uniform
    draws approximates WARP's search for a violating negative at ``m`` forward passes.
    ``negative_scores(u, pool) → (n, m)`` scores the candidates directly where the model has
    a cheaper way than ``pair_scores`` on every repeated (user, positive, candidate) triple.
    """
    n, m = pool.shape
    with torch.no_grad():
        if negative_scores is not None:
            scores = negative_scores(u, pool)
        else:
            s, _ = pair_scores(u.repeat_interleave(m), i.repeat_interleave(m), pool.reshape(-1))
            scores = s[:, 1].reshape(n, m)
    return pool[torch.arange(n, device=pool.device), scores.argmax(1)]


def make_optimisers(module: torch.nn.Module, lr: float) -> list[torch.optim.Optimizer]:
    """Lazy row-wise Adam for sparse embeddings, Adam for the dense rest (towers, MLPs).

    At a million items a dense Adam step touches every embedding row on every batch; the
    sparse optimiser keeps an epoch's cost proportional to the number of interactions.
    """
    sparse = [m.weight for m in module.modules() if isinstance(m, torch.nn.Embedding) and m.sparse]
    ids = {id(p) for p in sparse}
    dense = [p for p in module.parameters() if id(p) not in ids and p.requires_grad]
    opts: list[torch.optim.Optimizer] = []
    if sparse:
        opts.append(RowSparseAdam(sparse, lr=lr))
    if dense:
        opts.append(torch.optim.Adam(dense, lr=lr))
    return opts


#: scores per validation block (users × items)
VALIDATION_CHUNK = 1_000_000


def validation_ndcg(
    score_users: Callable[[np.ndarray], np.ndarray],
    users: np.ndarray,
    validation: sp.csr_matrix,
    train: sp.csr_matrix,
    k: int,
) -> float:
    """Mean NDCG@k of ``users`` on ``validation``, scored in chunks of ~1M scores.

    Small chunks keep the score block (4 MB) and its masks in the CPU cache; 16M-score
    blocks spent most of their time allocating and first-touching fresh memory, every epoch.
    """
    n_items = train.shape[1]
    step = max(1, VALIDATION_CHUNK // max(n_items, 1))
    values = []
    for start in range(0, users.size, step):
        u = users[start : start + step]
        with torch.no_grad():
            sc = score_users(u)
        values.append(ndcg_at_k(sc, validation[u], train[u], k))
    return float(np.nanmean(np.concatenate(values)))


def train_pairwise(
    name: str,
    module: torch.nn.Module,
    pair_scores: Callable[
        [torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]
    ],
    train: sp.csr_matrix,
    validation: sp.csr_matrix | None,
    score_users: Callable[[np.ndarray], np.ndarray],
    cfg: PairwiseConfig,
    candidates: np.ndarray | None = None,
    negative_scores: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> dict[str, Any]:
    """Train ``module`` with the BPR loss, early-stopping on validation NDCG (or the loss).

    Parameters
    ----------
    name
        Model name for messages.
    module
        The torch module whose parameters are optimised (Adam).
    pair_scores
        ``(users, positives, negatives) → (scores, penalty)``: ``(n, 2)`` scores of the
        positive and negative items and the (already weighted) L2 penalty of the batch.
    train, validation
        ``(n_users, n_items)`` CSR matrices; validation may be ``None``.
    score_users
        ``users → (len(users), n_items)`` numpy scores, used for validation NDCG.
    cfg
        The model's :class:`~moodrec.models.deep_config.PairwiseConfig`: optimiser, epochs,
        early stopping and negative sampling (``n_negatives``, ``negative_alpha``,
        ``negative_pool``).
    candidates
        Items negatives are drawn from; default the items with training interactions.
    negative_scores
        ``(users, pool) → (n, m)`` scores of candidate negatives, used to pick the hardest
        when ``cfg.negative_pool > 1`` (default: ``pair_scores`` on repeated triples).

    Returns
    -------
    dict
        ``epochs`` run, ``best_epoch``, ``history`` (validation metric or loss per epoch),
        ``seconds``.

    Raises
    ------
    ModelFitError
        When a parameter becomes NaN/inf.
    """
    users, items = positive_pairs(train)
    if candidates is None:
        candidates = np.flatnonzero(np.diff(train.tocsc().indptr) > 0)
    weights = negative_weights(train, candidates, cfg.negative_alpha)
    pool = cfg.negative_pool
    rng = np.random.default_rng(cfg.seed)
    device = next(module.parameters()).device
    on_cpu = device.type == "cpu"
    if not on_cpu:
        # the pairs, candidates and sampling weights live on the device for the whole fit
        gen = torch.Generator(device=device)
        gen.manual_seed(cfg.seed)
        users_t = torch.from_numpy(users).to(device)
        items_t = torch.from_numpy(items).to(device)
        cand_t = torch.from_numpy(candidates.astype(np.int64)).to(device)
        weights_t = None if weights is None else torch.from_numpy(weights).float().to(device)
    opts = make_optimisers(module, cfg.lr)
    val_users = validation_users(validation, cfg.eval_users, cfg.seed)
    stopper = EarlyStopping(cfg.patience, higher_is_better=val_users.size > 0)
    start = time.perf_counter()
    epoch = 0
    for epoch in range(cfg.epochs):
        module.train()
        total, count = 0.0, 0
        if on_cpu:
            batches = bpr_batches(
                users, items, candidates, cfg.batch_size, cfg.n_negatives, rng, weights, pool
            )
        else:
            batches = bpr_batches_torch(
                users_t, items_t, cand_t, cfg.batch_size, cfg.n_negatives, gen, weights_t, pool
            )
        for u, i, j in batches:
            if pool > 1:
                j = hardest_negatives(pair_scores, u, i, j, negative_scores)
            s, penalty = pair_scores(u, i, j)
            loss = -torch.nn.functional.logsigmoid(s[:, 0] - s[:, 1]).mean() + penalty
            if not torch.isfinite(loss):
                raise ModelFitError(f"{name}: the loss is not finite (training diverged)")
            for opt in opts:
                opt.zero_grad()
            loss.backward()
            for opt in opts:
                opt.step()
            total += float(loss.detach()) * u.shape[0]
            count += u.shape[0]
        module.eval()
        check_finite(name, module)
        if val_users.size:
            value = validation_ndcg(score_users, val_users, validation, train, cfg.eval_k)
        else:
            value = total / max(count, 1)
        metric = "ndcg" if val_users.size else "loss"
        logger.debug("%s epoch %d: %s %.5f", name, epoch, metric, value)
        progress.step(f"train {name}: epochs", epoch + 1, cfg.epochs)
        if stopper.update(value, epoch, module):
            break
        if cfg.time_budget_s and time.perf_counter() - start > cfg.time_budget_s:
            logger.info("%s: time budget reached at epoch %d", name, epoch)
            break
    stopper.restore(module)
    return {
        "epochs": epoch + 1,
        "best_epoch": stopper.best_epoch,
        "history": stopper.history,
        "seconds": time.perf_counter() - start,
    }
