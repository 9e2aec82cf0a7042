"""Content features as model input: standardised values plus explicit "missing" flags.

Every content-aware recommender (``cb2cf``, ``lightfm``, ``hybrid``) reads its features through
:func:`content_matrix`, so items without a group's content are handled the same way
everywhere: the group's columns are standardised with the statistics of the items that *have*
it, set to 0 (the mean) where the item lacks it, and a ``missing_<group>`` column (1 = no
content) is appended whenever any item lacks the group (``ItemFeatures.available``). A model
can therefore tell "average content" from "no content" instead of reading a silent zero vector.
"""

from __future__ import annotations

import numpy as np

from moodrec.errors import ModelError
from moodrec.models.base import ItemFeatures


def content_matrix(
    features: ItemFeatures, groups: list[str] | tuple[str, ...], name: str = "model"
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Standardised columns of ``groups`` plus missing-content flags.

    Parameters
    ----------
    features
        Item features, ``n_items`` rows.
    groups
        Feature groups to use (in this order); unknown groups raise.
    name
        Model name for messages.

    Returns
    -------
    (x, columns, has_content)
        ``x`` is ``(n_items, n_columns)`` float32: the groups' standardised columns followed
        by one ``missing_<group>`` flag per group that some item lacks; ``columns`` names
        them; ``has_content`` is ``(n_items,)`` bool, True where the item has at least one
        of the groups.

    Raises
    ------
    ModelError
        When a group is unknown or the values hold NaN/inf.
    """
    sel = features.select(list(groups))
    values = sel.values.astype(np.float64)
    if not np.isfinite(values).all():
        raise ModelError(f"{name}: item_features hold NaN/inf (impute them first)")
    n = values.shape[0]
    avail = (
        sel.available.astype(bool)
        if sel.available is not None
        else np.ones((n, len(groups)), dtype=bool)
    )
    blocks: list[np.ndarray] = []
    flags: list[np.ndarray] = []
    columns: list[str] = []
    flag_names: list[str] = []
    start = 0
    for j, g in enumerate(groups):
        width = len(sel.groups[g])
        block = values[:, start : start + width]
        start += width
        ok = avail[:, j]
        out = np.zeros_like(block)
        if ok.any() and width:
            mean = block[ok].mean(0)
            std = block[ok].std(0)
            std[std < 1e-8] = 1.0
            out[ok] = (block[ok] - mean) / std
        blocks.append(out)
        columns += list(sel.groups[g])
        if not ok.all():
            flags.append((~ok).astype(np.float64)[:, None])
            flag_names.append(f"missing_{g}")
    x = np.hstack([*blocks, *flags]) if blocks or flags else np.zeros((n, 0))
    has_content = avail.any(1) if avail.shape[1] else np.zeros(n, dtype=bool)
    return x.astype(np.float32), columns + flag_names, has_content
