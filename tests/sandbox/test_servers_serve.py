"""``moodrec sandbox serve``: foreground fake servers that print how to reach them, stop on ^C."""

# ruff: noqa: F811  (fixtures imported from tests.providers.conftest)

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from moodrec.sandbox.servers.serve import serve_profile
from tests.providers.conftest import world_dir  # noqa: F401

SCRIPT = "import sys; from moodrec.sandbox.servers.serve import serve; serve(sys.argv[1])"


def test_serve_prints_urls_answers_and_stops_on_ctrl_c(world_dir: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(world_dir / "truth")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(lines)
        assert "MOODREC_SPOTIFY_CLIENT_SECRET=" in text and "token_url:" in text
        lrclib = re.search(r"lrclib\s+(http://127\.0\.0\.1:\d+)", text).group(1)
        spotify = re.search(r"spotify\s+(http://127\.0\.0\.1:\d+)", text).group(1)
        r = httpx.get(f"{lrclib}/api/get", params={"artist_name": "x", "track_name": "y"})
        assert r.status_code == 404 and r.json()["name"] == "TrackNotFound"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "fake servers stopped" in out and "'lrclib': 1" in out
    port = int(spotify.rsplit(":", 1)[1])
    try:  # the port is closed again
        httpx.get(f"http://127.0.0.1:{port}/v1/search", timeout=2)
        closed = False
    except httpx.ConnectError:
        closed = True
    assert closed


def test_serve_profile_generates_the_world_and_stops_on_event(config_env, tmp_path) -> None:
    stop = threading.Event()
    out = io.StringIO()
    counts: dict[str, dict[str, int]] = {}
    overrides = {"paths": {"data_dir": str(tmp_path / "data")}}
    t = threading.Thread(
        target=lambda: counts.update(result=serve_profile("tiny", overrides, stream=out, stop=stop))
    )
    t.start()
    deadline = time.monotonic() + 60
    while "Press Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    genius = re.search(r"genius\s+(http://127\.0\.0\.1:\d+)", out.getvalue()).group(1)
    assert httpx.get(f"{genius}/search", params={"q": "x"}).status_code == 401  # needs Bearer
    stop.set()
    t.join(timeout=30)
    assert not t.is_alive()
    assert counts["result"]["genius"] == 1
    assert (tmp_path / "data/raw/sandbox/tiny-seed7/truth/tracks.parquet").is_file()
