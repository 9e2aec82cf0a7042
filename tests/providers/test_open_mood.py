"""The open mood model: its inputs from the enrich tables, fit, prediction, shipped weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moodrec.errors import InputDataError
from moodrec.providers.open_mood import (
    WITH_AB,
    WITHOUT_AB,
    OpenMoodModel,
    fit_open_mood_model,
    open_mood_inputs,
    shipped_model,
)

TRACKS = pd.DataFrame({"track_id": [1, 2, 3, 4], "artist_id": [7, 7, 8, 9]})


def test_inputs_read_each_source_and_flag_what_is_missing() -> None:
    moods = pd.DataFrame({"track_id": [1], "mood_happy": [0.8], "mood_sad": [0.1], "bpm": [120.0]})
    track_tags = pd.DataFrame(
        {
            "track_id": [2, 2, 2],
            "provider": ["lastfm_tags", "lastfm_tags", "musicbrainz"],
            "tag": ["rock", "Mellow", "metal"],
            "count": [100, 50, 2],
        }
    )
    artist_tags = pd.DataFrame(
        {"artist_id": [8], "provider": ["musicbrainz"], "tag": ["jazz"], "count": [3]}
    )
    audio = pd.DataFrame({"track_id": [3], "bpm": [0.0], "gain": [-15.0]})
    x = open_mood_inputs(TRACKS, moods, track_tags, artist_tags, audio).set_index("track_id")
    assert list(x.columns[2:]) == list(WITH_AB)
    assert x["has_ab"].tolist() == [True, False, False, False]
    assert x.loc[1, "ab_mood_happy"] == 0.8 and x.loc[1, "ab_bpm_n"] == 0.5
    assert x.loc[1, "ab_mood_party"] == 0.5  # a missing classifier takes its neutral value
    # "mellow" counts for chill, at its share of the track's top tag; genres from the tags
    assert x.loc[2, "tag_chill"] == 0.5 and x.loc[2, "has_mood_tags"] == 1.0
    assert x.loc[2, "genre_rock"] == 1.0 and x.loc[2, "genre_metal"] == 1.0
    # no track tags: the artist's genres; a Deezer BPM of 0 is no tempo
    assert x.loc[3, "genre_jazz"] == 1.0
    assert x.loc[3, "has_bpm"] == 0.0 and x.loc[3, "has_gain"] == 1.0
    assert x.loc[3, "gain_n"] == 0.5
    assert x["usable"].tolist() == [True, True, True, False]


def test_fit_recovers_a_planted_linear_map_and_round_trips_as_json() -> None:
    rng = np.random.default_rng(0)
    n = 400
    x = pd.DataFrame(rng.random((n, len(WITH_AB))), columns=list(WITH_AB))
    x.insert(0, "track_id", np.arange(n))
    x.insert(1, "has_ab", np.arange(n) % 2 == 0)
    x.insert(2, "usable", True)
    y = np.column_stack([0.2 + 0.3 * x["tag_happy"] + 0.2 * x["bpm_n"], 0.1 + 0.5 * x["gain_n"]])
    m = fit_open_mood_model(x, y, ridge=1e-6)
    pred = m.predict(x)
    assert np.abs(pred[["valence", "energy"]].to_numpy() - y).max() < 1e-3
    assert set(pred["mood_source"]) == {"acousticbrainz+", "tags/deezer"}
    again = OpenMoodModel.from_json(m.to_json())
    assert again == m
    with pytest.raises(InputDataError, match="rows"):
        fit_open_mood_model(x.head(10), y[:10])
    bad = m.to_json()
    bad["without_ab"]["inputs"] = bad["without_ab"]["inputs"][:-1]
    with pytest.raises(InputDataError, match="inputs differ"):
        OpenMoodModel.from_json(bad)


def test_shipped_weights_load_and_point_the_right_way() -> None:
    m = shipped_model()
    assert m.with_ab.inputs == WITH_AB and m.without_ab.inputs == WITHOUT_AB
    w = dict(zip(WITHOUT_AB, m.without_ab.valence[1:], strict=True))
    e = dict(zip(WITHOUT_AB, m.without_ab.energy[1:], strict=True))
    # learned on the sandbox: a "sad" tag lowers valence, "energetic" raises energy
    assert w["tag_sad"] < 0 < w["tag_happy"]
    assert e["tag_chill"] < 0 < e["tag_energetic"]
