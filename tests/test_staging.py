"""A stage writes all of its outputs or none (issue 19): :func:`moodrec.storage.stage_outputs`.

Properties over arbitrary previous and new outputs: an exception after any number of files
were staged leaves the folder byte-identical; a crash anywhere in the commit is completed by
the next start (all new files, never a mix); a success leaves no staging folder.
"""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moodrec.storage as storage
from moodrec.errors import CatalogueError
from moodrec.storage import (
    STAGING_DIR,
    StagedOutputs,
    recover_staged,
    stage_outputs,
    with_stage_outputs,
)
from tests.staging import snapshot

NAMES = ["a.json", "b.parquet", "sub/c.txt", "sub/deep/d.bin", "e.md"]

_previous = st.dictionaries(st.sampled_from(NAMES), st.binary(max_size=64))
_outputs = st.dictionaries(st.sampled_from(NAMES), st.binary(max_size=64), min_size=1)
_settings = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass(frozen=True)
class Change:
    """A stage run over a folder: what was there, what it writes, where it is cut short."""

    previous: dict[str, bytes]
    new: dict[str, bytes]
    #: where the stage is cut short: an index into ``new`` (0 to len(new) - 1)
    cut: int


@st.composite
def _changes(draw: st.DrawFn) -> Change:
    new = draw(_outputs, label="new")
    cut = draw(st.integers(0, len(new) - 1), label="cut")
    return Change(draw(_previous, label="previous"), new, cut)


def _write(root: Path, files: dict[str, bytes]) -> None:
    with stage_outputs(root, label="test") as staging:
        for name, data in files.items():
            staging.write_bytes(root / name, data)


def _fresh(tmp_path_factory: pytest.TempPathFactory, previous: dict[str, bytes]) -> Path:
    root = tmp_path_factory.mktemp("stage")
    if previous:
        _write(root, previous)
    return root


@_settings
@given(previous=_previous, new=_outputs)
def test_success_moves_every_file_and_leaves_no_staging_folder(
    tmp_path_factory: pytest.TempPathFactory, previous: dict[str, bytes], new: dict[str, bytes]
) -> None:
    root = _fresh(tmp_path_factory, previous)
    with stage_outputs(root, label="test") as staging:
        returned = {name: staging.write_bytes(root / name, data) for name, data in new.items()}
        # nothing is in place before the commit
        in_place = {k: v for k, v in snapshot(root).items() if not k.startswith(STAGING_DIR)}
        assert in_place == previous
    assert returned == {name: root / name for name in new}
    assert snapshot(root) == {**previous, **new}
    assert not (root / STAGING_DIR).exists()


@_settings
@given(change=_changes())
def test_an_exception_after_any_staged_file_leaves_the_folder_as_it_was(
    tmp_path_factory: pytest.TempPathFactory, change: Change
) -> None:
    root = _fresh(tmp_path_factory, change.previous)
    before = snapshot(root)
    with pytest.raises(RuntimeError, match="stage failed"), stage_outputs(root) as staging:
        for i, (name, payload) in enumerate(change.new.items()):
            staging.write_bytes(root / name, payload)
            if i == change.cut:  # the stage fails after writing its (cut + 1)-th file
                raise RuntimeError("stage failed")
    assert snapshot(root) == before
    assert not (root / STAGING_DIR).exists()


class _Killed(BaseException):
    """Stands in for the process dying (nothing after it runs, as with ``kill -9``)."""


@_settings
@given(change=_changes(), data=st.data())
def test_a_commit_cut_short_is_completed_by_the_next_start(
    tmp_path_factory: pytest.TempPathFactory, change: Change, data: st.DataObject
) -> None:
    root = _fresh(tmp_path_factory, change.previous)
    real_replace = os.replace
    moves = 0

    def replace(src: str | Path, dst: str | Path) -> None:
        nonlocal moves
        if STAGING_DIR not in Path(dst).parts:  # a move into place, not a write in staging
            if moves == change.cut:  # the process dies after this many moves into place
                raise _Killed
            moves += 1
        real_replace(src, dst)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(storage.os, "replace", replace)
        with pytest.raises(_Killed):
            _write(root, change.new)
    # a mix of old and new files is on disk now; the next stage to start there (or in a
    # folder below) completes it
    assert (root / STAGING_DIR).is_dir()
    later = data.draw(st.sampled_from([root, root / "reports"]), label="next stage's root")
    with stage_outputs(later, label="next"):
        pass
    assert snapshot(root) == {**change.previous, **change.new}
    assert not (root / STAGING_DIR).exists()


_CRASH = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import moodrec.storage as storage

    root, when = Path(sys.argv[1]), sys.argv[2]
    real_replace = os.replace
    moves = 0

    def replace(src, dst):
        global moves
        if storage.STAGING_DIR not in Path(dst).parts:
            moves += 1
            if when == "mid-commit" and moves == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)

    storage.os.replace = replace
    with storage.stage_outputs(root, label="crash") as staging:
        for name in ("a.txt", "b.txt", "c.txt"):
            staging.write_text(root / name, "new " + name)
        if when == "before-commit":
            os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("before-commit", {n: f"old {n}" for n in ("a.txt", "b.txt", "c.txt")}),
        ("mid-commit", {n: f"new {n}" for n in ("a.txt", "b.txt", "c.txt")}),
    ],
)
def test_kill_9_is_rolled_back_or_completed_never_a_mix(
    tmp_path: Path, when: str, expected: dict[str, str]
) -> None:
    root = tmp_path / "out"
    with stage_outputs(root) as staging:
        for name in ("a.txt", "b.txt", "c.txt"):
            staging.write_text(root / name, f"old {name}")
    env = {**os.environ, "PYTHONPATH": str(Path(storage.__file__).parents[1])}
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH, str(root), when], env=env, timeout=120, check=False
    )
    assert proc.returncode == -signal.SIGKILL
    assert (root / STAGING_DIR).is_dir()  # the dead stage's leftovers
    done = recover_staged(root)
    assert len(done) == 1
    assert done[0].startswith("completed" if when == "mid-commit" else "rolled back")
    assert {k: v.decode() for k, v in snapshot(root).items()} == expected


