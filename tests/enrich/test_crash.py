"""Kill -9 the enrichment at random points, resume: nothing lost, nothing doubled.

The fake servers run in this process; each enrichment run is a child process killed with
SIGKILL five times, each time after a random number (1-2, seeded) of further batches has
finished plus a random fraction of the next one; a last run resumes to the end. The final
tables must equal those of an uninterrupted run, and the SQLite store must stay usable.
Kills are paced by progress, not wall time, so a slow machine still kills mid-run.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from moodrec.enrich.cache import cache_path
from moodrec.enrich.parts import TABLES
from tests.enrich.test_stage import config, run

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import sys
from pathlib import Path
from pydantic import SecretStr
from moodrec.config.base import Secrets
from moodrec.enrich.clients import build_providers
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.stage import run_enrichment
from moodrec.enrich.cache import EnrichCache, cache_path
from tests.providers.conftest import GENIUS_TOKEN, SPOTIFY_ID, SPOTIFY_SECRET

cfg = EnrichConfig.model_validate_json(Path(sys.argv[1]).read_text())
catalogue, out = Path(sys.argv[2]), Path(sys.argv[3])
secrets = Secrets(
    spotify_client_id=SPOTIFY_ID,
    spotify_client_secret=SecretStr(SPOTIFY_SECRET),
    genius_token=SecretStr(GENIUS_TOKEN),
)
print("started", flush=True)
with EnrichCache(cache_path(out), cfg.cache) as cache:
    run_enrichment(catalogue, out, cfg, build_providers(cfg, secrets), cache=cache)
print("finished", flush=True)
"""


def _done(out: Path) -> int:
    return sum(1 for _ in (out / "enrich_parts").glob("*/_done.json"))


def _store_is_sound(out: Path) -> int:
    db = sqlite3.connect(cache_path(out))
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        n, distinct = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT provider || '|' || capability || '|' || key)"
            " FROM entries"
        ).fetchone()
    finally:
        db.close()
    assert n == distinct
    return n


def test_kill_9_five_times_then_resume_equals_uninterrupted(
    servers, secrets, catalogue, tmp_path
) -> None:
    # every answer a little slow, so a run lasts long enough to be killed in the middle
    servers.modes.slow_rate, servers.modes.slow_s = 1.0, 0.002
    cfg = config(servers, batch_size=12, workers=2)
    reference = run(servers, secrets, catalogue, tmp_path / "reference", cfg)

    out = tmp_path / "crashed"
    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text(cfg.model_dump_json())
    rng = random.Random(20261128)
    killed_mid_run, sizes = 0, []
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(cfg_file), str(catalogue), str(out)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout.readline().strip() == "started"
        target = _done(out) + rng.randint(1, 2)
        deadline = time.monotonic() + 120
        while _done(out) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.15))  # somewhere inside the next batch
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        rest = proc.stdout.read()
        proc.stdout.close()
        killed_mid_run += "finished" not in rest
        if cache_path(out).is_file():
            sizes.append(_store_is_sound(out))
    assert killed_mid_run == 5, "a kill came after the run had finished"
    assert sizes == sorted(sizes), "a killed run lost answers already stored"

    resumed = run(servers, secrets, catalogue, out, cfg)
    assert resumed.n_batches_run < resumed.n_batches  # finished batches were kept
    _store_is_sound(out)
    for name in TABLES:
        got = pl.read_parquet(resumed.outputs[name])
        assert got.equals(pl.read_parquet(reference.outputs[name])), name
    links = pl.read_parquet(resumed.outputs["track_links"])
    assert links["track_id"].is_unique().all()
    status = pl.read_parquet(resumed.outputs["enrich_status"])
    assert not status.select("track_id", "capability", "provider").is_duplicated().any()
    n = pl.read_parquet(catalogue).height
    assert status.filter(pl.col("capability") == "track_link")["track_id"].n_unique() == n
