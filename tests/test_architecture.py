"""The layout keeps its promises: data flows one way, no import circles, light imports stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from simulation.data import REPO_ROOT

PACKAGE = REPO_ROOT / "simulation"

#: Layers, lowest first: a module may import only from its own layer or lower ones.
LAYERS = (
    ("simulation.calendar", "simulation.files"),
    ("simulation.scenario",),
    ("simulation.data",),
    ("simulation.core",),
    ("simulation.experiments",),
    ("simulation.present",),
    
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every simulation module ``path`` imports, at the top or inside a function."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("simulation"):
                # "from .x import y" may name a module y of package x
                for alias in node.names:
                    candidate = f"{target}.{alias.name}"
                    out.add(candidate if _exists(candidate) else target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("simulation")}
    return out


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    return (REPO_ROOT / rel).with_suffix(".py").is_file() or (REPO_ROOT / rel / "__init__.py").is_file()


def _layer(module: str) -> int | None:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None


GRAPH = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py")) if p.name != "__init__.py" or p.parent != PACKAGE}


def test_every_module_belongs_to_a_layer():
    assert [m for m in GRAPH if _layer(m) is None] == []


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_nothing_imports_upward(module):
    upward = sorted(t for t in GRAPH[module] if (_layer(t) or 0) > _layer(module))
    assert upward == [], f"{module} imports from a higher layer: {upward}"


def test_there_are_no_import_circles():
    """Depth-first search for a cycle among the package's modules (imports inside functions included)."""
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> list[str] | None:
        state[m] = 1
        for t in sorted(GRAPH.get(m, ())):
            if t not in GRAPH:
                continue
            if state.get(t) == 1:
                return path + [m, t]
            if state.get(t) is None and (cycle := visit(t, path + [m])):
                return cycle
        state[m] = 2
        return None

    for m in sorted(GRAPH):
        if m not in state:
            cycle = visit(m, [])
            assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("module", ["simulation.scenario", "simulation.core.rules", "simulation.scenario.levers",
                                    "simulation.experiments.engine"])
def test_light_modules_do_not_load_heavy_libraries(module):
    code = (f"import sys, {module}; heavy = [m for m in ('matplotlib', 'pyarrow', 'mesa', 'solara') if m in sys.modules]; "
            "print(','.join(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_each_module_opens_with_a_sentence_saying_what_it_is_for():
    missing = [m for m in GRAPH if not (ast.get_docstring(ast.parse((REPO_ROOT / Path(*m.split("."))).with_suffix(".py").read_text()
                                                                   if _exists_file(m) else
                                                                   (REPO_ROOT / Path(*m.split(".")) / "__init__.py").read_text())) or "").strip()]
    assert missing == []


def _exists_file(module: str) -> bool:
    return (REPO_ROOT / Path(*module.split("."))).with_suffix(".py").is_file()
