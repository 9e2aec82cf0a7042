"""Listeners' mood tags in the fake Last.fm's track top tags: noisy views of the planted
valence and energy, on part of the tracks only."""

# ruff: noqa: F811  (fixtures imported from tests.providers.conftest)

from __future__ import annotations

import numpy as np

from moodrec.sandbox.servers.open_world import MOOD_TAG_LOGITS, mood_tags, open_world
from tests.providers.conftest import world_dir, world_index  # noqa: F401


def test_mood_tags_follow_the_planted_moods_with_gaps(world_index) -> None:
    w = open_world(world_index)
    words = set(MOOD_TAG_LOGITS)
    tagged = {
        tid: {g["name"] for g in w.recordings[mbid]["lastfm_tags"]} & words
        for tid, mbid in w.mbid_of_track.items()
    }
    share = np.mean([bool(t) for t in tagged.values()])
    assert 0.2 < share < 0.8  # some tracks carry mood tags, not all
    truth = {t["track_id"]: t for t in world_index.tracks}
    sad = [truth[tid]["valence"] for tid, t in tagged.items() if "sad" in t]
    happy = [truth[tid]["valence"] for tid, t in tagged.items() if "happy" in t]
    chill = [truth[tid]["energy"] for tid, t in tagged.items() if "chill" in t]
    energetic = [truth[tid]["energy"] for tid, t in tagged.items() if "energetic" in t]
    assert sad and happy and chill and energetic
    assert np.mean(sad) + 0.2 < np.mean(happy)
    assert np.mean(chill) + 0.2 < np.mean(energetic)
    # top tags stay in Last.fm's order (count descending), the super-genre among them
    for mbid in list(w.mbid_of_track.values())[:50]:
        counts = [g["count"] for g in w.recordings[mbid]["lastfm_tags"]]
        assert counts == sorted(counts, reverse=True)


def test_mood_tags_are_deterministic_and_rarer_on_unpopular_tracks(world_index) -> None:
    t = world_index.tracks[0]
    assert mood_tags(t, 0.5) == mood_tags(dict(t), 0.5)
    n = len(world_index.tracks)
    rare = sum(bool(mood_tags(x, 0.0)) for x in world_index.tracks) / n
    common = sum(bool(mood_tags(x, 1.0)) for x in world_index.tracks) / n
    assert rare < common
