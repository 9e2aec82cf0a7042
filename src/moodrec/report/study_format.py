"""How the report writes numbers and tables for a reader (rounded, no dict dumps)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import pandas as pd

from moodrec.report.build import Block


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a reader: floats rounded to ``digits`` decimals, ints with thousands
    separators, missing values as an en dash; anything else as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return f"{float(value):.{digits}f}"
    return str(value)


def table_block(title: str, frame: pd.DataFrame, note: str = "", folded: bool = False) -> Block:
    """A table block of ``frame`` with every value through :func:`fmt`."""
    rows = tuple(tuple(fmt(v) for v in row) for row in frame.itertuples(index=False, name=None))
    return Block(
        kind="table",
        title=title,
        columns=tuple(str(c) for c in frame.columns),
        rows=rows,
        note=note,
        folded=folded,
    )
