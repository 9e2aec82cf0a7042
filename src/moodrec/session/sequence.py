"""A small GRU4Rec-style sequence model in torch (seeded, few epochs; ``device``: auto, cpu, cuda).

Item embedding → one GRU layer → a full-softmax output over the catalogue, trained with
cross-entropy on every next play of the training sessions (sessions longer than
``max_len + 1`` are cut into consecutive chunks). Torch is imported only here.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from moodrec.errors import ModelFitError
from moodrec.models.torch_utils import resolve_device
from moodrec.session.base import SessionRecommender
from moodrec.session.data import SessionData

logger = logging.getLogger(__name__)


class GRUNet(nn.Module):
    """Embedding (padding index ``n_items``) → GRU → linear scores over ``n_items``."""

    def __init__(self, n_items: int, embedding_dim: int, hidden_dim: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_items + 1, embedding_dim, padding_idx=n_items)
        self.gru = nn.GRU(embedding_dim, hidden_dim, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, n_items)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, length, hidden_dim)`` GRU states after dropout."""
        h, _ = self.gru(self.drop(self.embed(x)))
        return self.drop(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(x))


def _chunks(train: SessionData, max_len: int, n_items: int) -> np.ndarray:
    """``(n_chunks, max_len + 1)`` item windows, right-padded with ``n_items``."""
    rows: list[np.ndarray] = []
    for s in np.flatnonzero(train.session_length >= 2):
        seq = train.session(int(s))
        for start in range(0, seq.size - 1, max_len):
            rows.append(seq[start : start + max_len + 1])
    out = np.full((len(rows), max_len + 1), n_items, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : r.size] = r
    return out


