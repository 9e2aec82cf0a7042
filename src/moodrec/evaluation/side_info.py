"""Side information of HetRec 2011 Last.fm (friends, tag assignments) as matrices for models.

The friends graph is ``(n_users, n_users)``; tag assignments ``(user, artist, tag)`` become an
``(n_items, n_tags)`` count matrix. Tagging an artist says the user knows it, so a tag
assignment whose (user, artist) pair is held out (in the validation or test part) would leak
the answer: :meth:`HetrecSide.side_for` drops every assignment whose pair is not in the
training matrix but is among the user's listened artists. Assignments of artists a user
never listened to are no held-out pair and stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from moodrec.errors import InputDataError
from moodrec.ingest.hetrec import FRIENDS, TAGGED, read_dat
from moodrec.models.base import SideInformation


def _index(ids: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``query`` in the sorted ``ids`` and a mask of those found."""
    pos = np.searchsorted(ids, query)
    found = pos < ids.size
    found[found] = ids[pos[found]] == query[found]
    return np.where(found, pos, 0), found


def friends_graph(user_a: np.ndarray, user_b: np.ndarray, n_users: int) -> sp.csr_matrix:
    """Symmetric binary ``(n_users, n_users)`` graph of index pairs, no self-links."""
    keep = user_a != user_b
    a, b = user_a[keep], user_b[keep]
    data = np.ones(2 * a.size, dtype=np.float32)
    g = sp.csr_matrix(
        (data, (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n_users, n_users)
    )
    g.data[:] = 1.0  # duplicates summed: back to binary
    g.sort_indices()
    return g


def item_tag_matrix(
    users: np.ndarray,
    items: np.ndarray,
    tags: np.ndarray,
    shape: tuple[int, int],
    withheld: sp.spmatrix | None = None,
) -> sp.csr_matrix:
    """``(n_items, n_tags)`` counts of tag assignments, leaving out withheld (user, item) pairs.

    Parameters
    ----------
    users, items, tags
        Index arrays of the assignments (equal length).
    shape
        ``(n_items, n_tags)``.
    withheld
        ``(n_users, n_items)``: non-zero where the (user, item) pair is held out; its
        assignments are dropped.
    """
    keep = np.ones(users.size, dtype=bool)
    if withheld is not None:
        w = sp.csr_matrix(withheld)
        w.eliminate_zeros()
        keep = np.asarray(w[users, items]).ravel() == 0
    m = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (items[keep], tags[keep])), shape=shape
    )
    m.sort_indices()
    return m


@dataclass(frozen=True)
class HetrecSide:
    """Friends and tag assignments of HetRec mapped to matrix indices (unknown ids dropped)."""

    user_graph: sp.csr_matrix
    tag_users: np.ndarray
    tag_items: np.ndarray
    tag_codes: np.ndarray
    n_items: int
    n_tags: int

    def side_for(self, train: sp.spmatrix, listened: sp.spmatrix) -> SideInformation:
        """Side information for a model fitted on ``train``.

        ``listened`` is every known (user, item) interaction (train plus held-out parts):
        assignments on its pairs that ``train`` lacks are withheld.
        """
        lis = sp.csr_matrix(listened, dtype=np.float32, copy=True)
        lis.data[:] = 1.0
        tr = sp.csr_matrix(train, dtype=np.float32, copy=True)
        tr.data[:] = 1.0
        if lis.shape != tr.shape:
            raise InputDataError(f"side_for: train {tr.shape} and listened {lis.shape} differ")
        withheld = lis - lis.multiply(tr)
        tags = item_tag_matrix(
            self.tag_users, self.tag_items, self.tag_codes, (self.n_items, self.n_tags), withheld
        )
        return SideInformation(user_graph=self.user_graph, item_tags=tags)


def read_hetrec_side(folder: Path | str, user_ids: np.ndarray, item_ids: np.ndarray) -> HetrecSide:
    """Read ``user_friends.dat`` and ``user_taggedartists.dat`` for a HetRec matrix.

    Parameters
    ----------
    folder
        The HetRec folder.
    user_ids, item_ids
        Sorted dataset ids of the matrix rows / columns
        (:class:`~moodrec.interactions.matrix.InteractionData`).

    Raises
    ------
    InputDataError
        A missing or malformed file (named by :func:`moodrec.ingest.hetrec.read_dat`).
    """
    folder = Path(folder)
    friends = read_dat(folder / FRIENDS)
    a, fa = _index(user_ids, friends["userID"].to_numpy())
    b, fb = _index(user_ids, friends["friendID"].to_numpy())
    graph = friends_graph(a[fa & fb], b[fa & fb], user_ids.size)
    tagged = read_dat(folder / TAGGED)
    u, fu = _index(user_ids, tagged["userID"].to_numpy())
    i, fi = _index(item_ids, tagged["artistID"].to_numpy())
    ok = fu & fi
    tag_ids, codes = np.unique(tagged["tagID"].to_numpy()[ok], return_inverse=True)
    return HetrecSide(
        user_graph=graph,
        tag_users=u[ok].astype(np.int64),
        tag_items=i[ok].astype(np.int64),
        tag_codes=codes.astype(np.int64),
        n_items=int(item_ids.size),
        n_tags=int(tag_ids.size),
    )
