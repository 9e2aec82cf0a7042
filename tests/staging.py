"""Helpers for all-or-none tests of stages (issue 19): snapshots and an injected failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodrec.storage import StagedOutputs


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones, the manifest and staging folders included)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def fail_on_write(monkeypatch: pytest.MonkeyPatch, method: str, n: int) -> None:
    """Make the ``n``-th call of ``StagedOutputs.<method>`` raise (earlier ones write)."""
    real = getattr(StagedOutputs, method)
    calls = 0

    def failing(self: StagedOutputs, *args: object, **kwargs: object) -> Path:
        nonlocal calls
        calls += 1
        if calls == n:
            raise RuntimeError(f"injected failure at {method} #{n}")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(StagedOutputs, method, failing)