class GRU4RecRecommender(SessionRecommender):
    """GRU4Rec-style next-item model (full softmax, cross-entropy, Adam)."""

    name = "gru4rec"
    #: a fast fit on a tiny world (the shared contract tests)
    contract_params: ClassVar[dict[str, Any]] = {
        "epochs": 6,
        "embedding_dim": 16,
        "hidden_dim": 16,
        "n_negatives": 0,
    }

    def __init__(
        self,
        embedding_dim: int = 64,
        hidden_dim: int = 96,
        max_len: int = 20,
        epochs: int = 3,
        batch_size: int = 128,
        learning_rate: float = 0.005,
        dropout: float = 0.1,
        n_negatives: int = 512,
        threads: int = 1,
        seed: int = 0,
        device: str = "cpu",
        **params: Any,
    ) -> None:
        super().__init__(
            n_negatives=n_negatives,
            threads=threads,
            embedding_dim=embedding_dim,
            hidden_dim=hidden_dim,
            max_len=max_len,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            dropout=dropout,
            seed=seed,
            device=str(device),
            **params,
        )
        self.net: GRUNet | None = None
        self._np: dict[str, np.ndarray] | None = None
        self.losses: list[float] = []
        self.epoch_seconds: list[float] = []

    def _build(self) -> GRUNet:
        p = self.params
        return GRUNet(self.n_items, int(p["embedding_dim"]), int(p["hidden_dim"]), p["dropout"])

    def _fit(self, train: SessionData) -> None:
        # few threads: the op sizes are small and extra threads only contend
        before = torch.get_num_threads()
        torch.set_num_threads(max(1, int(self.params["threads"])))
        try:
            self._train(train)
        finally:
            torch.set_num_threads(before)

    def _train(self, train: SessionData) -> None:
        p = self.params
        device = resolve_device(str(p.get("device", "cpu")))
        torch.manual_seed(int(p["seed"]))
        rng = np.random.default_rng(int(p["seed"]))
        on_cpu = device.type == "cpu"
        gen = None
        if not on_cpu:
            # negatives and the batch order are drawn on the device
            gen = torch.Generator(device=device)
            gen.manual_seed(int(p["seed"]))
        data = _chunks(train, int(p["max_len"]), self.n_items)
        if data.shape[0] == 0:
            raise ModelFitError("gru4rec: no training session has two plays")
        pop = self.popularity + 1.0 / self.n_items
        self._neg_p = (pop**0.75) / (pop**0.75).sum()
        net = self._build().to(device)
        data_t = torch.from_numpy(data).to(device)
        neg_p_t = torch.from_numpy(self._neg_p).float().to(device)
        opt = torch.optim.Adam(net.parameters(), lr=float(p["learning_rate"]))
        loss_fn = nn.CrossEntropyLoss(ignore_index=self.n_items)
        n_neg = int(p["n_negatives"])
        bs = int(p["batch_size"])
        net.train()
        self.losses = []
        self.epoch_seconds = []
        for epoch in range(int(p["epochs"])):
            started = time.perf_counter()
            if on_cpu:
                order = torch.from_numpy(rng.permutation(data.shape[0]))
            else:
                order = torch.randperm(data.shape[0], generator=gen, device=device)
            total, n = 0.0, 0
            for b in range(0, order.numel(), bs):
                batch = data_t[order[b : b + bs]]
                # drop trailing all-padding columns to save work on short sessions
                width = int((batch != self.n_items).sum(dim=1).max())
                batch = batch[:, :width]
                target = batch[:, 1:].reshape(-1)
                keep = target != self.n_items
                hidden = net.hidden(batch[:, :-1]).reshape(-1, net.out.in_features)[keep]
                target = target[keep]
                if 0 < n_neg < self.n_items:
                    # sampled softmax: the batch's targets plus popularity-drawn negatives
                    if on_cpu:
                        neg = torch.from_numpy(rng.choice(self.n_items, size=n_neg, p=self._neg_p))
                    else:
                        neg = torch.multinomial(neg_p_t, n_neg, replacement=True, generator=gen)
                    cand, inv = torch.unique(torch.cat([target, neg]), return_inverse=True)
                    logits = hidden @ net.out.weight[cand].T + net.out.bias[cand]
                    loss = loss_fn(logits, inv[: target.numel()])
                else:
                    loss = loss_fn(net.out(hidden), target)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * batch.shape[0]
                n += batch.shape[0]
            mean = total / max(n, 1)
            if not np.isfinite(mean):
                raise ModelFitError(f"gru4rec: loss diverged at epoch {epoch + 1}")
            self.losses.append(mean)
            self.epoch_seconds.append(time.perf_counter() - started)
            logger.debug("gru4rec epoch %d: loss %.4f", epoch + 1, mean)
        net.eval()
        self.net = net.to("cpu")  # scoring (NumPy) and saving run on the CPU
        self._np = None

    def score_next(
        self, prefix: np.ndarray, user: int | None = None, target_mood: int | None = None
    ) -> np.ndarray:
        if prefix.size == 0 or self.net is None:
            return self.popularity.copy()
        if self._np is None:
            self._np = {
                k: v.detach().numpy().astype(np.float64) for k, v in self.net.state_dict().items()
            }
        w = self._np
        # the GRU recurrence in NumPy (PyTorch's gate order r, z, n): no torch thread pool
        # per call, so one recommendation takes well under a millisecond
        h = np.zeros(w["gru.bias_hh_l0"].size // 3)
        x_all = w["embed.weight"][prefix[-int(self.params["max_len"]) :]]
        gi_all = x_all @ w["gru.weight_ih_l0"].T + w["gru.bias_ih_l0"]
        for gi in gi_all:
            gh = w["gru.weight_hh_l0"] @ h + w["gru.bias_hh_l0"]
            i_r, i_z, i_n = np.split(gi, 3)
            h_r, h_z, h_n = np.split(gh, 3)
            r = 1.0 / (1.0 + np.exp(-(i_r + h_r)))
            z = 1.0 / (1.0 + np.exp(-(i_z + h_z)))
            n = np.tanh(i_n + r * h_n)
            h = (1.0 - z) * n + z * h
        logits = w["out.weight"] @ h + w["out.bias"]
        e = np.exp(logits - logits.max())
        return e / e.sum()

    def _state(self) -> dict[str, np.ndarray]:
        if self.net is None:
            return {}
        return {k: v.detach().cpu().numpy() for k, v in self.net.state_dict().items()}

    def _restore(self, arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        net = self._build()
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()})
        net.eval()
        self.net = net
        self._np = None
