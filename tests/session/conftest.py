"""Small session worlds whose right answers are known, and the tiny sandbox ingested."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moodrec.session.data import ItemMood, SessionData, build_session_data

#: (valence, energy) centres of the two planted moods of :func:`mood_world`
CALM = (0.5, 0.2)
ENERGETIC = (0.55, 0.9)


def make_events(sessions: list[list[int]], users: list[int], gap_s: int = 7200) -> pd.DataFrame:
    """An ingest-like events frame: one row per play, 3 minutes apart, sessions ``gap_s`` apart."""
    rows = []
    t = 1_200_000_000
    for sid, (items, user) in enumerate(zip(sessions, users, strict=True)):
        for item in items:
            rows.append((user, t, item, sid))
            t += 180
        t += gap_s
    df = pd.DataFrame(rows, columns=["user_id", "ts", "track_id", "session_id"])
    df["ts"] = pd.to_datetime(df["ts"], unit="s", utc=True)
    return df


def mood_world(seed: int = 0, n_sessions: int = 240) -> SessionData:
    """Two moods, 40 items: items 0-19 calm, 20-39 energetic; each session stays in one mood.

    Within a mood block, item ``i`` is usually followed by ``i + 1`` (wrapping in the block),
    so sequence models have a learnable rule; each of 6 users prefers one mood (70 %).
    """
    rng = np.random.default_rng(seed)
    n_items = 40
    sessions, users = [], []
    for s in range(n_sessions):
        user = s % 6
        calm = rng.random() < (0.7 if user < 3 else 0.3)
        base = 0 if calm else 20
        start = int(rng.integers(0, 20))
        length = int(rng.integers(3, 9))
        seq = [base + (start + j) % 20 for j in range(length)]
        sessions.append(seq)
        users.append(user)
    events = make_events(sessions, users)
    tracks = pd.DataFrame({"track_id": np.arange(n_items), "artist_id": np.arange(n_items) // 4})
    ve = np.empty((n_items, 2))
    ve[:20] = np.asarray(CALM) + rng.normal(0, 0.04, size=(20, 2))
    ve[20:] = np.asarray(ENERGETIC) + rng.normal(0, 0.04, size=(20, 2))
    mood = ItemMood(ve=ve, content=(ve - ve.mean(0)) / ve.std(0), content_columns=["v", "e"])
    return build_session_data(events, tracks, mood=mood, info={"features": "planted"})


@pytest.fixture(scope="session")
def world() -> SessionData:
    return mood_world()


@pytest.fixture(scope="session")
def tiny_interim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny sandbox world generated and ingested (pure functions, no Prefect)."""
    from moodrec.ingest.config import IngestConfig
    from moodrec.ingest.lastfm1k import ingest_lastfm1k
    from moodrec.sandbox.config import SandboxConfig
    from moodrec.sandbox.world import generate_world

    root = tmp_path_factory.mktemp("tiny")
    summary = generate_world(SandboxConfig(profile="tiny", seed=7), root / "world")
    ingest_lastfm1k(
        summary.log_path, root / "data" / "interim", IngestConfig(), summary.profile_path
    )
    return root
