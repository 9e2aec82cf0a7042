"""One number per stage for a run's summary (the terminal's last table, the report artifact)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def _get(summary: Mapping[str, Any], *path: str) -> Any:
    node: Any = summary
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:.3f}"


_KEYS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "ingest": lambda s: (
        s.get("events") is not None and f"{s['events']:,} events, {s.get('users', 0):,} users"
    ),
    "enrich": lambda s: (
        _get(s, "tracks", "enriched") is not None
        and f"{_get(s, 'tracks', 'enriched'):,} of {_get(s, 'tracks', 'planned'):,} tracks enriched"
    ),
    "topics": lambda s: s.get("k") is not None and f"{s['k']} topics, c_v {_n(s.get('c_v', 0.0))}",
    "clusters": lambda s: (
        _get(s, "audio", "n_clusters") is not None
        and f"{_get(s, 'audio', 'n_clusters')} audio clusters ({_get(s, 'audio', 'method')})"
    ),
    "genres": lambda s: (
        _get(s, "graph", "n_genres") is not None
        and f"{_get(s, 'graph', 'n_genres'):,} genres, {_get(s, 'graph', 'n_edges'):,} edges"
    ),
    "train": lambda s: isinstance(s.get("fits"), Mapping) and f"{len(s['fits'])} models fitted",
    "evaluate": lambda s: (
        s.get("best_model") is not None
        and f"best {s['best_model']}"
        + "".join(
            f", {k[5:].upper()} {_n(v)}"
            for k, v in s.items()
            if k.startswith("best_") and k != "best_model"
        )
    ),
    "ablation": lambda s: (
        isinstance(s.get("ndcg@10"), Mapping)
        and bool(s["ndcg@10"])
        and "best {} NDCG@10 {}".format(
            *max(s["ndcg@10"].items(), key=lambda kv: kv[1])[0:1], _n(max(s["ndcg@10"].values()))
        )
    ),
    "session": lambda s: (
        isinstance(s.get("best_hr10"), Mapping)
        and f"best {_get(s, 'best_hr10', 'model')}, HR@10 {_n(_get(s, 'best_hr10', 'HR@10'))}"
    ),
}


def key_number(stage: str, summary: Mapping[str, Any] | None) -> str:
    """The number that says most about a finished stage (``""`` when its summary has none
    this module knows of)."""
    if not isinstance(summary, Mapping):
        return ""
    pick = _KEYS.get(stage)
    value = pick(summary) if pick is not None else None
    return value if isinstance(value, str) else ""
