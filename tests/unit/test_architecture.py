"""The architecture docs/ARCHITECTURE.md describes, checked against the code.

Every import counts (lazy ones and `TYPE_CHECKING` ones too): a cycle hidden behind a function-level
import is still a cycle for whoever reads the code.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bulk_enroll"
STAGES = ("read", "validate", "resolve", "plan", "send", "report", "inbox")
FRONT_ENDS = {"cli", "web", "api"}
JOB_LAYER = {"jobs", "inbox"}  # the inbox runs the `run` job once per file
MAX_FLAT_MODULES = 15


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _imports() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                candidates = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            found.update(c for c in candidates if c in modules and c != name)
        graph[name] = found
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules along it, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_no_import_cycles() -> None:
    assert _cycle(_imports()) is None


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_each_stage_has_its_package() -> None:
    for stage in STAGES:
        assert (PACKAGE / stage / "__init__.py").is_file(), stage
        assert len(list((PACKAGE / stage).glob("*.py"))) > 1, f"{stage}/ holds no module"


def test_few_modules_stay_flat() -> None:
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(flat) <= MAX_FLAT_MODULES, flat


@pytest.mark.parametrize(
    ("stage", "above"),
    [
        *((stage, FRONT_ENDS | JOB_LAYER) for stage in STAGES if stage not in JOB_LAYER),
        *((layer, FRONT_ENDS | JOB_LAYER) for layer in ("transport", "settings", "sandbox")),
        ("inbox", FRONT_ENDS),
        ("jobs", FRONT_ENDS | {"inbox"}),
    ],
)
def test_stages_never_import_the_layers_above_them(stage: str, above: set[str]) -> None:
    upward = {
        f"{module} -> {target}"
        for module, targets in _imports().items()
        if _top(module) == stage
        for target in targets
        if _top(target) in above
    }
    assert not upward


def test_architecture_page_names_only_modules_that_exist() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+/)?([a-z_]+\.py)`", text))
    assert named, "the page names no module"
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    for package in packages - {"__pycache__"}:
        assert f"`{package}/`" in text, f"docs/ARCHITECTURE.md does not describe {package}/"
    existing = {p.name for p in PACKAGE.rglob("*.py")}
    missing = sorted(module for _, module in named if module not in existing)
    assert not missing, f"docs/ARCHITECTURE.md names modules that do not exist: {missing}"


# Distribution names whose import name differs.
IMPORT_NAMES = {"python-calamine": "python_calamine", "charset-normalizer": "charset_normalizer"}


def _runtime_dependencies(extra: str | None = None) -> set[str]:
    """Import names of the core's dependencies, or of one extra's."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["optional-dependencies"].get(extra, []) if extra else project["dependencies"]
    names = {re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0] for spec in specs}
    return {IMPORT_NAMES.get(name, name.lower().replace("-", "_")) for name in names}


def _third_party_imports() -> set[str]:
    import sys

    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return {name for name in found if name not in sys.stdlib_module_names} - {"bulk_enroll"}


def test_every_runtime_dependency_is_imported_by_the_package() -> None:
    assert _runtime_dependencies() - _third_party_imports() == set()


def test_every_third_party_import_is_declared() -> None:
    declared = _runtime_dependencies() | _runtime_dependencies("web")
    assert _third_party_imports() - declared == set()
