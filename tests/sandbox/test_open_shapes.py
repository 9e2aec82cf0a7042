"""The fake MusicBrainz / Last.fm / Deezer answer in the shapes of the recorded real bodies
(``tests/fixtures/api/<service>/``, sources in each ``SOURCE.txt``): field names, value types,
paging and error envelopes; the same parsers read both."""

# ruff: noqa: F811  (fixtures imported from tests.providers.conftest)

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from moodrec.providers import deezer as dz
from moodrec.providers import lastfm_tags as lf
from moodrec.providers import musicbrainz as mb
from moodrec.sandbox.servers import deezer as fake_deezer
from moodrec.sandbox.servers import lastfm as fake_lastfm
from moodrec.sandbox.servers import musicbrainz as fake_mb
from moodrec.sandbox.servers.open_world import open_world
from tests.providers.conftest import servers, world_dir, world_index  # noqa: F401

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "api"


def fixture(service: str, name: str) -> Any:
    return json.loads((FIXTURES / service / name).read_text(encoding="utf-8"))


def kind(value: Any) -> str:
    """The JSON type of a value (int and float are both numbers; null matches anything)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(real: dict, fake: dict, skip: set[str] = frozenset()) -> None:
    """Every field of ``real`` (but ``skip``) is in ``fake`` with the same JSON type."""
    missing = set(real) - set(fake) - skip
    assert not missing, f"fake lacks {sorted(missing)}"
    for k in set(real) - skip:
        if real[k] is None or fake[k] is None:
            continue
        assert kind(fake[k]) == kind(real[k]), (k, fake[k], real[k])


def test_every_fixture_names_its_source() -> None:
    for service in ("musicbrainz", "lastfm", "deezer"):
        source = (FIXTURES / service / "SOURCE.txt").read_text()
        for f in (FIXTURES / service).glob("*.json"):
            assert f.name in source, f"{service}/{f.name} has no source line"


def test_musicbrainz_bodies_match_the_recorded_ones(servers, world_index) -> None:
    base = servers.url("musicbrainz")
    t = next(t for t in world_index.tracks if t["track_mbid"])
    inc = "genres+tags+isrcs+artist-credits"
    fake = requests.get(
        f"{base}/ws/2/recording/{t['track_mbid']}", params={"inc": inc, "fmt": "json"}, timeout=5
    ).json()
    real = fixture("musicbrainz", "recording_isrcs_artist_credits.json")
    # aliases come with inc=aliases only, which moodrec never asks
    assert_same_shape(real, fake, skip={"aliases"})
    assert_same_shape(real["artist-credit"][0], fake["artist-credit"][0])
    assert_same_shape(real["artist-credit"][0]["artist"], fake["artist-credit"][0]["artist"])
    assert mb.parse_recording(fake).keys() == mb.parse_recording(real).keys()
    real_artist = fixture("musicbrainz", "artist_tags_genres.json")
    fake_artist = requests.get(
        f"{base}/ws/2/artist/{mb.parse_recording(fake)['artist_mbid']}",
        params={"inc": "genres+tags", "fmt": "json"},
        timeout=5,
    ).json()
    assert_same_shape(real_artist, fake_artist, skip={"rating", "moods"})
    w = open_world(world_index)
    with_genres = next(a for a in w.artists.values() if a["mb_genres"])
    body = requests.get(
        f"{base}/ws/2/artist/{with_genres['mbid']}",
        params={"inc": "genres+tags", "fmt": "json"},
        timeout=5,
    ).json()
    assert set(body["genres"][0]) == set(real_artist["genres"][0])
    assert set(body["tags"][0]) == set(real_artist["tags"][0])
    assert mb.parse_artist(body)["genres"]
    missing = requests.get(f"{base}/ws/2/recording/{'0' * 8}-0000-0000-0000-{'0' * 12}?fmt=json")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}


def test_musicbrainz_search_pages_like_the_documented_answer(servers, world_index) -> None:
    t = world_index.tracks[0]
    r = requests.get(
        f"{servers.url('musicbrainz')}/ws/2/recording",
        params={
            "query": f'recording:"{t["name"]}" AND artist:"{t["artist_name"]}"',
            "limit": 1,
            "fmt": "json",
        },
        timeout=5,
    ).json()
    assert set(r) == {"created", "count", "offset", "recordings"}
    assert r["offset"] == 0 and len(r["recordings"]) <= 1 and isinstance(r["count"], int)
    assert r["recordings"][0]["title"] == t["name"] and isinstance(r["recordings"][0]["score"], int)


def test_musicbrainz_over_its_rate_answers_the_recorded_503(servers, monkeypatch) -> None:
    monkeypatch.setattr(fake_mb, "POLICY", (0, 3600.0))  # every request is over the limit
    servers.modes.open_rate_limits = True
    r = requests.get(f"{servers.url('musicbrainz')}/ws/2/artist?query=x&fmt=json", timeout=5)
    assert r.status_code == 503
    assert r.json() == fixture("musicbrainz", "error_503_rate_limit.json")
    assert servers.throttled["musicbrainz"] == 1


def test_lastfm_bodies_match_the_recorded_ones(servers, world_index) -> None:
    base = f"{servers.url('lastfm')}/2.0/"
    w = open_world(world_index)
    rec = next(r for r in w.recordings.values() if r["lastfm_known"])
    for method, params, name in (
        ("track.gettoptags", {"mbid": rec["mbid"]}, "track_gettoptags.json"),
        ("artist.gettoptags", {"mbid": rec["artist"]["mbid"]}, "artist_gettoptags.json"),
    ):
        q = {"method": method, "api_key": "k", "format": "json", **params}
        fake = requests.get(base, params=q, timeout=5).json()
        real = fixture("lastfm", name)
        assert set(fake) == set(real) == {"toptags"}
        assert set(fake["toptags"]) == set(real["toptags"])
        assert set(fake["toptags"]["@attr"]) == set(real["toptags"]["@attr"])
        assert_same_shape(real["toptags"]["tag"][0], fake["toptags"]["tag"][0])
        assert lf.parse_top_tags(fake) and lf.parse_top_tags(real)
    unknown = requests.get(
        base,
        params={"method": "track.gettoptags", "api_key": "k", "format": "json", "mbid": "x"},
        timeout=5,
    )
    real6 = fixture("lastfm", "error_6_not_found.json")
    assert unknown.status_code == 200 and unknown.json() == real6  # recorded with HTTP 200
    no_key = requests.get(base, params={"method": "track.gettoptags", "format": "json"}, timeout=5)
    assert no_key.json() == fixture("lastfm", "error_10_invalid_key.json")


def test_lastfm_over_its_rate_answers_error_29(servers, monkeypatch) -> None:
    monkeypatch.setattr(fake_lastfm, "POLICY", (0, 3600.0))
    servers.modes.open_rate_limits = True
    r = requests.get(f"{servers.url('lastfm')}/2.0/", params={"api_key": "k"}, timeout=5)
    assert r.status_code == 429 and r.json() == fixture("lastfm", "error_29_rate_limit.json")


def test_deezer_bodies_match_the_recorded_ones(servers, world_index) -> None:
    base = servers.url("deezer")
    w = open_world(world_index)
    one = next(iter(w.deezer_tracks.values()))
    fake_track = requests.get(f"{base}/track/{one['id']}", timeout=5).json()
    real_track = fixture("deezer", "track.json")
    assert_same_shape(real_track, fake_track)
    assert_same_shape(
        real_track["album"],
        fake_track["album"],
        skip=set(real_track["album"]) - {"id", "title", "type"},
    )
    assert dz.parse_track(fake_track).keys() == dz.parse_track(real_track).keys()
    assert requests.get(f"{base}/track/isrc:{one['isrc']}", timeout=5).json() == fake_track
    fake_album = requests.get(f"{base}/album/{one['album_id']}", timeout=5).json()
    real_album = fixture("deezer", "album.json")
    # cover_* image sizes and a few counters moodrec never reads are left out
    left_out = {k for k in real_album if k.startswith("cover_")} | {
        "share", "rating", "explicit_content_lyrics", "explicit_content_cover",
    }  # fmt: skip
    assert_same_shape(real_album, fake_album, skip=left_out)
    assert set(fake_album["genres"]["data"][0]) == set(real_album["genres"]["data"][0])
    assert dz.parse_album_genres(fake_album) and dz.parse_album_genres(real_album) == ["Dance"]
    t = one["track"]
    search = requests.get(
        f"{base}/search",
        params={"q": f'artist:"{t["artist_name"]}" track:"{t["name"]}"', "limit": 5},
        timeout=5,
    ).json()
    real_search = fixture("deezer", "search.json")
    assert {"data", "total"} <= set(search) and set(search) <= set(real_search)
    item_skip = {"md5_image"}  # image hash
    assert_same_shape(real_search["data"][0], search["data"][0], skip=item_skip)
    assert "bpm" not in search["data"][0] and "bpm" not in real_search["data"][0]


def test_deezer_pages_a_long_search_like_the_recording(servers, world_index) -> None:
    from collections import Counter

    counts = Counter((t["name"], t["artist_name"]) for t in world_index.tracks)
    (name, artist), _ = counts.most_common(1)[0]
    r = requests.get(
        f"{servers.url('deezer')}/search",
        params={"q": f'artist:"{artist}" track:"{name}"', "limit": 1},
        timeout=5,
    ).json()
    assert len(r["data"]) <= 1
    if r["total"] > 1:  # the recording's "next" carries limit and index
        assert "limit=1&index=1" in r["next"]
    else:
        assert "next" not in r


def test_deezer_errors_are_200_with_the_recorded_envelope(servers, monkeypatch) -> None:
    base = servers.url("deezer")
    r = requests.get(f"{base}/track/1", timeout=5)
    assert r.status_code == 200 and r.json() == fixture("deezer", "error_800_no_data.json")
    monkeypatch.setattr(fake_deezer, "POLICY", (0, 3600.0))
    servers.modes.open_rate_limits = True
    q = requests.get(f"{base}/track/1", timeout=5)
    assert q.status_code == 200 and q.json() == fixture("deezer", "error_4_quota.json")


@pytest.mark.parametrize(
    ("service", "name", "parse", "expected"),
    [
        (
            "musicbrainz",
            "recording_isrcs_artist_credits.json",
            mb.parse_recording,
            ["GBAHS1400099"],
        ),
        ("deezer", "track.json", dz.parse_track, 123.0),
    ],
)
def test_parsers_read_the_real_bodies(service, name, parse, expected) -> None:
    parsed = parse(fixture(service, name))
    assert (parsed.get("isrcs") or parsed.get("bpm")) == expected
