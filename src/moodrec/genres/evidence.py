"""Evidence for super-genre placement beyond co-occurrence: genre names and audio profiles.

Both give a sparse, symmetric genre × genre affinity that :func:`moodrec.genres.supergenres.
placement_affinity` adds to the co-occurrence affinity before label propagation:

* **names** (:func:`name_containment_affinity`): real genre names carry their parent
  ("swedish death metal" → "death metal" → "metal", "dark ambient" → "ambient"), which is what
  hand-made taxonomies lean on. Each genre is joined to the genre(s) whose name is its longest
  proper run of words, and spelling variants with the same words ("hip-hop", "hip hop") are
  joined to each other. A name link is one piece of evidence among many: "pop punk" names
  ``pop`` but sits with punk in the co-occurrence graph, so names are weighted, not trusted.
* **audio** (:func:`genre_audio_profiles`, :func:`audio_knn_affinity`): the mean standardised
  audio features of the tracks of the artists that carry a genre; genres that sound alike are
  joined to their ``k`` nearest neighbours. It bridges genre families that co-occur with
  their super-genre too rarely to be reached through the graph, and is available wherever
  tracks carry audio features (the sandbox, Spotify exports, enrichment); sources without
  tracks (HetRec tags) simply go without it.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from moodrec.errors import InputDataError

logger = logging.getLogger(__name__)

#: word separators inside genre names ("hip-hop", "drum_and_bass", "post-rock/metal")
_SEPARATORS = re.compile(r"[\s\-_/]+")


def name_tokens(name: str) -> tuple[str, ...]:
    """Words of a genre name, lower-case: ``"Post-Rock"`` → ``("post", "rock")``."""
    return tuple(t for t in _SEPARATORS.split(str(name).strip().lower()) if t)


def _symmetric(rows: list[int], cols: list[int], n: int) -> sparse.csr_matrix:
    w = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    out = ((w + w.T) > 0).astype(np.float64).tocsr()
    out.setdiag(0.0)
    out.eliminate_zeros()
    return out


def name_containment_affinity(genres: Sequence[str]) -> sparse.csr_matrix:
    """0/1 affinity between genres whose names contain one another, shape ``(n, n)``.

    Genre ``g`` is joined to every genre whose words are the longest proper contiguous run of
    ``g``'s words that names some genre (``"melodic death metal"`` → ``"death metal"``, not
    also ``"metal"``), and to every other genre with exactly the same words (spelling
    variants). Symmetric, zero diagonal.

    Parameters
    ----------
    genres
        Genre names, position = node index.
    """
    toks = [name_tokens(g) for g in genres]
    by_tokens: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, t in enumerate(toks):
        if t:
            by_tokens[t].append(i)
    rows: list[int] = []
    cols: list[int] = []
    for group in by_tokens.values():
        # spelling variants: chain them (a chain is enough to connect them)
        rows.extend(group[:-1])
        cols.extend(group[1:])
    for i, t in enumerate(toks):
        for length in range(len(t) - 1, 0, -1):
            heads = [
                j
                for start in range(len(t) - length + 1)
                for j in by_tokens.get(t[start : start + length], ())
            ]
            if heads:
                rows.extend([i] * len(heads))
                cols.extend(heads)
                break
    return _symmetric(rows, cols, len(toks))


def genre_audio_profiles(
    table: pd.DataFrame, tracks: pd.DataFrame, features: Sequence[str]
) -> pd.DataFrame:
    """Mean standardised audio features per genre (artists weigh equally).

    Each feature is standardised over all tracks, averaged per artist, then averaged over the
    artists carrying the genre, so a prolific artist does not outweigh the rest.

    Parameters
    ----------
    table
        Tidy ``artist, genre, weight`` table (not modified).
    tracks
        ``artist`` (the genre table's artist key) and the feature columns (not modified).
    features
        Feature columns to use; those missing from ``tracks`` are skipped.

    Returns
    -------
    pandas.DataFrame
        Index ``genre`` (only genres with at least one track), one column per feature used.

    Raises
    ------
    InputDataError
        When ``tracks`` has no ``artist`` column or none of ``features``.
    """
    cols = [f for f in features if f in tracks.columns]
    if "artist" not in tracks.columns or not cols:
        raise InputDataError(
            f"audio profiles need tracks with 'artist' and some of {list(features)}; "
            f"got columns {list(tracks.columns)}"
        )
    x = tracks[cols].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    std = x.std(ddof=0).replace(0.0, 1.0)
    z = (x - x.mean()) / std
    artist_mean = z.groupby(tracks["artist"].astype(str).to_numpy()).mean()
    pairs = table[["artist", "genre"]].drop_duplicates()
    pairs = pairs[pairs["artist"].astype(str).isin(artist_mean.index)]
    per_pair = artist_mean.loc[pairs["artist"].astype(str)].set_axis(pairs.index)
    profiles = per_pair.groupby(pairs["genre"].to_numpy()).mean()
    profiles.index.name = "genre"
    return profiles.dropna(how="all").fillna(0.0)


def audio_knn_affinity(genres: Sequence[str], profiles: pd.DataFrame, k: int) -> sparse.csr_matrix:
    """0/1 affinity joining each genre to its ``k`` nearest genres in audio-profile space.

    Euclidean distance on the profile columns; the union of the directed neighbour lists,
    so the matrix is symmetric (zero diagonal). Genres without a profile get no edge.

    Parameters
    ----------
    genres
        Genre names, position = node index, shape ``(n,)``.
    profiles
        :func:`genre_audio_profiles` output (index = genre).
    k
        Neighbours per genre (fewer when fewer genres have a profile).
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(genres)
    pos = pd.Index(genres).get_indexer(profiles.index)
    have = pos >= 0
    x = profiles.to_numpy(dtype=np.float64)[have]
    nodes = pos[have]
    kk = min(k, len(nodes) - 1)
    if kk < 1:
        return sparse.csr_matrix((n, n))
    nn = NearestNeighbors(n_neighbors=kk + 1).fit(x)
    _, ind = nn.kneighbors(x)
    rows = np.repeat(nodes, kk + 1)
    cols = nodes[ind.ravel()]
    keep = rows != cols
    return _symmetric(rows[keep].tolist(), cols[keep].tolist(), n)


def unit_mean_strength(affinity: sparse.csr_matrix) -> sparse.csr_matrix:
    """``affinity`` scaled so that the mean node strength (row sum) is 1.

    Puts affinities of different units (co-occurrence, 0/1 name or audio links) on one scale
    before they are mixed with weights; an empty matrix is returned unchanged.
    """
    total = float(affinity.sum())
    if total <= 0:
        return affinity.tocsr()
    return (affinity * (affinity.shape[0] / total)).tocsr()
