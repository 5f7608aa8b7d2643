"""The package layout holds: stage deps cover each stage's import closure, roles import
each other only through their package surfaces, and the role graph has no cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pipeline"
ROLES = ("data", "models", "training", "decoding", "inference", "evaluation", "tracking", "app")


def module_file(name: str) -> Path | None:
    """The file that defines module `name` (`pipeline.x.y`), or None if it is not a module."""
    base = ROOT.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def imported_modules(path: Path, submodules: bool = True) -> set[str]:
    """Every `pipeline...` module a file imports, at any depth (function-level ones too).

    `submodules`: count `from package import name` as importing `package.name` when that
    is a module (Python loads it); False keeps only the module named in the statement.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pipeline"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipeline"):
            found.add(node.module)
            # `from pipeline.data import iam` imports the submodule when there is one
            if submodules:
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if module_file(m) is not None}


def with_parents(module: str) -> list[str]:
    """A module and the packages Python executes before it (`a`, `a.b`, `a.b.c`)."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def import_closure(entry: str) -> set[Path]:
    """All project files that importing module `entry` executes (statically)."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        for module in with_parents(todo.pop()):
            if module not in seen:
                seen.add(module)
                todo.extend(imported_modules(module_file(module)))
    return {module_file(m).relative_to(ROOT) for m in seen}


def uncovered(files: Iterable[Path], deps: Iterable[str]) -> list[Path]:
    """Files that no dep (a file or a folder) covers."""
    dep_paths = [Path(d) for d in deps]
    return sorted(f for f in files if not any(f == d or d in f.parents for d in dep_paths))


def stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def entry_module(cmd: str) -> str:
    words = cmd.split()
    return words[words.index("-m") + 1]


@pytest.mark.parametrize("stage", sorted(stages()))
def test_stage_deps_cover_the_import_closure(stage: str) -> None:
    spec = stages()[stage]
    closure = import_closure(entry_module(spec["cmd"]))
    assert Path("pipeline/common/config.py") in closure  # the closure really was walked
    assert uncovered(closure, spec["deps"]) == []


def test_the_check_fails_when_a_folder_is_missing_from_the_deps() -> None:
    spec = stages()["train"]
    deps = [d for d in spec["deps"] if d != "pipeline/models"]
    missing = uncovered(import_closure(entry_module(spec["cmd"])), deps)
    assert Path("pipeline/models/builders.py") in missing


def role_of(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    return parts[1] if len(parts) > 2 and parts[0] == "pipeline" and parts[1] in ROLES else None


def project_files() -> list[Path]:
    return [*PACKAGE.rglob("*.py"), ROOT / "streamlit_app.py"]


def test_roles_import_each_other_only_through_package_surfaces() -> None:
    offending = []
    for path in project_files():
        for module in imported_modules(path, submodules=False):
            parts = module.split(".")
            crosses = len(parts) > 2 and parts[1] in ROLES and parts[1] != role_of(path)
            if crosses and module_file(module).name != "__init__.py":
                offending.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offending == []


def test_the_role_graph_points_one_way() -> None:
    edges: dict[str, set[str]] = {role: set() for role in (*ROLES, "common")}
    for path in PACKAGE.rglob("*.py"):
        source = role_of(path) or ("common" if "common" in path.parts else None)
        if source is None:
            continue
        for module in imported_modules(path):
            parts = module.split(".")
            target = parts[1] if len(parts) > 1 else None
            if target in edges and target != source:
                edges[source].add(target)
    assert edges["common"] == set(), "common imports no role"
    order: list[str] = []
    remaining = dict(edges)
    while remaining:
        ready = [r for r, targets in remaining.items() if targets <= set(order)]
        assert ready, f"import cycle among roles: {remaining}"
        order.extend(sorted(ready))
        for r in ready:
            del remaining[r]
