"""The import contracts hold, and they can fail.

``.importlinter`` declares the layers (schemas ← verifier ← exchange; issuers → schemas; verifier free of web and
database code; inside the exchange: entry points → pages → features → callers → usage log → core) and the
independence of the exchange's feature folders except their declared interfaces. These tests run
``lint-imports`` on this tree, then on a temporary copy with a violation injected, and scan for import cycles
between feature folders (module-level and function-level imports; ``TYPE_CHECKING`` imports ignored).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "verifier", "issuers", "exchange", "testkit")
#: Folders of ``exchange/`` that are not features: the core and the shared layers under the features.
NOT_FEATURES = frozenset({"kit", "auth", "migrations"})


def _lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(root)}
    only = [arg for c in contracts for arg in ("--contract", c)]
    return subprocess.run([str(exe), "--no-cache", *only], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _copy_tree(dest: Path) -> Path:
    """The four packages' Python files and the contracts, nothing else (templates, fonts and data are not needed
    to read imports)."""
    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if not (n.endswith(".py") or (Path(directory) / n).is_dir())
                or n == "__pycache__"}

    for package in PACKAGES:
        shutil.copytree(ROOT / package, dest / package, ignore=ignore)
    shutil.copy(ROOT / ".importlinter", dest / ".importlinter")
    return dest


def _inject(root: Path, module: str, line: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_contracts_hold_on_this_tree() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    # a feature reaching into another feature's repository instead of its service
    ("exchange.citizens.service", "from exchange.counter import repository as _r  # noqa", "features"),
    # a feature reaching into another feature's router
    ("exchange.counter.service", "from exchange.proofs import router as _r  # noqa", "features"),
    # the verifier pulling in database code
    ("verifier.trust", "import sqlalchemy as _sa  # noqa", "verifier-pure"),
    # the schemas depending on the verifier (a layer upside down)
    ("schemas.canonical", "import verifier.errors as _e  # noqa", "packages"),
    # the signing side importing the exchange
    ("issuers.sdjwt", "import exchange.kit.errors as _k  # noqa", "signing-side"),
    # the core importing a feature
    ("exchange.kit.db", "import exchange.usage.service as _u  # noqa", "exchange-layers"),
])
def test_an_injected_violation_fails(tmp_path: Path, module: str, line: str, contract: str) -> None:
    root = _copy_tree(tmp_path)
    before = _lint_imports(root, contract)
    assert before.returncode == 0, "the copy must pass before the injection: " + before.stdout
    _inject(root, module, line)
    result = _lint_imports(root, contract)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and "1 broken" in result.stdout, result.stdout


def feature_cycles(graph: grimp.ImportGraph, container: str, skip: Iterable[str] = ()) -> list[list[str]]:
    """Cycles in the graph of ``container``'s sub-packages (an edge a → b when any module under a imports any
    module under b). Returns each strongly connected component with more than one package."""
    skip = set(skip)
    features = sorted(m.rsplit(".", 1)[1] for m in graph.find_children(container)
                      if graph.find_children(m) and m.rsplit(".", 1)[1] not in skip)
    edges: dict[str, set[str]] = {f: set() for f in features}
    for f in features:
        for module in graph.find_descendants(f"{container}.{f}") | {f"{container}.{f}"}:
            for imported in graph.find_modules_directly_imported_by(module):
                parts = imported.split(".")
                if len(parts) > 1 and parts[0] == container and parts[1] in edges and parts[1] != f:
                    edges[f].add(parts[1])
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in features:
        if v not in index:
            visit(v)
    return out


def test_no_cycle_between_feature_folders() -> None:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    assert feature_cycles(graph, "exchange", NOT_FEATURES) == []


def test_the_cycle_scan_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.a.x", "pkg.b", "pkg.b.y", "pkg.c", "pkg.c.z"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a.x", imported="pkg.b.y")
    graph.add_import(importer="pkg.b.y", imported="pkg.c.z")
    assert feature_cycles(graph, "pkg") == []
    graph.add_import(importer="pkg.c.z", imported="pkg.a")
    assert feature_cycles(graph, "pkg") == [["a", "b", "c"]]
