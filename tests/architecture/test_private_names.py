"""No module reaches into another module's private names (`_name`): what a module shares, it names publicly.

import-linter (the contracts in pyproject.toml, run by `make test`) sees modules, not names, so this part of the
import rules is read here from the syntax trees: `from m import _x`, and `m._x` where `m` is an imported module.
Libraries' privates count too (nameko's, kombu's): reaching into them breaks on their next release.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for p in (ROOT / "services").rglob("*.py") if "migrations" not in p.parts)


# Underscored names that are the libraries' documented public API.
ALLOWED = {
    # lxml's public classes are named with an underscore (_Element, _ElementTree, _LogEntry, _ListErrorLog);
    # lxml's API reference and its type stubs use them as the types.
    "etree._Element",
    "etree._ElementTree",
    "etree._LogEntry",
    "etree._ListErrorLog",
    "os._exit",  # the documented way for a forked child to end without running the parent's cleanup
    "current_app._get_current_object",  # Flask's documented way to get the app behind its proxy
}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def reaches(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    modules: set[str] = set()  # local names bound to imported modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{path.relative_to(root)}:{node.lineno} from {node.module} import {alias.name}")
                else:
                    # `from services.gateway.api import funding` binds a module; `from x import Name` may too.
                    modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and f"{node.value.id}.{node.attr}" not in ALLOWED
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno} {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_of_another_module(path: Path) -> None:
    assert reaches(path) == []


def test_the_check_sees_both_forms(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from a.b import _hidden\nfrom a import c\nimport d\nc._x()\nd._y\nd.__name__\n")
    found = reaches(sample, tmp_path)
    assert sorted(f.split(" ", 1)[1] for f in found) == ["c._x", "d._y", "from a.b import _hidden"]

