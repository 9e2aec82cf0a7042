"""Recommendations for one user from a saved model, with artist and title.

A model folder (``data/<profile>/models/<model>/``) holds the saved model and the
interaction id maps written beside it (:meth:`InteractionData.save`); titles come from
``interim/tracks.parquet`` and user names from ``interim/users.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from moodrec.errors import InputDataError, ModelLoadError
from moodrec.interactions.matrix import InteractionData
from moodrec.models import load_model


class RecommenderService:
    """A loaded model plus its id maps and track titles; :meth:`recommend` is the fast path.

    Factor models (iALS) answer through an exact norm-ordered index at large catalogues
    (:class:`moodrec.models.mips.FactorIndex`): the same top-k as scoring every item, in a
    few milliseconds at a million items (``benchmarks/results/serving.md``).

    Parameters
    ----------
    model_dir
        Folder written by the train flow (model + interaction maps).
    data_dir
        The profile's data folder (``interim/tracks.parquet`` inside).
    """

    def __init__(self, model_dir: Path | str, data_dir: Path | str) -> None:
        self.model = load_model(model_dir)
        # factor models build their exact top-k index here, not on the first request
        self.model.prepare_serving()
        self._candidates = self.candidates()
        self.user_ids, self.item_ids = InteractionData.load_maps(model_dir)
        # the maps are written beside the model: any other size means one of them was swapped
        if (self.user_ids.size, self.item_ids.size) != (self.model.n_users, self.model.n_items):
            raise ModelLoadError(
                f"{model_dir}: the id maps hold {self.user_ids.size} users and "
                f"{self.item_ids.size} items, the model {self.model.n_users} users and "
                f"{self.model.n_items} items"
            )
        interim = Path(data_dir) / "interim"
        tracks_path = interim / "tracks.parquet"
        if not tracks_path.is_file():
            raise InputDataError(f"{tracks_path}: missing (run the ingest stage first)")
        tracks = pd.read_parquet(tracks_path, columns=["track_id", "artist_name", "track_name"])
        titles = tracks.set_index("track_id").reindex(self.item_ids)
        self.artists = titles["artist_name"].astype("string").fillna("").to_numpy()
        self.titles = titles["track_name"].astype("string").fillna("").to_numpy()
        users_path = interim / "users.parquet"
        self.user_names: dict[str, int] = {}
        if users_path.is_file():
            users = pd.read_parquet(users_path)
            if "user" in users.columns:
                self.user_names = dict(
                    zip(users["user"].astype(str), users["user_id"].astype(int), strict=True)
                )

    def user_index(self, user: int | str) -> int:
        """Matrix row of a dataset user id (int or numeric string) or a user name."""
        uid: int | None = None
        if isinstance(user, str) and user in self.user_names:
            uid = self.user_names[user]
        elif isinstance(user, int | np.integer) or (isinstance(user, str) and user.isdigit()):
            uid = int(user)
        pos = np.searchsorted(self.user_ids, uid) if uid is not None else self.user_ids.size
        if uid is None or pos >= self.user_ids.size or self.user_ids[pos] != uid:
            raise InputDataError(f"unknown user {user!r} (not in the trained model)")
        return int(pos)

    def candidates(self) -> np.ndarray | None:
        """Items the model can rank, or None for all of them.

        A model that cannot score cold items (pure collaborative filtering) gives every item
        nobody played in training the same meaningless score (0, or ~1e-14 after rounding):
        with the user's own items excluded, a one-user log would list exactly those, in
        catalogue order. They are no candidates. Content-aware models keep them.
        """
        if type(self.model).scores_cold_items:
            return None
        played = np.diff(self.model._seen_matrix().tocsc().indptr) > 0
        return None if played.all() else np.flatnonzero(played)

    def recommend(self, user: int | str, k: int = 10, exclude_seen: bool = False) -> pd.DataFrame:
        """Top-``k`` tracks: columns ``rank, track_id, artist, title, score``.

        Only items with training plays are candidates for a collaborative model
        (:meth:`candidates`), so the list may be shorter than ``k`` (empty when the user
        played every item anyone played).
        """
        row = self.user_index(user)
        items = self._candidates
        idx, scores = self.model.recommend([row], k, exclude_seen=exclude_seen, items=items)
        keep = (idx[0] >= 0) & np.isfinite(scores[0])
        items = idx[0][keep]
        return pd.DataFrame(
            {
                "rank": np.arange(1, items.size + 1),
                "track_id": self.item_ids[items],
                "artist": self.artists[items],
                "title": self.titles[items],
                "score": scores[0][keep],
            }
        )


def recommend_for_user(
    model_dir: Path | str,
    data_dir: Path | str,
    user: int | str,
    k: int = 10,
    exclude_seen: bool = False,
) -> pd.DataFrame:
    """Load a saved model and return the user's top-``k`` (rank, track_id, artist, title, score).

    Raises
    ------
    InputDataError
        Unknown user or missing tracks table.
    moodrec.errors.ModelLoadError
        Unreadable, corrupt or inconsistent model folder (the message names the file).
    moodrec.errors.ModelError
        ``k < 1`` or NaN scores.
    """
    return RecommenderService(model_dir, data_dir).recommend(user, k, exclude_seen)
