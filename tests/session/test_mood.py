"""Mood signals: labelling rule, trajectories, posteriors, transitions, timeline plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moodrec.sandbox.listening import mood_centres
from moodrec.sandbox.vocab import MOOD_STATES
from moodrec.session.data import ItemMood, build_session_data
from moodrec.session.mood import (
    MoodError,
    MoodStates,
    fit_mood_states,
    label_states,
    mood_rhythm,
    plot_mood_timeline,
    session_trajectories,
    user_mood_series,
    user_transitions,
)
from tests.session.conftest import CALM, ENERGETIC, make_events


@pytest.mark.parametrize("perm", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1)])
def test_labelling_rule_names_the_planted_centres(perm) -> None:
    centres = mood_centres()[list(perm)]
    names = [MOOD_STATES[i][0] for i in perm]
    assert list(label_states(centres)) == names


def test_other_state_counts_are_ordered_by_valence_plus_energy() -> None:
    assert label_states(np.array([[0.9, 0.9], [0.1, 0.1], [0.5, 0.4]])) == (
        "state_2",
        "state_0",
        "state_1",
    )


def test_trajectory_start_end_mean_trend() -> None:
    events = make_events([[0, 1, 2], [3]], users=[0, 0])
    tracks = pd.DataFrame({"track_id": range(4), "artist_id": [0] * 4})
    ve = np.array([[0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [np.nan, np.nan]])
    mood = ItemMood(ve=ve, content=np.zeros((4, 0)), content_columns=[])
    data = build_session_data(events, tracks, mood=mood)
    traj = session_trajectories(data)
    first = traj.iloc[0]
    assert first["valence_start"] == 0.1 and first["valence_end"] == 0.3
    assert first["valence_mean"] == pytest.approx(0.2)
    assert first["valence_trend"] == pytest.approx(0.1)
    assert first["energy_trend"] == pytest.approx(-0.1)
    assert traj.iloc[1]["n_known"] == 0 and np.isnan(traj.iloc[1]["valence_mean"])


def test_states_learned_on_the_mood_world_recover_the_two_moods(world) -> None:
    traj = session_trajectories(world)
    states = fit_mood_states(traj, k=2, seed=0)
    order = np.argsort(states.centres[:, 1])
    assert np.allclose(states.centres[order[0]], CALM, atol=0.05)
    assert np.allclose(states.centres[order[1]], ENERGETIC, atol=0.05)
    with pytest.raises(MoodError, match="sessions with features"):
        fit_mood_states(traj.head(1), k=2)


def test_posterior_follows_plays_and_prior() -> None:
    states = MoodStates(np.array([CALM, ENERGETIC]), ("calm", "energetic"), sigma=0.2)
    post = states.posterior(np.array([ENERGETIC, ENERGETIC]))
    assert post[1] > 0.99 and post.sum() == pytest.approx(1.0)
    # no plays: the prior decides
    assert states.posterior(np.zeros((0, 2)), np.array([0.8, 0.2])) == pytest.approx([0.8, 0.2])
    assert states.index("calm") == 0
    with pytest.raises(MoodError, match="unknown mood"):
        states.index("grumpy")


def test_user_transitions_count_consecutive_sessions() -> None:
    state = np.array([0, 0, 0, 1, 1, 0])
    user = np.array([0, 0, 0, 0, 1, 1])
    t = user_transitions(state, user, n_users=2, k=2, alpha=1.0)
    assert np.allclose(t.sum(axis=2), 1.0)
    # user 0 went 0→0 twice and 0→1 once: staying is the more likely habit
    assert t[0, 0, 0] > t[0, 0, 1]
    # user 1 went 1→0 once
    assert t[1, 1, 0] > t[1, 1, 1]


def test_timeline_plot_writes_html_and_png(world, tmp_path) -> None:
    series = user_mood_series(world, 0)
    rhythm = mood_rhythm(series)
    assert rhythm["hour"]["plays"].sum() == len(series)
    out = plot_mood_timeline(series, "user 0", tmp_path / "t.html", tmp_path / "t.png")
    assert out["html"].read_text().lstrip().lower().startswith("<html")
    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
