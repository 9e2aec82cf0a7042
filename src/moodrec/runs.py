"""What a data folder holds: ``run.json`` (which configuration made it) and the ``latest``
pointer beside run folders.

Run ids and the ``{run_id}`` placeholder live in :mod:`moodrec.config.run_folder`; this
module does the file side: it records the configuration a pipeline run writes with, refuses
a folder that holds another configuration's outputs (unless told to replace them), and
points ``<runs>/latest`` at the run that finished last.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from moodrec.config.run_folder import (
    RUN_ID_PLACEHOLDER,
    config_fingerprint,
    effective_config,
    run_id,
)
from moodrec.config.schema import Settings
from moodrec.errors import RunFolderError
from moodrec.storage import write_json_atomic

logger = logging.getLogger(__name__)

RUN_RECORD = "run.json"
LATEST = "latest"


def read_run_record(data_dir: Path | str) -> dict[str, Any] | None:
    """The ``run.json`` of a data folder, or None when it has none (or it is unreadable)."""
    path = Path(data_dir) / RUN_RECORD
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def check_data_folder(data_dir: Path | str, settings: Settings, *, replace: bool = False) -> None:
    """Refuse to write ``settings``' outputs over another configuration's.

    A folder with no ``run.json`` (new, or made before run records existed) is accepted.

    Raises
    ------
    RunFolderError
        ``run.json`` names another config fingerprint and ``replace`` is false; the message
        says which run made the folder and how to keep both (``{run_id}`` in
        ``paths.data_dir``) or replace it (``--replace``).
    """
    record = read_run_record(data_dir)
    fingerprint = config_fingerprint(settings)
    if record is None or record.get("config_fingerprint") == fingerprint:
        return
    if replace:
        logger.warning(
            "replacing the outputs of run %s in %s (another configuration)",
            record.get("run_id"),
            data_dir,
        )
        return
    raise RunFolderError(
        f"{data_dir} holds the outputs of run {record.get('run_id')!r} (profile "
        f"{record.get('profile')!r}, seed {record.get('seed')}), made with another "
        f"configuration than this run's ({run_id(settings)}). Keep both: put "
        f"{RUN_ID_PLACEHOLDER} in paths.data_dir (e.g. data/<profile>/runs/{RUN_ID_PLACEHOLDER}) "
        "or choose another folder; replace them: moodrec run --replace."
    )


def write_run_record(data_dir: Path | str, settings: Settings, **extra: Any) -> dict[str, Any]:
    """Write ``run.json``: run id, profile, seed, config fingerprint, effective config
    (secrets masked) plus ``extra`` (e.g. start and end times). Returns what was written."""
    record = {
        "run_id": run_id(settings),
        "profile": settings.profile,
        "seed": settings.sandbox.seed,
        "config_fingerprint": config_fingerprint(settings),
        "config": effective_config(settings),
        **extra,
    }
    write_json_atomic(Path(data_dir) / RUN_RECORD, record)
    return record


def runs_root(settings: Settings) -> Path | None:
    """The folder holding run folders (``data/tiny/runs``) when ``paths.data_dir`` was a
    ``{run_id}`` template whose last part is the run id; otherwise None."""
    folder = Path(settings.paths.data_dir)
    return folder.parent if folder.name == run_id(settings) else None


def point_latest(settings: Settings) -> Path | None:
    """Point ``<runs>/latest`` (a relative symlink) at this run's folder, atomically.

    Returns the pointer's path, or None for a data folder that is not a run folder.
    """
    root = runs_root(settings)
    if root is None:
        return None
    link = root / LATEST
    tmp = root / f".{LATEST}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(run_id(settings), target_is_directory=True)
    os.replace(tmp, link)
    return link


def moodrec_version() -> str:
    """The installed moodrec version (``0+unknown`` when run from an uninstalled tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moodrec")
    except PackageNotFoundError:
        return "0+unknown"


def git_commit(folder: Path | str | None = None) -> str | None:
    """The commit of the git work tree holding ``folder`` (default: this package), with
    ``+dirty`` when tracked files changed; None outside a work tree or without git."""
    import subprocess

    where = Path(folder) if folder is not None else Path(__file__).parent
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def input_files(data_dir: Path | str) -> list[dict[str, Any]]:
    """The run's inputs as recorded in the manifest: every dataset under ``raw/`` or outside
    the data folder (the listening log, the sandbox world, source files), with fingerprints."""
    from moodrec.storage import Manifest

    root = Path(data_dir).resolve()
    out = []
    for name, entry in sorted(Manifest(root).load().items()):
        path = Path(entry["path"])
        absolute = path if path.is_absolute() else root / path
        inside = absolute.resolve().is_relative_to(root)
        if not inside or absolute.resolve().relative_to(root).parts[:1] == ("raw",):
            out.append(
                {
                    "name": name,
                    "path": str(path),
                    "fingerprint": entry.get("fingerprint"),
                    "rows": entry.get("rows"),
                }
            )
    return out


def provenance(
    settings: Settings, data_dir: Path | str, *, started: str, finished: str | None = None
) -> dict[str, Any]:
    """What made a run's outputs: moodrec version, git commit, profile, run id, seed, config
    fingerprint and effective config (secrets masked), input files with fingerprints, start
    and end time (ISO 8601, UTC). Written to ``manifest.json`` and shown in the report."""
    return {
        "moodrec_version": moodrec_version(),
        "git_commit": git_commit(),
        "profile": settings.profile,
        "run_id": run_id(settings),
        "seed": settings.sandbox.seed,
        "config_fingerprint": config_fingerprint(settings),
        "data_dir": str(data_dir),
        "inputs": input_files(data_dir),
        "started": started,
        "finished": finished,
        "config": effective_config(settings),
    }
