"""Real clients (spotipy, lyricsgenius, httpx) against the fake servers, every mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from moodrec.providers.base import (
    ProviderError,
    RateLimitExceeded,
    call_with_retries,
    normalise_title,
)
from moodrec.providers.config import GeniusConfig, LrclibConfig, RetryConfig, SpotifyConfig
from moodrec.providers.genius import GeniusProvider
from moodrec.providers.lrclib import LrclibProvider
from moodrec.providers.spotify import (
    SpotifyProvider,
    parse_artist,
    parse_audio_features,
    parse_track,
)
from tests.providers.conftest import GENIUS_TOKEN, SPOTIFY_ID, SPOTIFY_SECRET

FAST = RetryConfig(max_attempts=3, backoff_base_s=0.01, max_retry_after_s=2, timeout_s=5)


def spotify(servers) -> SpotifyProvider:
    base = servers.url("spotify")
    cfg = SpotifyConfig(api_url=base, token_url=f"{base}/api/token", retry=FAST)
    return SpotifyProvider(cfg, SPOTIFY_ID, SecretStr(SPOTIFY_SECRET))


def genius(servers) -> GeniusProvider:
    base = servers.url("genius")
    cfg = GeniusConfig(
        api_root=f"{base}/", public_api_root=f"{base}/api/", web_root=f"{base}/", retry=FAST
    )
    return GeniusProvider(cfg, SecretStr(GENIUS_TOKEN))


def a_track(world_index, **where):
    t = next(t for t in world_index.tracks if all(t[k] == v for k, v in where.items()))
    return world_index.artists[t["artist_id"]]["name"], t["name"], t


def test_normalise_title() -> None:
    assert normalise_title("The Song (Remastered) [Live] feat. X") == "Song"
    assert normalise_title("\u201cQuoted\u201d & Friends") == "Quoted"


def test_spotify_full_reach(servers, world_index) -> None:
    p = spotify(servers)
    caps = p.probe()
    assert set(caps.values()) == {"available"}
    artist, title, t = a_track(world_index, on_spotify=True)
    res = p.link_track(artist, title)
    assert res.status == "found" and res.data["spotify_id"] == t["spotify_id"]
    assert res.data["isrc"] == t["isrc"]
    feats = p.audio_features([t["spotify_id"], "0" * 22])
    assert feats[t["spotify_id"]].data["tempo"] == pytest.approx(t["tempo"])
    assert feats["0" * 22].status == "not_found"
    genres = p.artists([res.data["spotify_artist_id"]])
    assert genres[res.data["spotify_artist_id"]].data["genres"] == list(
        world_index.artists[t["artist_id"]]["genres"]
    )
    _, _, missing = a_track(world_index, on_spotify=False)
    assert p.link_track("Nobody", missing["name"]).status == "not_found"


def test_spotify_dev_mode_is_unavailable_not_empty(servers, world_index) -> None:
    servers.modes.spotify_dev_mode = True
    p = spotify(servers)
    caps = p.probe()
    assert caps["audio_features"] == caps["artists_batch"] == "unavailable"
    assert caps["search"] == "available"
    artist, title, _ = a_track(world_index, on_spotify=True)
    link = p.link_track(artist, title)
    assert link.status == "found"
    assert p.audio_features([link.data["spotify_id"]])[link.data["spotify_id"]].status == (
        "unavailable"
    )
    got = p.artists([link.data["spotify_artist_id"]])[link.data["spotify_artist_id"]]
    assert got.status == "unavailable" and got.data == {}
    # the app is in development mode: further artists are not asked one by one
    before = servers.counts["spotify"]
    others = [a["spotify_id"] for a in list(world_index.artists.values())[:3]]
    assert {r.status for r in p.artists(others).values()} == {"unavailable"}
    assert servers.counts["spotify"] == before


def test_spotify_429_honours_retry_after_then_caps(servers, world_index) -> None:
    p = spotify(servers)
    p.probe()
    artist, title, _ = a_track(world_index, on_spotify=True)
    servers.modes.rate_limit = (1, 1.0, 1.0)  # 1 request per 1 s, Retry-After: 1
    assert p.link_track(artist, title).status == "found"
    servers.modes.rate_limit = (0, 60.0, 3600.0)  # Retry-After far beyond the 2 s cap
    with pytest.raises(RateLimitExceeded):
        p.link_track(artist, title)


def test_retries_5xx_then_gives_up() -> None:
    calls = []

    def fail():
        calls.append(1)
        raise ProviderError("x: HTTP 503", http_status=503)

    with pytest.raises(ProviderError):
        call_with_retries(FAST, fail, sleep=lambda s: None)
    assert len(calls) == FAST.max_attempts

    calls.clear()

    def not_found():
        calls.append(1)
        raise ProviderError("x: HTTP 404", http_status=404)

    with pytest.raises(ProviderError):
        call_with_retries(FAST, not_found, sleep=lambda s: None)
    assert len(calls) == 1


def test_genius_finds_verified_lyrics(servers, world_index) -> None:
    tid = next(iter(world_index.lyrics))
    t = next(t for t in world_index.tracks if t["track_id"] == tid)
    artist = world_index.artists[t["artist_id"]]["name"]
    res = genius(servers).lyrics(artist, t["name"])
    assert res.status == "found"
    assert res.data["text"].split()[:5] == world_index.lyrics[tid].split()[:5]
    assert genius(servers).lyrics("Nobody At All", "Nothing Here").status == "not_found"


def test_genius_cloudflare_is_blocked_not_empty(servers, world_index) -> None:
    servers.modes.genius_cloudflare = True
    with pytest.raises(ProviderError) as err:
        genius(servers).lyrics("a", "b")
    assert err.value.status == "blocked"


def test_lrclib_get_then_search_and_404(servers, world_index) -> None:
    artist, title, t = a_track(world_index, on_lrclib=True)
    p = LrclibProvider(LrclibConfig(base_url=servers.url("lrclib"), retry=FAST))
    res = p.lyrics(artist, title)
    assert res.status == "found" and res.data["text"] == world_index.lyrics[t["track_id"]]
    assert p.lyrics("Nobody", "Nothing").status == "not_found"
    p.close()


@pytest.mark.realdata
def test_parsers_read_real_recorded_spotify_bodies(shared_data: Path) -> None:
    sp = shared_data / "api_fixtures_spotify"
    search = json.loads((sp / "zmb3_spotify/search_tracks.json").read_text())
    parsed = parse_track(search["tracks"]["items"][0])
    assert parsed["spotify_id"] and parsed["album"]
    several = json.loads((sp / "zmb3_spotify/find_tracks_notfound.json").read_text())
    assert None in several["tracks"]
    feats = json.loads((sp / "jmperez_spotify-web-api-js/track_audio_features.json").read_text())
    assert parse_audio_features(feats)["tempo"] > 0
    pre = parse_artist(
        json.loads((sp / "joostlek_python-spotify/artist_pre_feb2026.json").read_text())
    )
    post = parse_artist(
        json.loads((sp / "joostlek_python-spotify/artist_post_mar2026.json").read_text())
    )
    assert pre["genres_reachable"] and pre["genres"]
    assert post["genres"] == []


def test_a_malformed_answer_is_an_error_never_not_found(servers, world_index) -> None:
    """A 200 with a truncated JSON body (spotipy reads it as ``None``) says nothing about the
    key: every provider raises a retryable ``error`` instead of answering ``not_found``."""
    artist, title, _ = a_track(world_index, on_spotify=True, on_lrclib=True)
    sp = spotify(servers)
    sp.probe()  # clean: the token and the capabilities
    lr = LrclibProvider(LrclibConfig(base_url=servers.url("lrclib"), retry=FAST))
    servers.modes.malformed_rate = 1.0
    lookups = {
        "spotify": lambda: sp.link_track(artist, title),
        "genius": lambda: genius(servers).lyrics(artist, title),
        "lrclib": lambda: lr.lyrics(artist, title),
    }
    for name, lookup in lookups.items():
        with pytest.raises(ProviderError) as err:
            lookup()
        assert err.value.status == "error" and err.value.retryable, name
    assert servers.faults["malformed"] >= 3 * FAST.max_attempts  # each was retried
    servers.modes.malformed_rate = 0.0
    assert sp.link_track(artist, title).status == "found"
    lr.close()
