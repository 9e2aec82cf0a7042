"""``moodrec run`` on a real log stops within seconds of SIGTERM while enrich waits on a host
that accepts connections and never answers: exit 143, the temporary server gone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
LOG = (
    REPO / ".." / "shared/data/lastfm_1k/userid-timestamp-artid-artname-traid-traname.head5000.tsv"
)

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.slow,
    pytest.mark.skipif(not LOG.is_file(), reason="shared Last.fm 1K sample absent"),
]


def test_sigterm_stops_moodrec_run_during_enrich(tmp_path: Path) -> None:
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    port = hole.getsockname()[1]
    connected = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:  # accept and never answer: every request waits for its timeout
        while True:
            try:
                conn, _ = hole.accept()
            except OSError:
                return
            held.append(conn)
            connected.set()

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    slow = {"timeout_s": 60, "unreachable_after": 1000, "max_attempts": 1}
    profile = tmp_path / "offline.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "paths": {"data_dir": str(tmp_path / "data")},
                "ingest": {"source": "lastfm1k", "log_path": str(LOG.resolve())},
                "enrich": {
                    "genius": None,
                    "spotify": None,
                    "lrclib": {"base_url": url, "retry": slow},
                },
                "session": {"features_source": "none"},
                "lyrics": {"source": "enrich"},
                "clustering": {"source": "enrich"},
                "genres": {"source": "enrich"},
                "orchestration": {"skip": ["clusters", "genres", "ablation"]},
            }
        )
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moodrec.cli", "run", "--profile", str(profile)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert connected.wait(timeout=400), "enrich never reached the provider"
        children = psutil.Process(proc.pid).children(recursive=True)
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
        elapsed = time.monotonic() - start
        err = proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
        hole.close()
        for conn in held:
            conn.close()
    assert rc == 143, err[-2000:]
    assert elapsed < 60  # generous (the bound is 10 s; the machine is shared)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [p.cmdline() for p in alive]
