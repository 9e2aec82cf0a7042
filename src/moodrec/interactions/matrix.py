"""User × item interaction matrices built from the ``plays`` table, with dataset-id maps.

Rows of the matrix are users, columns are items (tracks), both dense indices that
:class:`InteractionData` maps back to the dataset's ``user_id`` / ``track_id``. The columns
span the whole catalogue: tracks below ``min_listeners`` or without plays remain as empty
columns so that cold items exist for content-aware models and the cold-start slice.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from moodrec.errors import InputDataError
from moodrec.storage import atomic_path, write_json_atomic

Weighting = Literal["binary", "log", "bm25", "confidence", "rating", "raw"]
WEIGHTINGS: tuple[str, ...] = ("binary", "log", "bm25", "confidence", "rating", "raw")
MAPS_NPZ = "interactions_maps.npz"
MAPS_JSON = "interactions.json"


def weight_matrix(
    counts: sp.csr_matrix,
    weighting: str = "log",
    *,
    k1: float = 1.2,
    b: float = 0.75,
) -> sp.csr_matrix:
    """Re-weight a (user × item) matrix of play counts.

    Parameters
    ----------
    counts
        CSR matrix of non-negative play counts (or ratings / confidences for those schemes,
        which are passed through unchanged).
    weighting
        ``binary`` (1 for every interaction), ``log`` (``log1p(plays)``), ``bm25`` (Okapi BM25 on
        the item columns, as in ``implicit.nearest_neighbours.bm25_weight``), ``raw`` /
        ``confidence`` / ``rating`` (values as given).
    k1, b
        BM25 parameters.

    Returns
    -------
    scipy.sparse.csr_matrix
        float32, same sparsity pattern (sorted indices).
    """
    if weighting not in WEIGHTINGS:
        raise InputDataError(f"weighting {weighting!r} is not one of {WEIGHTINGS}")
    m = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    m.sort_indices()
    if weighting == "binary":
        m.data[:] = 1.0
    elif weighting == "log":
        m.data = np.log1p(m.data).astype(np.float32)
    elif weighting == "bm25":
        n_users = max(m.shape[0], 1)
        df = np.bincount(m.indices, minlength=m.shape[1]).astype(np.float64)
        idf = np.log(n_users) - np.log1p(df)
        row_sums = np.asarray(m.sum(axis=1)).ravel()
        avg = row_sums.mean() if row_sums.size else 1.0
        length_norm = (1.0 - b) + b * row_sums / max(avg, 1e-12)
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        data = m.data.astype(np.float64)
        m.data = (data * (k1 + 1.0) / (k1 * length_norm[rows] + data) * idf[m.indices]).astype(
            np.float32
        )
    return m


@dataclass
class InteractionData:
    """A user × item matrix plus the maps between matrix indices and dataset ids.

    Attributes
    ----------
    matrix
        ``(n_users, n_items)`` CSR, float32, sorted indices; values per ``weighting``.
    counts
        Same pattern, the raw play counts (splits are made on it, weighting re-applied after).
    user_ids, item_ids
        Dataset ids of each row / column (ascending).
    weighting
        The scheme that produced ``matrix``.
    """

    matrix: sp.csr_matrix
    counts: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    weighting: str = "log"

    @property
    def n_users(self) -> int:
        return int(self.user_ids.size)

    @property
    def n_items(self) -> int:
        return int(self.item_ids.size)

    def user_index(self, user_ids: np.ndarray | list[int] | int) -> np.ndarray:
        """Matrix rows of dataset user ids; unknown ids raise :class:`InputDataError`."""
        return _lookup(self.user_ids, user_ids, "user")

    def item_index(self, item_ids: np.ndarray | list[int] | int) -> np.ndarray:
        """Matrix columns of dataset track ids; unknown ids raise :class:`InputDataError`."""
        return _lookup(self.item_ids, item_ids, "track")

    def item_popularity(self) -> np.ndarray:
        """Number of distinct users with an interaction, per item."""
        return np.bincount(self.counts.indices, minlength=self.n_items)

    def save(self, folder: Path | str) -> Path:
        """Write the id maps (``interactions_maps.npz`` + ``interactions.json``) to ``folder``."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(out / MAPS_NPZ) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, user_ids=self.user_ids, item_ids=self.item_ids)
        write_json_atomic(
            out / MAPS_JSON,
            {"weighting": self.weighting, "n_users": self.n_users, "n_items": self.n_items},
        )
        return out

    @staticmethod
    def load_maps(folder: Path | str) -> tuple[np.ndarray, np.ndarray]:
        """``(user_ids, item_ids)`` saved by :meth:`save` (no matrix is stored)."""
        path = Path(folder) / MAPS_NPZ
        try:
            with np.load(path, allow_pickle=False) as npz:
                return npz["user_ids"], npz["item_ids"]
        # BadZipFile / EOFError / zlib.error: a truncated, empty or corrupt archive
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise InputDataError(
                f"{path}: cannot read the interaction id maps ({type(exc).__name__}: {exc})"
            ) from exc

    @staticmethod
    def load_meta(folder: Path | str) -> dict:
        """The JSON written beside the id maps."""
        return json.loads((Path(folder) / MAPS_JSON).read_text())