def test_recovery_leaves_a_running_stage_alone(tmp_path: Path) -> None:
    # two stages under one root at once (threads of one run): the second one's start must
    # not take the first one's staged files for a crash's leftovers
    staged, go_on = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first_stage() -> None:
        try:
            with stage_outputs(tmp_path, label="first") as first:
                first.write_text(tmp_path / "x.txt", "first")
                staged.set()
                go_on.wait()
                assert first.staged_files() == ["x.txt"]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=first_stage)
    thread.start()
    staged.wait()
    with stage_outputs(tmp_path, label="second") as second:
        second.write_text(tmp_path / "y.txt", "second")
    assert recover_staged(tmp_path) == []
    go_on.set()
    thread.join()
    assert errors == []
    assert snapshot(tmp_path) == {"x.txt": b"first", "y.txt": b"second"}


def test_a_nested_stage_commits_with_the_enclosing_one(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), stage_outputs(tmp_path, label="task") as outer:
        with stage_outputs(tmp_path / "interim", label="ingest") as inner:
            assert inner is outer
            inner.write_text(tmp_path / "interim" / "t.txt", "table")
        assert not (tmp_path / "interim" / "t.txt").exists()
        raise RuntimeError("the summary failed")
    assert snapshot(tmp_path) == {}
    with stage_outputs(tmp_path, label="task") as outer:
        with stage_outputs(tmp_path / "interim", label="ingest") as inner:
            inner.write_text(tmp_path / "interim" / "t.txt", "table")
        outer.write_text(tmp_path / "summary.json", "{}")
    assert snapshot(tmp_path) == {"interim/t.txt": b"table", "summary.json": b"{}"}


def test_removal_happens_only_at_the_commit(tmp_path: Path) -> None:
    (tmp_path / "stale.parquet").write_bytes(b"old")
    with pytest.raises(RuntimeError), stage_outputs(tmp_path) as staging:
        staging.remove(tmp_path / "stale.parquet")
        raise RuntimeError("failed")
    assert (tmp_path / "stale.parquet").read_bytes() == b"old"
    with stage_outputs(tmp_path) as staging:
        staging.remove(tmp_path / "stale.parquet")
        staging.write_text(tmp_path / "new.md", "new")
        assert (tmp_path / "stale.parquet").exists()
    assert snapshot(tmp_path) == {"new.md": b"new"}


def test_a_folder_target_and_several_layers(tmp_path: Path) -> None:
    reports, models = tmp_path / "reports", tmp_path / "models"
    with stage_outputs(reports, models) as staging:
        assert staging.root == tmp_path
        folder = staging.path(models / "ials")
        (folder / "arrays.npz").parent.mkdir(parents=True, exist_ok=True)
        (folder / "arrays.npz").write_bytes(b"npz")
        staging.write_json(reports / "r.json", {"k": 1})
    assert snapshot(tmp_path) == {
        "models/ials/arrays.npz": b"npz",
        "reports/r.json": b'{\n  "k": 1\n}\n',
    }


def test_an_output_outside_the_root_is_refused(tmp_path: Path) -> None:
    with (
        pytest.raises(CatalogueError, match="under its staging root"),
        stage_outputs(tmp_path / "a") as staging,
    ):
        staging.write_text(tmp_path / "b" / "x.txt", "no")
    assert not (tmp_path / "b").exists()


@with_stage_outputs("test", dirs=lambda root, sub, **_: [root / sub])
def _decorated_stage(
    staging: StagedOutputs,
    root: Path,
    files: dict[str, bytes],
    sub: str = "out",
    fail: bool = False,
) -> dict[str, Path]:
    """Stages ``files`` under ``root/sub``, then fails when asked to."""
    written = {name: staging.write_bytes(root / sub / name, data) for name, data in files.items()}
    if fail:
        raise RuntimeError("stage failed")
    return written


def test_a_decorated_stage_writes_all_or_none(tmp_path: Path) -> None:
    files = {"a.json": b"a", "sub/c.txt": b"c"}
    with pytest.raises(RuntimeError, match="stage failed"):
        _decorated_stage(tmp_path, files, fail=True)
    assert snapshot(tmp_path) == {}
    # the folders come from the call's arguments by name, defaults included
    assert _decorated_stage(root=tmp_path, files=files) == {n: tmp_path / "out" / n for n in files}
    assert snapshot(tmp_path) == {f"out/{n}": data for n, data in files.items()}


def test_a_decorated_stage_is_called_without_its_staging() -> None:
    assert list(inspect.signature(_decorated_stage).parameters) == ["root", "files", "sub", "fail"]
    assert _decorated_stage.__name__ == "_decorated_stage"
    assert (
        _decorated_stage.__doc__ == "Stages ``files`` under ``root/sub``, then fails when asked to."
    )
