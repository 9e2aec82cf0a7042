"""MusicBrainz, Last.fm and Deezer clients: MBID first, rate-limit answers retried, error
bodies read as statuses, keys never shown; against the fake services and scripted answers."""

# ruff: noqa: F811  (fixtures imported from tests.providers.conftest)

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from moodrec.providers.base import ProviderError
from moodrec.providers.config import (
    DeezerConfig,
    LastfmTagsConfig,
    MusicBrainzConfig,
    RetryConfig,
)
from moodrec.providers.deezer import DeezerProvider
from moodrec.providers.genre_vocab import GenreVocabulary
from moodrec.providers.lastfm_tags import LastfmTagsProvider
from moodrec.providers.musicbrainz import MusicBrainzProvider
from moodrec.sandbox.servers import deezer as fake_deezer
from moodrec.sandbox.servers import lastfm as fake_lastfm
from moodrec.sandbox.servers import musicbrainz as fake_mb
from moodrec.sandbox.servers.open_world import open_world
from tests.providers.conftest import servers, world_dir, world_index  # noqa: F401

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "api"
FAST = RetryConfig(max_attempts=3, max_rate_limited_attempts=3, backoff_base_s=0.01, timeout_s=5)
KEY = "LASTFM-KEY-5f4dcc3b5aa765d61d83"


def body(service: str, name: str) -> bytes:
    return (FIXTURES / service / name).read_bytes()


def scripted(*answers: tuple[int, bytes], seen: list[httpx.Request] | None = None):
    """An httpx client whose transport plays ``answers`` in order (the last one repeats)."""
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        status, content = queue.pop(0) if len(queue) > 1 else queue[0]
        return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})

    return httpx.Client(base_url="http://scripted", transport=httpx.MockTransport(handler))


def mb_provider(servers) -> MusicBrainzProvider:
    return MusicBrainzProvider(
        MusicBrainzConfig(base_url=servers.url("musicbrainz"), retry=FAST, rate_limit=None)
    )


def test_musicbrainz_asks_by_mbid_first_then_searches(servers, world_index) -> None:
    p = mb_provider(servers)
    t = next(t for t in world_index.tracks if t["track_mbid"])
    by_id = p.recording(t["track_mbid"], t["artist_name"], t["name"])
    assert by_id.status == "found" and by_id.data["match"] == "mbid"
    assert by_id.data["recording_mbid"] == t["track_mbid"]
    before = servers.counts["musicbrainz"]
    by_name = p.recording(None, t["artist_name"], t["name"])
    assert by_name.status == "found" and by_name.data["match"] == "search"
    assert servers.counts["musicbrainz"] - before == 2  # search, then the lookup with inc=
    unknown = p.recording(
        "00000000-0000-0000-0000-000000000000", "Nobody Anywhere", "Nothing At All"
    )
    assert unknown.status == "not_found"
    artist = p.artist(by_id.data["artist_mbid"], t["artist_name"])
    w = open_world(world_index)
    assert artist.data["genres"] == w.artists[by_id.data["artist_mbid"]]["mb_genres"]


def test_musicbrainz_503_is_retried_after_its_window(tmp_path) -> None:
    seen: list[httpx.Request] = []
    real = body("musicbrainz", "recording_isrcs_artist_credits.json")
    client = scripted(
        (503, body("musicbrainz", "error_503_rate_limit.json")), (200, real), seen=seen
    )
    p = MusicBrainzProvider(MusicBrainzConfig(retry=FAST), client=client)
    res = p.recording("cb2cc207-8125-445c-9ef9-6ea44eee959a", "Ed Sheeran", "Thinking Out Loud")
    assert res.status == "found" and res.data["isrcs"] == ["GBAHS1400099"]
    assert len(seen) == 2
    assert all(r.url.params["fmt"] == "json" for r in seen)
    assert "genres+tags+isrcs+artist-credits" in str(seen[-1].url).replace("%2B", "+")


