"""The fake servers answer in the shapes of the real recorded bodies, parsed by the same code."""

# ruff: noqa: F811  (fixtures imported from tests.providers.conftest)

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from moodrec.providers.spotify import artist_result, parse_audio_features, parse_track
from tests.providers.conftest import (  # noqa: F401
    GENIUS_TOKEN,
    SPOTIFY_ID,
    SPOTIFY_SECRET,
    servers,
    world_dir,
    world_index,
)

pytestmark = pytest.mark.realdata
#: fields the real bodies have that the fake leaves out (market data moodrec never reads)
NOT_SERVED = {"available_markets"}


def _load(shared: Path, rel: str):
    return json.loads((shared / rel).read_text(encoding="utf-8"))


def _spotify(servers):
    base = servers.url("spotify")
    token = requests.post(
        f"{base}/api/token",
        data={"grant_type": "client_credentials"},
        auth=(SPOTIFY_ID, SPOTIFY_SECRET),
        timeout=5,
    ).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return base, session


def test_spotify_bodies_match_the_recorded_ones(servers, world_index, shared_data) -> None:
    sp = shared_data / "api_fixtures_spotify"
    servers.modes.spotify_dev_mode = False
    base, s = _spotify(servers)
    t = next(t for t in world_index.tracks if t["on_spotify"])
    fake = s.get(f"{base}/v1/tracks/{t['spotify_id']}", timeout=5).json()
    real = _load(sp, "zmb3_spotify/find_track.json")
    assert set(real) - NOT_SERVED <= set(fake)
    assert set(real["album"]) - NOT_SERVED <= set(fake["album"])
    assert parse_track(fake).keys() == parse_track(real).keys()
    search = s.get(
        f"{base}/v1/search", params={"q": f'track:"{t["name"]}"', "limit": 5}, timeout=5
    ).json()
    assert set(search) == set(_load(sp, "zmb3_spotify/search_tracks.json"))
    assert set(search["tracks"]) == set(_load(sp, "zmb3_spotify/search_tracks.json")["tracks"])
    several = s.get(f"{base}/v1/tracks/?ids={t['spotify_id']},{'0' * 22}", timeout=5).json()
    assert several["tracks"][1] is None
    assert None in _load(sp, "zmb3_spotify/find_tracks_notfound.json")["tracks"]
    feats = s.get(f"{base}/v1/audio-features/{t['spotify_id']}", timeout=5).json()
    real_feats = _load(sp, "jmperez_spotify-web-api-js/track_audio_features.json")
    assert set(feats) == set(real_feats)
    assert parse_audio_features(feats).keys() == parse_audio_features(real_feats).keys()
    artist = s.get(f"{base}/v1/artists/{fake['artists'][0]['id']}", timeout=5).json()
    pre = _load(sp, "joostlek_python-spotify/artist_pre_feb2026.json")
    assert set(artist) == set(pre)
    assert artist_result(pre).status == artist_result(artist).status == "found"
    # 2026: genres [] (recorded) → not stored as "no genres"; dev mode drops popularity too
    post = _load(sp, "joostlek_python-spotify/artist_post_mar2026.json")
    assert artist_result(post).status == "not_found" and artist_result(post).data == {}
    servers.modes.spotify_dev_mode = True
    dev = s.get(f"{base}/v1/artists/{fake['artists'][0]['id']}", timeout=5).json()
    assert dev["genres"] == [] and artist_result(dev).status == "unavailable"
    servers.modes.rate_limit = (0, 30.0, 5.0)
    limited = s.get(f"{base}/v1/search", params={"q": "x", "limit": 1}, timeout=5)
    assert limited.json() == _load(sp, "joostlek_python-spotify/rate_limit.json")


def test_genius_bodies_match_the_recorded_ones(servers, world_index, shared_data) -> None:
    g = shared_data / "api_fixtures_genius"
    base = servers.url("genius")
    t = next(t for t in world_index.tracks if t["track_id"] in world_index.lyrics)
    auth = {"Authorization": f"Bearer {GENIUS_TOKEN}"}
    q = f"{t['name']} {world_index.artists[t['artist_id']]['name']}"
    body = requests.get(f"{base}/search", params={"q": q}, headers=auth, timeout=5)
    real = _load(g, "search_hits_2018_SenseProject.json")
    hit, real_hit = body.json()["response"]["hits"][0], real["response"]["hits"][0]
    assert set(body.json()) == set(real) and set(hit) == set(real_hit)
    assert set(hit["result"]) == set(real_hit["result"])
    assert hit["result"]["url"].startswith("https://genius.com/")
    song = requests.get(f"{base}/songs/{hit['result']['id']}", headers=auth, timeout=5).json()
    real_song = _load(g, "song_2872960_24K_Magic_CreditsWorld.json")
    assert set(song) == set(real_song)
    assert set(song["response"]["song"]) <= set(real_song["response"]["song"])
