"""The layers hold: emulator/core stays pure (no sockets, threads, event loops or wall clock,
DESIGN.md 1), and the import contract in pyproject.toml (import-linter) is kept: no import
cycle, no room importing a room above it (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "emulator" / "core"
FORBIDDEN = {
    "time",
    "socket",
    "asyncio",
    "threading",
    "flask",
    "aiocoap",
    "zeroconf",
    "websockets",
    "requests",
    "httptools",
    "os",
    "subprocess",
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_does_no_io(path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN


def test_import_contract_is_kept() -> None:
    """Every contract of pyproject.toml's [tool.importlinter] (the report is in the output)."""
    assert lint_imports(str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0