def test_musicbrainz_over_its_rate_on_the_fake_is_an_error_not_a_negative(
    servers, world_index, monkeypatch
):
    monkeypatch.setattr(fake_mb, "POLICY", (0, 3600.0))
    servers.modes.open_rate_limits = True
    p = MusicBrainzProvider(
        MusicBrainzConfig(
            base_url=servers.url("musicbrainz"),
            retry=RetryConfig(max_attempts=2, backoff_base_s=0.01, timeout_s=5),
            rate_limit=None,
        )
    )
    t = world_index.tracks[0]
    with pytest.raises(ProviderError) as err:
        p.recording(t["track_mbid"] or None, t["artist_name"], t["name"])
    assert err.value.http_status == 503 and err.value.retryable
    assert servers.throttled["musicbrainz"] == 2  # the 503 was retried once


def test_musicbrainz_sends_a_descriptive_user_agent(servers) -> None:
    seen: list[httpx.Request] = []
    p = MusicBrainzProvider(MusicBrainzConfig(retry=FAST))
    p.api._client = scripted((200, b'{"recordings": []}'), seen=seen)
    p.api._client.headers["User-Agent"] = p.cfg.user_agent
    p.probe()
    assert "moodrec" in seen[0].headers["User-Agent"] and "(" in seen[0].headers["User-Agent"]


def test_lastfm_error_29_is_retried_and_error_6_is_not_found() -> None:
    seen: list[httpx.Request] = []
    client = scripted(
        (429, body("lastfm", "error_29_rate_limit.json")),
        (200, body("lastfm", "track_gettoptags.json")),
        seen=seen,
    )
    cfg = LastfmTagsConfig(retry=FAST, rate_limited_wait_s=0.01, min_count=10)
    p = LastfmTagsProvider(cfg, SecretStr(KEY), client=client)
    res = p.track_tags("some-mbid", "AC/DC", "Hells Bells")
    assert res.status == "found" and res.data["tags"][0] == {"name": "hard rock", "count": 100}
    assert all(t["count"] >= 10 for t in res.data["tags"])
    assert len(seen) == 2 and seen[0].url.params["mbid"] == "some-mbid"
    missing = LastfmTagsProvider(
        cfg, SecretStr(KEY), client=scripted((200, body("lastfm", "error_6_not_found.json")))
    )
    assert missing.track_tags("x", "a", "b").status == "not_found"


#: a gateway's 5xx answer (the fake servers' injected faults use this shape for every service)
GATEWAY_503 = json.dumps({"error": {"status": 503, "message": "Service Unavailable"}}).encode()


def test_a_gateway_error_object_is_judged_by_its_http_status() -> None:
    """Neither Last.fm's nor Deezer's envelope: a 503 retried like any other, not a crash
    (Last.fm) or a final "error None" (Deezer)."""
    cfg = LastfmTagsConfig(retry=FAST, min_count=10)
    client = scripted((503, GATEWAY_503), (200, body("lastfm", "track_gettoptags.json")))
    p = LastfmTagsProvider(cfg, SecretStr(KEY), client=client)
    assert p.track_tags("some-mbid", "AC/DC", "Hells Bells").status == "found"
    client = scripted((503, GATEWAY_503), (200, body("deezer", "track.json")))
    dz = DeezerProvider(DeezerConfig(retry=FAST), client=client)
    assert dz.track("GBDUW0000059", "Daft Punk", "Harder Better Faster Stronger").status == "found"


def test_lastfm_refused_key_is_unavailable_and_never_shown(servers, caplog) -> None:
    servers._state.lastfm_key = KEY
    cfg = LastfmTagsConfig(base_url=servers.url("lastfm"), retry=FAST, rate_limit=None)
    wrong = LastfmTagsProvider(cfg, SecretStr("not-the-key"))
    assert wrong.probe() == {"track_tags": "unavailable", "artist_tags": "unavailable"}
    right = LastfmTagsProvider(cfg, SecretStr(KEY))
    assert right.probe()["track_tags"] == "available"
    assert KEY not in repr(right) and KEY not in caplog.text


