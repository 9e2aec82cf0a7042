"""Imports point one way: flows → tasks → pure code. Pure code never imports Prefect."""

from __future__ import annotations

import ast
import json
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
        if rel.parts[0] in ADAPTER_LAYERS or rel.parts[0] == "cli":  # the cli/ package
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


#: libraries only a computing task needs (seconds of CPU to import): an unchanged re-run,
#: every task cached, must not load them (benchmarks/results/pipeline.md)
HEAVY_LIBRARIES = ("torch", "scipy", "sklearn", "gensim", "umap", "plotly", "networkx", "numba")


def test_importing_the_flows_loads_no_heavy_library() -> None:
    """Every flow module (the pipeline's stages imported as a run imports them) and the CLI,
    in a fresh interpreter: the heavy libraries are imported by the tasks that compute."""
    flows = sorted(_module_name(p) for p in (PKG / "flows").glob("*.py") if p.name != "__init__.py")
    code = (
        "import importlib, json, sys\n"
        f"for m in {[*flows, 'moodrec.cli']!r}: importlib.import_module(m)\n"
        "from moodrec.config.loader import load_settings\n"
        "from moodrec.flows.pipeline import preload_stages\n"
        "s = load_settings('demo')\n"
        "preload_stages(s.orchestration.skip, s)\n"
        f"heavy = {HEAVY_LIBRARIES!r}\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(flows) >= 10, flows
    assert json.loads(out.stdout) == []


def test_preloading_a_computing_run_loads_its_libraries() -> None:
    """The other side: a run that computes gets its libraries while the server starts."""
    code = (
        "import sys\n"
        "from moodrec.config.loader import load_settings\n"
        "from moodrec.flows.pipeline import preload_stages\n"
        "s = load_settings('demo')\n"
        "preload_stages(s.orchestration.skip, s, libraries=True)\n"
        "print('gensim' in sys.modules, 'sklearn' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


# --- the import graph: no circle; configuration is a leaf -----------------------------------

#: modules any config module may import besides other config modules
CONFIG_LEAVES = {"moodrec.stage_config", "moodrec.errors", "moodrec.domain"}


def _module_name(path: Path) -> str:
    parts = ("moodrec", *path.relative_to(PKG).with_suffix("").parts)
    return ".".join(parts).removesuffix(".__init__")


def _all_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _moodrec_imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """The moodrec modules ``name`` imports anywhere in its body (function-level and
    ``TYPE_CHECKING`` imports included), plus the packages whose ``__init__`` such an import
    runs first (those outside ``name``'s own packages)."""
    package = name if _is_package(path) else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in modules else base)
    out: set[str] = set()
    for target in targets:
        while target and target not in modules:  # ``import a.b.attr`` → the module a.b
            target = target.rpartition(".")[0]
        if not target.startswith("moodrec"):
            continue
        out.add(target)
        parent = target.rpartition(".")[0]
        while parent.count("."):  # moodrec.x.y's parents run first, moodrec itself is empty
            if not (package == parent or package.startswith(parent + ".")):
                out.add(parent)
            parent = parent.rpartition(".")[0]
    out.discard(name)
    return out


def _import_graph() -> dict[str, set[str]]:
    modules = _all_modules()
    return {name: _moodrec_imports(name, path, set(modules)) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle through each strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph has ~200 nodes, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)

    def circle(comp: set[str]) -> list[str]:  # shortest path back to the start, by BFS
        start = min(comp)
        prev: dict[str, str] = {}
        queue = [start]
        while queue:
            v = queue.pop(0)
            for w in sorted(graph[v] & comp):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in prev:
                    prev[w] = v
                    queue.append(w)
        return sorted(comp)

    return [circle(c) for c in components]


def _is_config_module(name: str) -> bool:
    last = name.rpartition(".")[2]
    return name.startswith("moodrec.config.") or last == "config" or last.endswith("_config")


def _config_offenders(name: str, imports: set[str]) -> list[str]:
    bad = []
    for target in sorted(imports):
        if target in CONFIG_LEAVES or _is_config_module(target):
            continue
        if target.count(".") == 1 and f"{target}.config" in imports | {name}:
            continue  # the package whose config it is (its __init__ is checked separately)
        bad.append(f"{name} imports {target}")
    return bad


def test_cycle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = _import_graph()
    assert len(graph) > 100 and sum(map(len, graph.values())) > 300, "graph looks empty"
    assert [" → ".join(c) for c in _cycles(graph)] == []


def test_root_config_imports_only_leaf_configs() -> None:
    graph = _import_graph()
    roots = [n for n in graph if n.startswith("moodrec.config.")]
    assert "moodrec.config.schema" in roots
    offenders = [o for n in roots for o in _config_offenders(n, graph[n])]
    assert offenders == []


def test_stage_configs_are_leaves() -> None:
    graph = _import_graph()
    stage_configs = [
        n for n in graph if _is_config_module(n) and not n.startswith("moodrec.config")
    ]
    assert {"moodrec.ingest.config", "moodrec.sandbox.config", "moodrec.topics.config"} <= set(
        stage_configs
    )
    offenders = [o for n in stage_configs for o in _config_offenders(n, graph[n])]
    assert offenders == []


def test_importing_a_stage_config_loads_no_stage_code() -> None:
    """Catches heavy package ``__init__`` files too, in a fresh interpreter."""
    mods = sorted(
        n for n in _all_modules() if _is_config_module(n) and not n.startswith("moodrec.config")
    )
    code = (
        "import importlib, json, sys\n"
        "out = {}\n"
        f"for m in {mods!r}:\n"
        "    for k in [k for k in sys.modules if k.startswith('moodrec')]: del sys.modules[k]\n"
        "    importlib.import_module(m)\n"
        "    out[m] = sorted(k for k in sys.modules if k.startswith('moodrec.'))\n"
        "print(json.dumps(out))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    packages = {n for n, p in _all_modules().items() if _is_package(p)}
    offenders = {
        m: [k for k in ks if not (k in CONFIG_LEAVES or _is_config_module(k) or k in packages)]
        for m, ks in loaded.items()
    }
    assert len(loaded) >= 10
    assert {m: ks for m, ks in offenders.items() if ks} == {}


def test_importing_ingest_loads_no_enrich_or_provider() -> None:
    code = (
        "import sys, moodrec.ingest, moodrec.ingest.lastfm1k, moodrec.ingest.config\n"
        "print(sorted(k for k in sys.modules if k.startswith(('moodrec.enrich', "
        "'moodrec.providers', 'moodrec.config'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- layers: models below evaluation; imports point down --------------------------------------

#: packages (and top-level modules) of moodrec, lowest layer first; a module may import its
#: own layer and the layers below. A stage's own config module (``ingest/config.py``,
#: ``models/deep_config.py``) is a leaf (layer 0).
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(layer.split())
    for layer in (
        "errors stage_config domain storage locking progress plotting",
        "config",
        "catalogue runs reporting report text providers interactions orchestration",
        "ingest enrich content genres topics clustering models sandbox",
        "features evaluation session",
        "experiment",
        "tasks",
        "flows",
        "cli terminal",
    )
)
#: the most imports from a lower layer to a higher one (each a reason to move code down)
MAX_UPWARD_IMPORTS = 3


def _layer(module: str) -> int:
    """Layer of a dotted ``moodrec.…`` module name (``moodrec.<pkg>.[…_]config`` is a leaf)."""
    parts = module.split(".")
    if len(parts) > 2 and parts[-1].endswith("config"):
        return 0
    top = parts[1] if len(parts) > 1 else ""
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{module}: package {top!r} has no layer in LAYERS; add it")


def test_models_never_import_evaluation() -> None:
    """Models sit below evaluation: not even a function-level import goes up."""
    models = sorted((PKG / "models").rglob("*.py"))
    offenders = [
        f"{p.relative_to(PKG)} → {n}"
        for p in models
        for n in sorted(_imports(p))
        if n.startswith(("moodrec.evaluation", "moodrec.experiment"))
    ]
    assert len(models) > 5, "found no model modules: the check would pass vacuously"
    assert offenders == []


def test_imports_point_down_the_layers() -> None:
    """Every package has a layer, and at most MAX_UPWARD_IMPORTS imports go up a layer."""
    upward = []
    for path in sorted(PKG.rglob("*.py")):
        source = _module_name(path)
        for target in sorted(n for n in _imports(path) if n.startswith("moodrec.")):
            if _layer(target) > _layer(source):
                upward.append(f"{source} → {target}")
    assert len(upward) <= MAX_UPWARD_IMPORTS, upward


#: writers of one file each, not through a stage's staging folder
LOW_LEVEL_WRITERS = frozenset(
    {"atomic_path", "write_bytes_atomic", "write_text_atomic", "write_json_atomic"}
    | {"write_parquet_atomic"}
)
#: modules allowed a low-level writer, and why: each writes one file per call, writes into
#: a path its caller's stage hands it, or is not a stage (the sandbox, run records, caches)
SINGLE_FILE_WRITERS = {
    "enrich/parts.py": "per-batch parts: resumable on their own, done-marker last",
    "enrich/plan.py": "the enrich plan (one file)",
    "experiment/stage.py": "one per-user table per model evaluation, one recommendations list",
    "flows/pipeline.py": "the run record (one file)",
    "genres/songmap.py": "writes the path its stage hands it (a staged one)",
    "ingest/download.py": "the download record (one file)",
    "ingest/listens.py": "write_source_record writes the path its task hands it (staged)",
    "interactions/matrix.py": "save_matrix / save: the path their stage hands them",
    "models/saved.py": "model files into the folder its stage hands it (staged)",
    "providers/acousticbrainz.py": "a provider cache, not a stage output",
    "report/ablation.py": "the plot into the path its stage hands it (staged)",
    "runs.py": "the run record (one file)",
    "sandbox/acousticbrainz.py": "the sandbox world (raw inputs), not a stage",
    "sandbox/logfile.py": "the sandbox world (raw inputs), not a stage",
    "sandbox/truth.py": "the sandbox world (raw inputs), not a stage",
    "sandbox/world.py": "the sandbox world (raw inputs), not a stage",
    "session/mood.py": "the timeline plots into the paths its stage hands it (staged)",
    "tasks/ablation.py": "one per-user table per variant task",
    "tasks/topics.py": "lyrics_input (one file per task)",
    "topics/stage.py": "one sweep chunk per task",
}


def _storage_writers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "moodrec.storage"
        for a in node.names
        if a.name in LOW_LEVEL_WRITERS
    }


def test_stages_write_through_the_staging_helper() -> None:
    """Issue 19: a stage writes all of its outputs or none, through ``stage_outputs``.

    Only the modules in SINGLE_FILE_WRITERS (each with its reason) may use a writer that
    puts one file in place on its own; a new module that needs one must say why here.
    """
    users = {
        str(p.relative_to(PKG)): _storage_writers(p)
        for p in sorted(PKG.rglob("*.py"))
        if p.name != "storage.py"
    }
    users = {k: v for k, v in users.items() if v}
    unlisted = sorted(set(users) - set(SINGLE_FILE_WRITERS))
    assert unlisted == [], f"write through moodrec.storage.stage_outputs: {unlisted}"
    stale = sorted(set(SINGLE_FILE_WRITERS) - set(users))
    assert stale == [], f"no longer use a low-level writer; drop from the list: {stale}"
    stage_modules = [p for p in PKG.rglob("*.py") if "stage_outputs(" in p.read_text()]
    assert len(stage_modules) >= 12, "the stages write through stage_outputs"
