"""Next-track recommendations for a user's running session, and their mood timeline.

``recommend_in_session(data_dir, user, k, session="recent", mood=None)`` loads (once per
process and data folder) the mood-aware model saved by the session stage and the ingest
tables, takes the user's most recent listening within the session gap as the running
session, infers its mood (or takes ``mood``) and ranks the next tracks. After the first
call a recommendation takes a few milliseconds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moodrec.errors import MoodrecError
from moodrec.models.saved import read_json_object
from moodrec.session.base import SessionRecommender
from moodrec.session.data import timestamps_seconds
from moodrec.session.models import MoodAwareRecommender
from moodrec.session.stage import SERVING_JSON, SERVING_MODEL


class ServingError(MoodrecError):
    """No saved session model, an unknown user or an unknown mood."""


@dataclass(frozen=True)
class SessionRecommendation:
    """A ranked list for one user's running session.

    Attributes
    ----------
    user
        The dataset's user id.
    session
        Item (track) indices of the running session, oldest first.
    mood
        The mood used: the override, or the most probable inferred state (None without
        mood features).
    mood_posterior
        Mood label → probability (empty without mood features).
    items
        ``track_id``, ``artist_name``, ``track_name``, ``score``, ``valence``, ``energy``.
    """

    user: str
    session: np.ndarray
    mood: str | None
    mood_posterior: dict[str, float]
    items: pd.DataFrame


class SessionServer:
    """The saved mood-aware model plus what serving needs from the ingest tables."""

    def __init__(self, data_dir: Path | str) -> None:
        root = Path(data_dir)
        folder = root / "models" / "session" / SERVING_MODEL
        meta_path = folder / SERVING_JSON
        if not meta_path.is_file():
            raise ServingError(f"{meta_path}: no session model; run the session stage first")
        self.meta: dict[str, Any] = read_json_object(meta_path, "the serving metadata")
        model = SessionRecommender.load(folder)
        if not isinstance(model, MoodAwareRecommender):
            raise ServingError(f"{folder}: holds a {model.name}, not the mood-aware model")
        self.model = model
        interim = root / "interim"
        events = pd.read_parquet(interim / "events.parquet", columns=["user_id", "ts", "track_id"])
        secs = timestamps_seconds(events["ts"])
        order = np.lexsort((secs, events["user_id"].to_numpy()))
        self._user = events["user_id"].to_numpy(np.int64)[order]
        self._ts = secs[order]
        self._item = events["track_id"].to_numpy(np.int64)[order]
        self._bounds = np.searchsorted(self._user, np.arange(self._user.max() + 2))
        users = pd.read_parquet(interim / "users.parquet", columns=["user_id", "user"])
        self._user_index = dict(zip(users["user"].astype(str), users["user_id"], strict=True))
        self._user_name = dict(zip(users["user_id"], users["user"].astype(str), strict=True))
        tracks = pd.read_parquet(
            interim / "tracks.parquet", columns=["track_id", "artist_name", "track_name"]
        )
        self._tracks = tracks.set_index("track_id").sort_index()
        self.gap_s = float(self.meta.get("session_gap_minutes", 30.0)) * 60.0

    def user_index(self, user: str | int) -> int:
        """Index of a user given as dataset id (``user_000001``) or index."""
        if isinstance(user, str) and user in self._user_index:
            return int(self._user_index[user])
        try:
            idx = int(user)
        except (TypeError, ValueError):
            idx = -1
        if idx not in self._user_name:
            raise ServingError(f"unknown user {user!r}")
        return idx

    def recent_session(self, user: int) -> np.ndarray:
        """The user's most recent listening: trailing plays with gaps within the session gap."""
        lo, hi = self._bounds[user], self._bounds[user + 1]
        ts = self._ts[lo:hi]
        if ts.size == 0:
            return np.zeros(0, dtype=np.int64)
        breaks = np.flatnonzero(np.diff(ts) > self.gap_s)
        start = int(breaks[-1]) + 1 if breaks.size else 0
        return self._item[lo + start : hi]

    def recommend(
        self,
        user: str | int,
        k: int = 10,
        session: str | list[int] = "recent",
        mood: str | None = None,
        exclude_session: bool = False,
    ) -> SessionRecommendation:
        """Top-``k`` next tracks for the user's session.

        Parameters
        ----------
        user
            Dataset user id or index.
        k
            List length.
        session
            ``"recent"`` (the user's latest listening within the gap), ``"none"`` (a new
            session) or explicit track ids, oldest first.
        mood
            A mood label (``calm``/``happy``/``energetic``/``sad``) overriding the inferred
            mood.
        exclude_session
            Never recommend tracks already in the session.

        Raises
        ------
        ServingError
            Unknown user, unknown mood, or a mood given where the model has no mood states.
        """
        u = self.user_index(user)
        if isinstance(session, str):
            if session == "recent":
                prefix = self.recent_session(u)
            elif session == "none":
                prefix = np.zeros(0, dtype=np.int64)
            else:
                raise ServingError(
                    f"session must be 'recent', 'none' or track ids, not {session!r}"
                )
        else:
            prefix = np.asarray(session, dtype=np.int64)
        m = self.model
        labels = list(m.states.labels) if m.states is not None else []
        target = None
        if mood is not None:
            if m.states is None:
                raise ServingError("this model has no mood states (no mood features)")
            if mood not in labels:
                raise ServingError(f"unknown mood {mood!r}; known: {', '.join(labels)}")
            target = labels.index(mood)
        post = m.mood_posterior(prefix, u, target)
        idx, scores = m.recommend_next(
            prefix, u, k, exclude=prefix if exclude_session else None, target_mood=target
        )
        keep = idx >= 0
        idx, scores = idx[keep], scores[keep]
        names = self._tracks.reindex(idx)
        ve = m.ve[idx] if m.ve.size else np.full((idx.size, 2), np.nan)
        items = pd.DataFrame(
            {
                "track_id": idx,
                "artist_name": names["artist_name"].to_numpy(),
                "track_name": names["track_name"].to_numpy(),
                "score": scores,
                "valence": ve[:, 0],
                "energy": ve[:, 1],
            }
        )
        return SessionRecommendation(
            user=self._user_name[u],
            session=prefix,
            mood=labels[int(np.argmax(post))] if labels else None,
            # no mood states (no mood features): no posterior to name
            mood_posterior=(
                {lab: round(float(p), 4) for lab, p in zip(labels, post, strict=True)}
                if labels
                else {}
            ),
            items=items,
        )

    def user_events(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """(Unix seconds, track ids) of every play of a user, in time order."""
        lo, hi = self._bounds[user], self._bounds[user + 1]
        return self._ts[lo:hi], self._item[lo:hi]


@functools.lru_cache(maxsize=4)
def _server(data_dir: str, stamp: float) -> SessionServer:
    return SessionServer(data_dir)


def get_server(data_dir: Path | str) -> SessionServer:
    """A cached :class:`SessionServer` (reloaded when the saved model changes)."""
    path = Path(data_dir).resolve()
    meta = path / "models" / "session" / SERVING_MODEL / SERVING_JSON
    stamp = meta.stat().st_mtime if meta.is_file() else 0.0
    return _server(str(path), stamp)


def recommend_in_session(
    data_dir: Path | str,
    user: str | int,
    k: int = 10,
    session: str | list[int] = "recent",
    mood: str | None = None,
) -> SessionRecommendation:
    """Next-track recommendations for ``user``'s running session (see :class:`SessionServer`).

    Parameters
    ----------
    data_dir
        The profile's data folder (``data/demo``), after the session stage ran.
    user
        Dataset user id (``user_000001``) or index.
    k
        List length.
    session
        ``"recent"``, ``"none"`` or explicit track ids.
    mood
        ``calm`` | ``happy`` | ``energetic`` | ``sad`` overrides the inferred mood.

    Raises
    ------
    ServingError
        No saved model, unknown user or mood.
    """
    return get_server(data_dir).recommend(user, k, session, mood)


def write_mood_timeline(
    data_dir: Path | str, user: str | int, out_dir: Path | str | None = None
) -> dict[str, Path]:
    """The user's mood timeline as HTML (plotly) and PNG (matplotlib).

    Uses the valence/energy saved with the session model; writes
    ``<out_dir>/mood_timeline_<user>.{html,png}`` (default ``<data_dir>/reports``).

    Raises
    ------
    ServingError
        No session model, unknown user, or no mood features.
    """
    from moodrec.session.mood import plot_mood_timeline

    server = get_server(data_dir)
    u = server.user_index(user)
    if server.model.ve.size == 0 or np.isnan(server.model.ve).all():
        raise ServingError("no mood features for these tracks: nothing to plot")
    ts, items = server.user_events(u)
    ve = server.model.ve[items]
    t = pd.to_datetime(ts, unit="s", utc=True)
    series = pd.DataFrame(
        {"ts": t, "valence": ve[:, 0], "energy": ve[:, 1], "hour": t.hour, "weekday": t.day_of_week}
    )
    name = server._user_name[u]
    out = Path(out_dir) if out_dir is not None else Path(data_dir) / "reports"
    note = " (synthetic sandbox data)" if server.meta.get("synthetic") else ""
    return plot_mood_timeline(
        series,
        f"Mood of {name}{note}",
        out / f"mood_timeline_{name}.html",
        out / f"mood_timeline_{name}.png",
    )
