"""Interaction matrices from plays: weighting, minimum listeners, full catalogue, id maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.errors import InputDataError
from moodrec.interactions.matrix import (
    InteractionData,
    build_interactions,
    read_user_artists,
    weight_matrix,
)

PLAYS = pd.DataFrame(
    {
        "user_id": [10, 10, 20, 20, 30],
        "track_id": [5, 7, 5, 9, 5],
        "plays": [3, 1, 7, 2, 1],
        "rating": [8.0, 2.0, 9.0, 5.0, 1.0],
        "confidence": [1.5, 1.0, 3.0, 1.2, 1.0],
    }
)


def test_full_catalogue_min_listeners_and_maps(tmp_path: Path) -> None:
    data = build_interactions(PLAYS, weighting="binary", min_listeners=2, catalogue=[5, 7, 9, 11])
    np.testing.assert_array_equal(data.item_ids, [5, 7, 9, 11])
    np.testing.assert_array_equal(data.user_ids, [10, 20, 30])
    dense = data.matrix.toarray()
    # only track 5 has >= 2 listeners; 7, 9 and the unplayed 11 stay as empty columns
    np.testing.assert_array_equal(dense, [[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]])
    np.testing.assert_array_equal(data.item_index([9, 5]), [2, 0])
    with pytest.raises(InputDataError, match="unknown track"):
        data.item_index(6)
    data.save(tmp_path)
    users, items = InteractionData.load_maps(tmp_path)
    np.testing.assert_array_equal(users, data.user_ids)
    np.testing.assert_array_equal(items, data.item_ids)
    assert InteractionData.load_meta(tmp_path)["weighting"] == "binary"


@pytest.mark.parametrize("weighting", ["binary", "log", "bm25", "rating", "confidence", "raw"])
def test_weightings(weighting: str) -> None:
    data = build_interactions(PLAYS, weighting=weighting)
    m = data.matrix.toarray()
    assert data.matrix.nnz == 5
    if weighting != "bm25":  # BM25's idf is negative for items nearly everyone played
        assert np.all(data.matrix.data > 0)
    if weighting == "log":
        assert m[0, 0] == pytest.approx(np.log1p(3))
    if weighting == "rating":
        assert m[1, 0] == pytest.approx(9.0)
    if weighting == "confidence":
        assert m[1, 0] == pytest.approx(3.0)
    if weighting == "bm25":
        # the most common item has the lowest idf: same plays, lower weight than a rare item
        rare = weight_matrix(data.counts, "bm25").toarray()
        assert rare[1, 2] > 0 and rare[2, 0] < rare[1, 2]


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(InputDataError, match="plays"):
        build_interactions(PLAYS.drop(columns="plays"))
    with pytest.raises(InputDataError, match="weighting"):
        build_interactions(PLAYS, weighting="tfidf")


def test_hetrec_user_artists(shared_data: Path) -> None:
    path = shared_data / "hetrec2011_lastfm_2k" / "user_artists.dat"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    data = read_user_artists(path)
    assert data.counts.shape == (1892, 17632) and data.counts.nnz == 92834
