"""The enrichment coverage report: how many tracks each capability reached, and what was closed.

``enrich_coverage.json`` has ``coverage`` (tracks per capability by best status),
``by_provider`` (per capability and provider, by status), ``fields`` (non-empty values per
table column), ``unreachable`` (capabilities that were ``unavailable``/``blocked``/
``rate_limited``, from the probe or from the answers) and the probed ``capabilities``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from moodrec.providers.base import STATUSES

CAPABILITIES = (
    "track_link",
    "audio_features",
    "artist_genres",
    "lyrics",
    # the open sources (issue 17)
    "recording",
    "artist_tags",
    "track_tags",
    "track_audio",
)
#: the best status of a track over its providers: found first
_RANK = {
    "found": 0,
    "error": 1,
    "rate_limited": 2,
    "blocked": 3,
    "unavailable": 4,
    "not_found": 5,
}
_VALUE_TABLES = (
    "track_links",
    "track_features",
    "artist_genres",
    "lyrics_raw",
    "track_ids",
    "artist_tags",
    "track_tags",
    "track_audio",
    "track_moods",
)
_UNREACHABLE = ("unavailable", "blocked", "rate_limited")


def coverage_report(
    frames: dict[str, pl.DataFrame], capabilities: dict[str, Any]
) -> dict[str, Any]:
    """Coverage of the combined tables (see the module docstring).

    Parameters
    ----------
    frames
        The combined tables by name (``enrich_status`` and the four value tables).
    capabilities
        The probed reach per provider and capability (``available`` or a status).
    """
    status = frames["enrich_status"]
    by_provider = _status_by_provider(status)
    return {
        "n_tracks": int(status["track_id"].n_unique()) if status.height else 0,
        "coverage": compute_coverage(status),
        "by_provider": by_provider,
        "fields": _field_counts(frames),
        "unreachable": _unreachable(by_provider, capabilities),
        "capabilities": capabilities,
    }


def _status_by_provider(status: pl.DataFrame) -> dict[str, dict[str, dict[str, int]]]:
    by_provider: dict[str, dict[str, dict[str, int]]] = {}
    for (cap, prov), sub in status.group_by(["capability", "provider"], maintain_order=True):
        counts = {st: 0 for st in STATUSES}
        for st, n in sub.group_by("status").len().iter_rows():
            counts[st] = counts.get(st, 0) + n
        by_provider.setdefault(str(cap), {})[str(prov)] = counts
    return by_provider


def _field_counts(frames: dict[str, pl.DataFrame]) -> dict[str, dict[str, int]]:
    """Rows and non-empty values per column of each value table (an empty list is empty)."""
    fields: dict[str, dict[str, int]] = {}
    for name in _VALUE_TABLES:
        if name not in frames:  # a report of tables written before the open sources
            continue
        df = frames[name]
        cols = [c for c in df.columns if c not in ("track_id", "artist_id", "provider")]
        counts = {}
        for c in cols:
            col = df[c]
            if col.dtype == pl.List(pl.String):
                counts[c] = int((col.list.len() > 0).sum())
            else:
                counts[c] = int(col.is_not_null().sum())
        fields[name] = {"rows": df.height, **counts}
    return fields


def _unreachable(
    by_provider: dict[str, dict[str, dict[str, int]]], capabilities: dict[str, Any]
) -> list[dict[str, Any]]:
    """Capabilities the probe found closed, then those the answers said were unreachable."""
    unreachable: list[dict[str, Any]] = []
    for prov, caps in sorted(capabilities.items()):
        for cap, state in sorted(caps.items()):
            if state != "available":
                unreachable.append(
                    {"provider": prov, "capability": cap, "status": state, "source": "probe"}
                )
    for cap, provs in by_provider.items():
        for prov, counts in provs.items():
            for st in _UNREACHABLE:
                if counts.get(st):
                    unreachable.append(
                        {
                            "provider": prov,
                            "capability": cap,
                            "status": st,
                            "source": "answers",
                            "tracks": counts[st],
                        }
                    )
    return unreachable


def compute_coverage(status: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Tracks per capability by final status (best over providers: found first)."""
    out: dict[str, dict[str, int]] = {}
    if status.is_empty():
        return out
    ranked = status.with_columns(rank=pl.col("status").replace_strict(_RANK, default=9))
    best = ranked.group_by("capability", "track_id").agg(pl.col("rank").min())
    inv = {v: k for k, v in _RANK.items()}
    for cap in CAPABILITIES:
        sub = best.filter(pl.col("capability") == cap)
        counts = {s: 0 for s in STATUSES}
        for rank, n in sub.group_by("rank").len().iter_rows():
            counts[inv.get(rank, "error")] += n
        if sub.height:
            out[cap] = counts
    return out
