"""``device: auto | cpu | cuda`` of the torch models: resolution, on-device sampling, CPU runs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from moodrec.errors import ModelError
from moodrec.models.bpr import BPRMF
from moodrec.models.torch_utils import bpr_batches_torch, resolve_device
from tests.contract import block_matrix


def test_resolve_device() -> None:
    assert resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA device"):
            resolve_device("cuda")
    with pytest.raises(ModelError, match="unknown device"):
        resolve_device("tpu")


@pytest.mark.parametrize("pool", [1, 3])
def test_torch_sampler_covers_every_pair_and_draws_seeded_negatives(pool: int) -> None:
    users = torch.arange(10)
    items = torch.arange(10) + 100
    cand = torch.tensor([5, 6, 7])

    def epoch(seed: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        gen = torch.Generator()
        gen.manual_seed(seed)
        return list(bpr_batches_torch(users, items, cand, 4, 2, gen, None, pool))

    batches = epoch(0)
    u = torch.cat([b[0] for b in batches])
    i = torch.cat([b[1] for b in batches])
    j = torch.cat([b[2] for b in batches])
    assert sorted(u.tolist()) == sorted(list(range(10)) * 2)  # every pair, n_negatives times
    assert torch.equal(i, u + 100)  # pairs stay aligned
    assert j.shape == ((20,) if pool == 1 else (20, pool))
    assert set(j.reshape(-1).tolist()) <= {5, 6, 7}
    again = epoch(0)
    assert all(torch.equal(a[2], b[2]) for a, b in zip(batches, again, strict=True))
    weighted = list(
        bpr_batches_torch(users, items, cand, 32, 1, torch.Generator(), torch.tensor([0, 0, 1.0]))
    )
    assert set(weighted[0][2].tolist()) == {7}


def test_auto_device_fits_and_matches_cpu_here() -> None:
    m, _ = block_matrix()
    params = {**BPRMF.contract_params, "seed": 3}
    cpu = BPRMF(**params, device="cpu").fit(m)
    auto = BPRMF(**params, device="auto").fit(m)
    assert auto.fit_info["device"] == str(resolve_device("auto"))
    if not torch.cuda.is_available():
        np.testing.assert_allclose(cpu.score(np.arange(3)), auto.score(np.arange(3)))
    with pytest.raises(ValueError):
        BPRMF(device="gpu")
    assert isinstance(cpu.user_factors, np.ndarray) and sp.issparse(cpu._seen_matrix())
