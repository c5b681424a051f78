"""The import contract: command line -> parity -> port, with legacy_caffe standing alone.

The graph is built from the source (every ``import`` and ``from ... import``
of every module, at the top or inside a function), so an import hidden in a
function is a back-edge too.  Rules:

* ``port`` (the library a notebook imports) imports neither ``parity`` nor
  ``mfv_cli``; of ``legacy_caffe`` only ``legacy_caffe.random_weights``
  (pure numpy: both sides draw the same weights with the same generator);
* ``parity`` does not import ``mfv_cli``;
* ``legacy_caffe`` runs in the legacy interpreter and imports none of the others;
* no library package imports ``benchmarks`` or ``scripts``;
* no two modules of a package import each other, directly or around a loop;
* within ``parity``, the subpackages form layers, each importing only itself and
  those before it (``PARITY_LAYERS``): the environments (``stacks``) import no
  judge, the judges no engine or comparison, the engine no comparison, and no
  one imports the reports, which read every result and are read by none.

And importing every module of ``port`` leaves pyplot unimported and the
plotting backend unchosen.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("port", "parity", "legacy_caffe", "mfv_cli", "benchmarks", "scripts")
MAY_IMPORT = {
    "port": {"port"},
    "parity": {"parity", "port", "legacy_caffe"},
    "legacy_caffe": {"legacy_caffe"},
    "mfv_cli": {"mfv_cli", "parity", "port"},
    "benchmarks": {"benchmarks", "port", "parity", "legacy_caffe", "mfv_cli"},
    "scripts": {"scripts", "port", "parity", "legacy_caffe", "mfv_cli"},
}
EXCEPTIONS = {("port.caffe.loader", "legacy_caffe.random_weights")}
PARITY_LAYERS = ("stacks", "judges", "engine", "comparisons", "reports")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every module of ``packages`` under ``root``, by dotted name."""
    return {module_name(root, path): path for package in packages for path in sorted((root / package).rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports (``from pkg import mod`` names ``pkg.mod``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            source = ".".join(base + ([node.module] if node.module else []))
            targets |= {
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source for alias in node.names
            }
    return {target for target in targets if target in known or target.split(".")[0] in PACKAGES}


def import_graph(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    found = modules(root, packages)
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def back_edges(graph: dict[str, set[str]]) -> list[str]:
    """Every import that breaks the rules, as ``importer -> imported``."""
    return sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        for target in targets
        if target.split(".")[0] not in MAY_IMPORT[source.split(".")[0]] and (source, target) not in EXCEPTIONS
    )


def parity_layer(module: str) -> int | None:
    """The layer of a ``parity`` module (its subpackage's index in ``PARITY_LAYERS``); None outside them."""
    parts = module.split(".")
    if parts[0] != "parity" or len(parts) < 2 or parts[1] not in PARITY_LAYERS:
        return None
    return PARITY_LAYERS.index(parts[1])


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import from a ``parity`` subpackage into a later one (or into a module outside the layers)."""
    found = []
    for source, targets in graph.items():
        layer = parity_layer(source)
        if layer is None:
            continue
        for target in targets:
            if target.split(".")[0] != "parity":
                continue
            target_layer = parity_layer(target)
            if target_layer is None or target_layer > layer:
                found.append(f"{source} -> {target}")
    return sorted(found)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import loops between modules of one package (strongly connected components, Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target.split(".")[0] != node.split(".")[0] or target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_dependencies_run_one_way():
    assert back_edges(import_graph(ROOT)) == []


def test_no_import_cycles_within_a_package():
    assert cycles(import_graph(ROOT)) == []


def test_parity_subpackages_import_only_the_layers_before_them():
    graph = import_graph(ROOT)
    assert {name.split(".")[1] for name in graph if name.startswith("parity.")} == set(PARITY_LAYERS)
    assert layer_violations(graph) == []


def test_the_layer_checker_finds_a_judge_importing_a_comparison_and_a_report_read_back(tmp_path):
    files = {
        "parity/__init__.py": "",
        "parity/stacks/__init__.py": "",
        "parity/stacks/legacy.py": "",
        "parity/judges/__init__.py": "",
        "parity/judges/figures.py": "from parity.stacks.legacy import X\n",
        "parity/judges/ties.py": "def f():\n    from parity.comparisons import layers\n",
        "parity/comparisons/__init__.py": "",
        "parity/comparisons/layers.py": "from parity.judges import figures\n",
        "parity/comparisons/runs.py": "from parity.reports.runs import render\n",
        "parity/reports/__init__.py": "",
        "parity/reports/runs.py": "from parity.comparisons.layers import X\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert layer_violations(import_graph(tmp_path, ("parity",))) == [
        "parity.comparisons.runs -> parity.reports.runs",
        "parity.judges.ties -> parity.comparisons.layers",
    ]


def test_the_only_edge_from_port_to_legacy_caffe_is_the_shared_weight_generator():
    graph = import_graph(ROOT)
    edges = {(s, t) for s, targets in graph.items() if s.startswith("port") for t in targets}
    assert {(s, t) for s, t in edges if t.startswith("legacy_caffe")} == EXCEPTIONS
    assert "legacy_caffe.random_weights" in (ROOT / "port/caffe/loader.py").read_text().split('"""')[1]


def test_the_checker_finds_a_planted_back_edge_a_hidden_one_and_a_cycle(tmp_path):
    files = {
        "port/__init__.py": "",
        "port/a.py": "import numpy\nfrom port import b\n",
        "port/b.py": "def f():\n    from port.a import g\n",
        "port/c.py": "def f():\n    from parity import report\n",
        "parity/__init__.py": "",
        "parity/report.py": "from . import ops\n",
        "parity/ops.py": "from mfv_cli.main import main\n",
        "mfv_cli/__init__.py": "",
        "mfv_cli/main.py": "import parity.report\nimport port.a\n",
        "legacy_caffe/__init__.py": "",
        "legacy_caffe/job.py": "from port.caffe import loader\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path, ("port", "parity", "mfv_cli", "legacy_caffe"))
    assert graph["parity.report"] == {"parity.ops"}
    assert back_edges(graph) == [
        "legacy_caffe.job -> port.caffe",
        "parity.ops -> mfv_cli.main",
        "port.c -> parity.report",
    ]
    assert cycles(graph) == [["port.a", "port.b"]]


def test_importing_port_chooses_no_plotting_backend():
    code = (
        "import pkgutil, importlib, sys, port\n"
        "for m in pkgutil.walk_packages(port.__path__, 'port.'):\n"
        "    importlib.import_module(m.name)\n"
        "import matplotlib\n"
        "print('matplotlib.pyplot' in sys.modules, matplotlib.rcParams._get_backend_or_none())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "None"]
