"""bulk_enroll uses only the public API of the libraries it depends on: no import of a module or
name with a leading underscore from outside the package, no `obj._attribute` unless the module
itself defines `_attribute` (a method or attribute of its own classes), no getattr/setattr/
hasattr of such a private name. Private API changes without notice in any release (the report
writer once patched openpyxl's write-only internals, gated on one version)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bulk_enroll

PACKAGE = Path(bulk_enroll.__file__).parent
OWN_NAMES = ("self", "cls")
ATTRIBUTE_FUNCTIONS = ("getattr", "setattr", "hasattr", "delattr")
# Uses that look private and are not private API of a library, each with the reason.
ALLOWED = {
    "etree._Element": "lxml's element type: documented API that lxml names with an underscore",
    "handler._bulk_enroll": "our own marker on the logging handlers bulk_enroll installs",
    "getattr(..., '_bulk_enroll')": "reads that marker back",
}


def is_private(name: str) -> bool:
    """`_name` is private; `__name__` (dunder) is public by convention."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def own_private_names(tree: ast.Module) -> set[str]:
    """Private names the module defines for its own classes: methods, class attributes and
    attributes it assigns on `self` or `cls`."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    names.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
                elif isinstance(item, ast.Assign):
                    names.update(t.id for t in item.targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in OWN_NAMES
        ):
            names.add(node.attr)
    return {name for name in names if is_private(name)}


def private_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) for every use of private API of another package in `source`."""
    found: list[tuple[int, str]] = []
    tree = ast.parse(source)
    own = own_private_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _own(alias.name) and any(map(is_private, alias.name.split("."))):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if _own(node.module):
                continue
            parts = [*node.module.split("."), *(alias.name for alias in node.names)]
            if any(map(is_private, parts)):
                names = ", ".join(alias.name for alias in node.names)
                found.append((node.lineno, f"from {node.module} import {names}"))
        elif isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in own:
            if not (isinstance(node.value, ast.Name) and node.value.id in OWN_NAMES):
                found.append((node.lineno, f"{ast.unparse(node.value)}.{node.attr}"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ATTRIBUTE_FUNCTIONS
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and is_private(node.args[1].value)
            and node.args[1].value not in own
            and not (isinstance(node.args[0], ast.Name) and node.args[0].id in OWN_NAMES)
        ):
            found.append((node.lineno, f"{node.func.id}(..., {node.args[1].value!r})"))
    return found


def _own(module: str) -> bool:
    return module == "bulk_enroll" or module.startswith("bulk_enroll.")


def test_no_module_of_the_package_uses_private_api_of_another():
    offences = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {what}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, what in private_uses(path.read_text(encoding="utf-8"))
        if what not in ALLOWED
    ]
    assert not offences, "private API used:\n" + "\n".join(offences)


@pytest.mark.parametrize(
    "source",
    [
        "from openpyxl.worksheet._write_only import WriteOnlyWorksheet",
        "import openpyxl.worksheet._write_only",
        "from openpyxl.cell.cell import _helper",
        "cell._value = 1",
        "cell._style = style",
        "sheet._values_to_row = MethodType(f, sheet)",
        "x = template._style",
        "book.worksheets[0]._charts",
        "hasattr(sheet, '_values_to_row')",
        "setattr(cell, '_value', 1)",
        "class Maker:\n    def _make(self): ...\ncell._value = Maker()._make()",
    ],
)
def test_the_check_finds_private_api(source):
    assert private_uses(source), source


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations",
        "from bulk_enroll.report._internal import helper",
        "self._seen = {}",
        "cls._cache.clear()",
        "name = obj.__class__.__name__",
        "from xlsxwriter.workbook import Workbook",
        "getattr(series, 'dLbls')",
        "class Token:\n    def _listen(self): ...\ndef use(token):\n    token._listen()",
        "class Sender:\n    def __init__(self):\n        self._budget = 1\nother._budget -= 1",
    ],
)
def test_the_check_allows_public_api_and_our_own_internals(source):
    assert private_uses(source) == []
