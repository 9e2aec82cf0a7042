"""A saved model that does not fit its id maps, or serves NaN, fails with a named error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from moodrec.errors import InputDataError, ModelError, ModelLoadError
from moodrec.interactions.matrix import MAPS_NPZ
from moodrec.models import load_models
from moodrec.models.serving import RecommenderService
from tests.contract import N_ITEMS, block_matrix


def write_served_model(data_dir: Path, name: str = "popularity") -> Path:
    """A fitted contract model in ``data_dir/models/<name>`` with its id maps and titles."""
    m, _ = block_matrix()
    klass: Any = load_models()[name]
    folder = klass(**klass.contract_params).fit(m).save(data_dir / "models" / name)
    item_ids = np.arange(100, 100 + N_ITEMS, dtype=np.int64)
    np.savez(folder / MAPS_NPZ, user_ids=np.arange(m.shape[0], dtype=np.int64), item_ids=item_ids)
    (data_dir / "interim").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "track_id": item_ids,
            "artist_name": [f"artist {i}" for i in item_ids],
            "track_name": [f"track {i}" for i in item_ids],
        }
    ).to_parquet(data_dir / "interim" / "tracks.parquet")
    return folder


def test_the_service_serves_a_well_formed_folder_with_k_capped(tmp_path: Path) -> None:
    folder = write_served_model(tmp_path)
    service = RecommenderService(folder, tmp_path)
    idx, _ = service.model.recommend([0], 10**8)
    assert idx.shape == (1, N_ITEMS)  # k capped at the catalogue: no 10**8-long padding
    # every item with training plays once; the contract matrix's cold items have no
    # collaborative score, so they are no candidates (issue 16)
    m, _ = block_matrix()
    played = int((np.diff(m.tocsc().indptr) > 0).sum())
    assert 0 < played < N_ITEMS
    assert len(service.recommend(0, k=10**8)) == played


@pytest.mark.parametrize(("users", "items"), [(12, N_ITEMS - 1), (11, N_ITEMS), (3, 40)])
def test_id_maps_of_another_size_than_the_model_are_a_load_error(
    tmp_path: Path, users: int, items: int
) -> None:
    folder = write_served_model(tmp_path)
    np.savez(folder / MAPS_NPZ, user_ids=np.arange(users), item_ids=np.arange(items))
    with pytest.raises(ModelLoadError, match=f"{users} users and {items} items") as err:
        RecommenderService(folder, tmp_path)
    assert str(folder) in str(err.value)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated"])
def test_corrupt_id_maps_are_a_named_error(tmp_path: Path, content: bytes) -> None:
    folder = write_served_model(tmp_path)
    (folder / MAPS_NPZ).write_bytes(content)
    with pytest.raises(InputDataError, match=MAPS_NPZ):
        RecommenderService(folder, tmp_path)


@pytest.mark.parametrize("indexed", [False, True])
def test_nan_user_factors_at_serving_are_an_error_not_an_empty_list(
    indexed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Brute force and the exact index (which skips NaN scores) both refuse."""
    m, _ = block_matrix()
    klass: Any = load_models()["ials"]
    model = klass(**klass.contract_params).fit(m)
    if indexed:
        monkeypatch.setattr(model, "index_min_items", 1)
    factors = model.user_factors.copy()
    factors[0] = np.nan
    model.user_factors = factors
    with pytest.raises(ModelError, match="NaN scores"):
        model.recommend([0], 5)
    idx, _ = model.recommend([1], 5)  # the other users still get their lists
    assert (idx >= 0).all()
