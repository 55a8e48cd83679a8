"""The layout's rules (ARCHITECTURE.md): no import circle between modules, no source file over 400 lines,
and the public names the README shows import from where it says.

Imports are read with the standard library's `ast`, inside functions too (a circle through a
function-level import is still a circle); imports under ``if TYPE_CHECKING:`` are left out,
since they never run.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
SOURCE_FOLDERS = ("decdiff", "implementations", "properties", "theory", "tests", "benchmarks")


def _module_files() -> dict[str, Path]:
    """Import name -> file, for every module of the installed packages (pyproject's list and mapping)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = setuptools["package-dir"]
    modules = {}
    for package in setuptools["packages"]:
        mapped = max((name for name in folders if package == name or package.startswith(name + ".")), key=len)
        folder = ROOT / folders[mapped] / package[len(mapped):].lstrip(".").replace(".", "/")
        for path in folder.glob("*.py"):
            modules[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The known modules that module `name` imports anywhere in its body (not under TYPE_CHECKING)."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return (found & known) - {name}


def import_graph() -> dict[str, set[str]]:
    modules = _module_files()
    return {name: _imported(name, path, set(modules)) for name, path in modules.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return cycles


def test_the_graph_sees_function_level_imports_and_finds_a_planted_circle():
    graph = import_graph()
    assert "decdiff.checking.registry" in graph["decdiff.cli.verify"]       # imported inside run_verify
    planted = {name: set(edges) for name, edges in graph.items()}
    planted["decdiff.errors"].add("decdiff.cli")                            # cli imports errors
    assert any({"decdiff.errors", "decdiff.cli"} <= set(c) for c in import_cycles(planted))


def test_no_import_circle_between_modules():
    cycles = import_cycles(import_graph())
    assert not cycles, "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_ground_floor_imports_no_top_floor():
    """errors, tolerances, results, claims and files import nothing of the harness above them."""
    graph = import_graph()
    ground = {"decdiff.errors", "decdiff.tolerances", "decdiff.results", "decdiff.claims", "decdiff.files"}
    for module in ground:
        assert graph[module] <= ground, (module, graph[module] - ground)


#: Each middle floor and the packages above it, which it must not import.
ABOVE = {
    "decdiff.implementations": ("decdiff.properties", "decdiff.checking", "decdiff.parallel", "decdiff.report",
                                "decdiff.bench", "decdiff.cli"),
    "decdiff.theory": ("decdiff.properties", "decdiff.checking", "decdiff.parallel", "decdiff.report",
                       "decdiff.bench", "decdiff.cli"),
    "decdiff.properties": ("decdiff.checking", "decdiff.parallel", "decdiff.report", "decdiff.bench", "decdiff.cli"),
    "decdiff.checking": ("decdiff.parallel", "decdiff.report", "decdiff.bench", "decdiff.cli"),
    "decdiff.parallel": ("decdiff.report", "decdiff.bench", "decdiff.cli"),
    "decdiff.report": ("decdiff.bench", "decdiff.cli"),
}


@pytest.mark.parametrize("floor", sorted(ABOVE))
def test_no_floor_imports_a_floor_above_it(floor):
    graph = import_graph()
    wrong = {module: sorted(m for m in imports if m.startswith(ABOVE[floor]))
             for module, imports in graph.items() if module.startswith(floor)}
    assert not {module: imports for module, imports in wrong.items() if imports}


def test_no_source_file_is_over_400_lines():
    long = {}
    for folder in SOURCE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                long[str(path.relative_to(ROOT))] = lines
    assert not long, long


def _readme_names() -> set[str]:
    """Every dotted ``decdiff.…`` name the README shows: ``from M import a, b`` and ``decdiff.NAME(`` in its
    Python code, and every backticked ``decdiff.…`` path in its text."""
    readme = (ROOT / "README.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", readme, flags=re.S))
    names = {f"{m}.{n.strip()}" for m, imported in re.findall(r"^from (decdiff[\w.]*) import ([\w, ]+)$", code, flags=re.M)
             for n in imported.split(",")}
    names |= {f"decdiff.{n}" for n in re.findall(r"\bdecdiff\.(\w+)\(", code)}
    names |= set(re.findall(r"`(decdiff(?:\.\w+)+)`", readme))
    return names


def _resolve(dotted: str) -> object:
    """The module or attribute `dotted` names: the longest importable module prefix, then attributes."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("dotted", sorted(_readme_names()))
def test_every_public_name_the_readme_shows_imports(dotted):
    assert _resolve(dotted) is not None


def test_the_readme_shows_the_public_entry_points():
    assert {"decdiff.load_model", "decdiff.testing.parametrize_with_checks"} <= _readme_names()


def test_a_name_that_does_not_exist_is_not_resolved():
    with pytest.raises(AttributeError):
        _resolve("decdiff.testing.no_such_function")


def test_the_pytest_plugin_entry_point_loads():
    from importlib.metadata import entry_points

    (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "decdiff"]
    assert hasattr(plugin.load(), "pytest_addoption")
