"""The built wheel works outside the checkout: profiles packaged, console script, a run."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

REPO = Path(__file__).resolve().parents[2]
#: the environment without what points at the checkout (PYTHONPATH=src, MOODREC_* settings)
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("MOODREC_", "PYTHONPATH"))}


def _venv_with_wheel(tmp_path: Path) -> Path:
    """A fresh venv outside the checkout holding only the moodrec wheel; its dependencies
    come from this interpreter's site-packages (a .pth line), so nothing is downloaded."""
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(REPO),
        ],
        check=True,
        env=CLEAN_ENV,
    )
    (wheel,) = dist.glob("moodrec-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # the wheel first (pip then sees an empty environment, not the checkout's editable
    # install), then this interpreter's packages as the dependencies, after the venv's own
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        env=CLEAN_ENV,
    )
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return venv


def test_wheel_runs_outside_the_checkout(tmp_path: Path) -> None:
    venv = _venv_with_wheel(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOODREC_", "PYTHONPATH"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    moodrec = str(venv / "bin" / "moodrec")

    def run(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [moodrec, *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout
        )

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import moodrec; print(moodrec.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.returncode == 0, where.stderr
    where = where.stdout
    assert str(venv) in where  # the wheel's copy, not the checkout's
    assert run("--version").stdout.startswith("moodrec 0.")
    shown = run("config", "show", "--profile", "tiny")
    assert shown.returncode == 0, shown.stderr
    assert '"profile": "tiny"' in shown.stdout
    done = run("run", "--profile", "tiny", "--quiet", timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (report,) = (work / "data" / "tiny" / "runs").glob("seed7-*/reports/report.html")
    assert "SYNTHETIC DATA" in report.read_text(encoding="utf-8").splitlines()[0]
    assert (work / "data" / "tiny" / "runs" / "latest").resolve() == report.parents[1].resolve()
