"""``moodrec run --ui``: the temporary Prefect server serves its UI at the printed address and
stays up after the run until Ctrl-C; without ``--ui`` no address or run link is printed."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from moodrec.cli import app
from moodrec.orchestration.config import STAGE_NAMES

REPO = Path(__file__).resolve().parents[1]
ADDRESS = re.compile(r"Prefect UI: (http://\S+)")
#: generous: a shared, loaded machine (no timing is asserted)
WAIT_S = 600


def _profile(tmp_path: Path, ingest: dict | None = None) -> Path:
    """The tiny sandbox, ingest only: the shortest real ``moodrec run``."""
    profile = tmp_path / "ingest-only.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "paths": {"data_dir": str(tmp_path / "data")},
                "sandbox": {"profile": "tiny", "seed": 7},
                "ingest": ingest or {"source": "sandbox"},
                "orchestration": {"skip": [s for s in STAGE_NAMES if s != "ingest"]},
            }
        ),
        encoding="utf-8",
    )
    return profile


class _Run:
    """``moodrec run`` in a subprocess; its stdout and stderr lines are read as they come
    (every line read is kept in :attr:`seen`)."""

    def __init__(self, tmp_path: Path, *args: str, ingest: dict | None = None) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO / "src"),
            "PREFECT_HOME": str(tmp_path / "prefect"),
        }
        env.pop("PREFECT_API_URL", None)
        env.pop("PREFECT_UI_URL", None)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "moodrec.cli",
                "run",
                "--profile",
                str(_profile(tmp_path, ingest)),
                *args,
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.seen: list[str] = []
        self._returned: set[int] = set()  # lines until() returned
        self._queue: queue.Queue = queue.Queue()  # (stream, line), (stream, None) at its end
        self._ended = 0
        for name, stream in (("out", self.proc.stdout), ("err", self.proc.stderr)):
            threading.Thread(target=self._pump, args=(name, stream), daemon=True).start()

    def _pump(self, name: str, stream) -> None:
        for line in stream:
            self._queue.put((name, line))
        self._queue.put((name, None))

    def _lines(self) -> Iterator[str]:
        """The lines as they come, until both streams end (or WAIT_S passes)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and self._ended < 2:
            try:
                _, line = self._queue.get(timeout=5)
            except queue.Empty:
                continue
            if line is None:
                self._ended += 1
                continue
            self.seen.append(line)
            yield line

    def until(self, pattern: str) -> re.Match[str]:
        """The first line matching ``pattern`` that no earlier call returned, among the lines
        read so far or, failing that, the next ones. stdout and stderr are read by two
        threads, so lines of the two streams may be read in either order."""
        for i, line in enumerate(self.seen):
            if i not in self._returned and (match := re.search(pattern, line)):
                self._returned.add(i)
                return match
        for line in self._lines():
            if match := re.search(pattern, line):
                self._returned.add(len(self.seen) - 1)
                return match
        raise AssertionError(f"no line matching {pattern!r}:\n{self.tail()}")

    def rest(self) -> str:
        """Everything the command printed, once it has ended."""
        for _ in self._lines():
            pass
        return "".join(self.seen)

    def interrupt(self) -> int:
        """Ctrl-C, and the exit status."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=WAIT_S)

    def tail(self) -> str:
        return "".join(self.seen)[-3000:]


@contextlib.contextmanager
def _running(tmp_path: Path, *args: str, ingest: dict | None = None) -> Iterator[_Run]:
    """A :class:`_Run`, killed on the way out if it is still running."""
    run = _Run(tmp_path, *args, ingest=ingest)
    try:
        yield run
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()


def _addresses(lines: list[str]) -> list[str]:
    return [m.group(1) for m in map(ADDRESS.search, lines) if m]


def _get(url: str) -> int:
    import httpx

    with httpx.Client(timeout=60, follow_redirects=True) as client:
        return client.get(url, headers={"Accept": "text/html"}).status_code


@pytest.mark.slow
@pytest.mark.heavy  # a whole `moodrec run` in a subprocess, with its own server
def test_run_with_ui_serves_the_ui_at_the_printed_address_until_ctrl_c(tmp_path: Path) -> None:
    with _running(tmp_path, "--ui") as run:
        address = run.until(ADDRESS.pattern).group(1)
        assert address.startswith("http://127.0.0.1:")
        assert _get(address + "/") == 200  # at the start, while the run runs
        run.until("press Ctrl-C to stop it")
        # the summary names it again, and the server is still up after the run
        assert run.until(ADDRESS.pattern).group(1) == address
        assert _addresses(run.seen) == [address, address]
        assert _get(address + "/") == 200
        assert _get(address + "/api/health") == 200
        rc = run.interrupt()
    assert rc == 0, run.tail()
    import httpx

    with pytest.raises(httpx.TransportError):  # the server went with the command
        _get(address + "/")


@pytest.mark.slow
@pytest.mark.heavy  # a whole `moodrec run` in a subprocess, with its own server
def test_a_failed_run_keeps_the_ui_up_to_look_at_it(tmp_path: Path) -> None:
    missing = {"source": "lastfm1k", "log_path": str(tmp_path / "missing.tsv")}
    with _running(tmp_path, "--ui", ingest=missing) as run:
        address = run.until(ADDRESS.pattern).group(1)
        run.until(r"^error: .*missing\.tsv does not exist")
        run.until("press Ctrl-C to stop it")
        assert _get(address + "/") == 200
        rc = run.interrupt()
    assert rc == 2, run.tail()


@pytest.mark.slow
@pytest.mark.heavy  # a whole `moodrec run` in a subprocess, with its own server
def test_run_without_ui_prints_no_link(tmp_path: Path) -> None:
    with _running(tmp_path) as run:
        rc = run.proc.wait(timeout=WAIT_S)
    text = run.rest()
    assert rc == 0, text[-3000:]
    assert "data folder:" in text  # the run did finish and print its summary
    assert "http://" not in text and "https://" not in text
    assert "Prefect UI: none" in text


def test_ui_without_built_assets_is_a_clear_error(
    config_env: Path, tmp_path: Path, monkeypatch
) -> None:
    import prefect

    monkeypatch.setattr(prefect, "__ui_static_path__", tmp_path / "no-ui")
    monkeypatch.setenv("MOODREC_PATHS__DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["run", "--profile", "tiny", "--ui"])
    assert result.exit_code == 2, result.output
    assert "has no built UI" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "data").exists()  # refused before any work