def _lookup(ids: np.ndarray, query: np.ndarray | list[int] | int, what: str) -> np.ndarray:
    q = np.atleast_1d(np.asarray(query))
    pos = np.searchsorted(ids, q)
    pos_c = np.minimum(pos, max(ids.size - 1, 0))
    bad = (pos >= ids.size) | (ids[pos_c] != q) if ids.size else np.ones(q.size, bool)
    if np.any(bad):
        raise InputDataError(f"unknown {what} id(s) {q[bad][:5].tolist()}")
    return pos_c.astype(np.int64)


def build_interactions(
    plays: pd.DataFrame,
    *,
    weighting: str = "log",
    min_listeners: int = 1,
    catalogue: np.ndarray | pd.Series | None = None,
    users: np.ndarray | pd.Series | None = None,
) -> InteractionData:
    """Build the interaction matrix from a ``plays`` frame.

    Parameters
    ----------
    plays
        Columns ``user_id``, ``track_id``, ``plays`` (and ``rating`` / ``confidence`` when those
        weightings are asked for). Duplicate pairs are summed.
    weighting
        See :func:`weight_matrix`; ``rating`` / ``confidence`` take the frame's columns.
    min_listeners
        Interactions with tracks that fewer users played are dropped; the tracks stay columns.
    catalogue
        Every track id of the catalogue (e.g. ``tracks.track_id``); ids only here are cold
        columns. Default: the track ids of ``plays``.
    users
        Every user id (default: the users of ``plays``).

    Returns
    -------
    InteractionData

    Raises
    ------
    InputDataError
        Missing columns, negative plays, or an unknown weighting.
    """
    need = {"user_id", "track_id", "plays"}
    if weighting in ("rating", "confidence"):
        need.add(weighting)
    missing = need - set(plays.columns)
    if missing:
        raise InputDataError(f"plays: missing column(s) {sorted(missing)}")
    if weighting not in WEIGHTINGS:
        raise InputDataError(f"weighting {weighting!r} is not one of {WEIGHTINGS}")
    if len(plays) and (plays["plays"] < 0).any():
        raise InputDataError("plays: negative play counts")
    extra = [weighting] if weighting in ("rating", "confidence") else []
    cols = ["user_id", "track_id", "plays", *extra]
    frame = plays[cols].groupby(["user_id", "track_id"], as_index=False, sort=True).sum()
    item_ids = np.unique(
        np.concatenate(
            [frame["track_id"].to_numpy(), np.asarray([] if catalogue is None else catalogue)]
        ).astype(np.int64)
    )
    user_ids = np.unique(
        np.concatenate(
            [frame["user_id"].to_numpy(), np.asarray([] if users is None else users)]
        ).astype(np.int64)
    )
    if min_listeners > 1:
        listeners = frame.groupby("track_id")["user_id"].transform("size")
        frame = frame[listeners >= min_listeners]
    rows = np.searchsorted(user_ids, frame["user_id"].to_numpy())
    cols_i = np.searchsorted(item_ids, frame["track_id"].to_numpy())
    shape = (user_ids.size, item_ids.size)
    counts = sp.csr_matrix(
        (frame["plays"].to_numpy(np.float32), (rows, cols_i)), shape=shape, dtype=np.float32
    )
    counts.sort_indices()
    if weighting in ("rating", "confidence"):
        values = sp.csr_matrix(
            (frame[weighting].to_numpy(np.float32), (rows, cols_i)), shape=shape, dtype=np.float32
        )
        values.sort_indices()
    else:
        values = weight_matrix(counts, weighting)
    return InteractionData(values, counts, user_ids, item_ids, weighting)


def read_user_artists(path: Path | str) -> InteractionData:
    """HetRec 2011 ``user_artists.dat`` (``userID artistID weight``) as raw-count interactions.

    Rows are sorted by (userID, artistID) — the CSR order — so :func:`per_user_holdout` on
    ``counts`` follows the HetRec protocol exactly.
    """
    p = Path(path)
    try:
        df = pd.read_csv(p, sep="\t", dtype={"userID": np.int64, "artistID": np.int64})
    except (OSError, ValueError) as exc:
        raise InputDataError(f"{p}: cannot read user_artists ({exc})") from exc
    if not {"userID", "artistID", "weight"} <= set(df.columns):
        raise InputDataError(f"{p}: expected columns userID, artistID, weight")
    plays = df.rename(columns={"userID": "user_id", "artistID": "track_id", "weight": "plays"})
    return build_interactions(plays, weighting="raw")


def save_matrix(matrix: sp.spmatrix, path: Path | str) -> Path:
    """Write a sparse matrix as an uncompressed ``.npz`` (atomic rename; no pickle involved)."""
    out = Path(path)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        sp.save_npz(fh, sp.csr_matrix(matrix), compressed=False)
    return out


def load_matrix(path: Path | str) -> sp.csr_matrix:
    """A matrix written by :func:`save_matrix`, as CSR with sorted indices.

    Raises
    ------
    InputDataError
        If the file is missing or not a saved sparse matrix.
    """
    try:
        m = sp.load_npz(path).tocsr()
    except (OSError, ValueError) as exc:
        raise InputDataError(f"{path}: cannot read the interaction matrix ({exc})") from exc
    m.sort_indices()
    return m