def test_lastfm_over_its_rate_on_the_fake_gives_up_as_an_error(servers, monkeypatch) -> None:
    monkeypatch.setattr(fake_lastfm, "POLICY", (0, 3600.0))
    servers.modes.open_rate_limits = True
    cfg = LastfmTagsConfig(
        base_url=servers.url("lastfm"), retry=FAST, rate_limited_wait_s=0.01, rate_limit=None
    )
    with pytest.raises(ProviderError) as err:
        LastfmTagsProvider(cfg, SecretStr(KEY)).artist_tags(None, "Anyone")
    assert err.value.http_status == 429
    assert servers.throttled["lastfm"] == FAST.max_rate_limited_attempts


def test_deezer_quota_is_retried_then_isrc_first(servers, world_index) -> None:
    seen: list[httpx.Request] = []
    client = scripted(
        (200, body("deezer", "error_4_quota.json")), (200, body("deezer", "track.json")), seen=seen
    )
    p = DeezerProvider(DeezerConfig(retry=FAST, quota_wait_s=0.01), client=client)
    res = p.track("GBDUW0000059", "Daft Punk", "Harder Better Faster Stronger")
    assert res.status == "found"
    assert (res.data["bpm"], res.data["gain"], res.data["album_id"]) == (123.0, -12.4, 302127)
    assert [r.url.path for r in seen] == ["/track/isrc:GBDUW0000059"] * 2


def test_deezer_on_the_fake_serves_the_planted_tempo(servers, world_index) -> None:
    p = DeezerProvider(DeezerConfig(base_url=servers.url("deezer"), retry=FAST, rate_limit=None))
    w = open_world(world_index)
    with_bpm = next(d for d in w.deezer_tracks.values() if d["bpm"])
    t = with_bpm["track"]
    by_name = p.track(None, t["artist_name"], t["name"])
    assert by_name.status == "found" and by_name.data["match"] == "search"
    assert by_name.data["bpm"] == pytest.approx(t["tempo"], abs=0.05)
    no_bpm = next(d for d in w.deezer_tracks.values() if not d["bpm"])
    assert p.track(no_bpm["isrc"], "x", "y").data["bpm"] is None  # Deezer's 0 is "unknown"
    genres = p.album_genres(with_bpm["album_id"])
    assert genres.data["genres"] == [with_bpm["genre"]]
    assert p.track("QZ9999999999", "Nobody Anywhere", "Nothing At All").status == "not_found"


def test_deezer_quota_on_the_fake_gives_up_as_an_error(servers, monkeypatch) -> None:
    monkeypatch.setattr(fake_deezer, "POLICY", (0, 3600.0))
    servers.modes.open_rate_limits = True
    p = DeezerProvider(
        DeezerConfig(base_url=servers.url("deezer"), retry=FAST, quota_wait_s=0.01, rate_limit=None)
    )
    with pytest.raises(ProviderError) as err:
        p.album_genres(1)
    assert err.value.http_status == 429 and err.value.status == "error"


def test_genre_vocabulary_tells_genres_from_tags(tmp_path) -> None:
    v = GenreVocabulary()
    real = json.loads(body("lastfm", "track_gettoptags.json"))
    names = [t["name"] for t in real["toptags"]["tag"]]
    genres = v.genres(names)
    assert "hard rock" in genres and "seen live" not in genres
    assert not any(n.isdigit() for n in genres)
    assert v.is_genre("Swedish Synth-Pop") and not v.is_genre("80s pop")
    extra = tmp_path / "hetrec_genres.txt"
    extra.write_text("glitchgaze\n\n")
    assert GenreVocabulary.with_file(extra).is_genre("glitchgaze") and not v.is_genre("glitchgaze")
