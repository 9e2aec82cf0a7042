"""Imports point one way: flows → tasks → pure code. Pure code never imports Prefect."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import moodrec

PKG = Path(moodrec.__file__).parent
ADAPTER_LAYERS = {"tasks", "flows"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _pure_modules() -> list[Path]:
    out = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] in ADAPTER_LAYERS or rel.name == "cli.py":
            continue
        out.append(path)
    return out


def test_pure_code_never_imports_prefect() -> None:
    offenders = [
        str(p.relative_to(PKG))
        for p in _pure_modules()
        if any(n == "prefect" or n.startswith("prefect.") for n in _imports(p))
    ]
    assert _pure_modules(), "found no pure modules: the check would pass vacuously"
    assert offenders == []


def test_tasks_never_import_flows() -> None:
    offenders = [
        str(p.relative_to(PKG))
        for p in (PKG / "tasks").rglob("*.py")
        if any(n.startswith("moodrec.flows") for n in _imports(p))
    ]
    assert offenders == []


def test_importing_pure_modules_does_not_load_prefect() -> None:
    """Also catches transitive imports, in a fresh interpreter."""
    mods = sorted(
        "moodrec." + ".".join(p.relative_to(PKG).with_suffix("").parts).removesuffix(".__init__")
        for p in _pure_modules()
    )
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "print('prefect' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
