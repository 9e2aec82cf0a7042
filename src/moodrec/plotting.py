"""Label placement for the interactive figures (topic map, genre map): a leaf, numpy only."""

from __future__ import annotations

import numpy as np


def label_shifts(
    x: np.ndarray, y: np.ndarray, step: float = 16.0, x_frac: float = 0.08, y_frac: float = 0.04
) -> list[float]:
    """Upward pixel offsets for point labels so that near neighbours do not overlap.

    Greedy, in order of ``y``: a label within ``x_frac`` of the x range and ``y_frac`` of the
    y range of one already placed at the same offset moves up by ``step``. Returns one
    offset per point.
    """
    if len(x) == 0:
        return []
    dx = max(float(np.ptp(x)), 1e-9) * x_frac
    dy = max(float(np.ptp(y)), 1e-9) * y_frac
    placed: list[tuple[float, float, float]] = []
    shifts = [0.0] * len(x)
    for i in np.argsort(y, kind="stable"):
        shift = 0.0
        while any(
            abs(x[i] - px) < dx and abs(y[i] - py) < dy and shift == ps for px, py, ps in placed
        ):
            shift += step
        shifts[int(i)] = shift
        placed.append((float(x[i]), float(y[i]), shift))
    return shifts
