"""Layering: `app.core` imports nothing from the rest of `app`, and MATRIZ does not import
the memory and session packages that import it, nor the API that drives it."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any level (a TYPE_CHECKING import counts too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def test_core_imports_nothing_else_of_the_app() -> None:
    modules = sorted((APP / "core").rglob("*.py"))
    assert modules, "app/core has modules"
    wrong = {f"{path.relative_to(APP)}: {name}" for path in modules for name in _imports(path)
             if _within(name, "app") and not _within(name, "app.core")}
    assert not wrong, sorted(wrong)


def test_matriz_imports_neither_memory_nor_sessions() -> None:
    # They import MATRIZ (its contract, its turn helpers); the Memory stage reads them
    # through the Protocols it defines.
    wrong = {f"{path.relative_to(APP)}: {name}" for path in sorted((APP / "matriz").rglob("*.py"))
             for name in _imports(path)
             if _within(name, "app.memory") or _within(name, "app.sessions")}
    assert not wrong, sorted(wrong)


def test_matriz_imports_nothing_of_the_api() -> None:
    # The routes drive MATRIZ; what turns a request type into an upstream's parameters lives
    # with the routes (app/api/upstream_params.py).
    wrong = {f"{path.relative_to(APP)}: {name}" for path in sorted((APP / "matriz").rglob("*.py"))
             for name in _imports(path) if _within(name, "app.api")}
    assert not wrong, sorted(wrong)
