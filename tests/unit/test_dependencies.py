"""The runtime dependencies are declared once: pyproject.toml's match the Lambda layer's pins, and
they are exactly what the function imports (with what those need in turn)."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = ROOT / "functions" / "scrape_push"


def declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}


def pinned() -> dict[str, Requirement]:
    lines = (ROOT / "layers" / "deps" / "requirements.txt").read_text().splitlines()
    found = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {canonicalize_name(r.name): r for r in found}


def imported_distributions() -> set[str]:
    """The distributions of every third-party module the function's code imports."""
    modules = set()
    for path in [FUNCTION / "app.py", *(FUNCTION / "scrape_push").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"scrape_push", "__future__"}
    owners = importlib.metadata.packages_distributions()
    return {canonicalize_name(dist) for module in third_party for dist in owners[module]}


def with_requirements(names: set[str]) -> set[str]:
    """``names`` and everything they require (transitively), extras left out."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return found


def test_pyproject_declares_what_the_layer_pins() -> None:
    project, layer = declared(), pinned()
    assert sorted(project) == sorted(layer)
    for name, pin in layer.items():
        (exact,) = pin.specifier
        assert project[name].specifier.contains(exact.version), f"{name} {exact.version} vs {project[name]}"


def test_the_declared_dependencies_are_what_the_function_imports() -> None:
    project = set(declared())
    used = imported_distributions()
    assert project - used == set(), "declared but never imported"
    assert used - with_requirements(project) == set(), "imported but not declared"
