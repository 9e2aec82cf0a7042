"""Compare fitted topics with known (planted) ones: Hungarian matching on cosine similarity."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment


def planted_matrix(
    planted: Sequence[Mapping[str, float]],
    vocabulary: Sequence[str],
    normalise: Callable[[str], str] | None = None,
) -> np.ndarray:
    """Planted word distributions over ``vocabulary``, shape ``(n_planted, len(vocabulary))``.

    Each planted word is first passed through ``normalise`` (the cleaning's lemmatiser, so
    "tears" counts as "tear"); words the cleaning drops or the dictionary filtered carry no
    mass, and each row is renormalised over what is left.
    """
    index = {w: i for i, w in enumerate(vocabulary)}
    out = np.zeros((len(planted), len(vocabulary)))
    for t, words in enumerate(planted):
        for word, p in words.items():
            w = normalise(word) if normalise else word
            if w in index:
                out[t, index[w]] += p
    sums = out.sum(axis=1, keepdims=True)
    return np.divide(out, sums, out=np.zeros_like(out), where=sums > 0)


def match_topics(fitted: np.ndarray, planted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hungarian matching of fitted to planted topics maximising cosine similarity.

    Parameters
    ----------
    fitted, planted
        Shapes ``(k_fit, V)`` and ``(k_true, V)`` over the same vocabulary.

    Returns
    -------
    pairs : numpy.ndarray
        Shape ``(min(k_fit, k_true), 2)``: (fitted index, planted index).
    cosine : numpy.ndarray
        Cosine similarity of each matched pair.
    """
    a = fitted / np.maximum(np.linalg.norm(fitted, axis=1, keepdims=True), 1e-12)
    b = planted / np.maximum(np.linalg.norm(planted, axis=1, keepdims=True), 1e-12)
    sim = a @ b.T
    rows, cols = linear_sum_assignment(-sim)
    return np.column_stack([rows, cols]), sim[rows, cols]
