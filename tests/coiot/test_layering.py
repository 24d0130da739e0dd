"""The protocol code under emulator/coiot stays sans I/O, like the core (DESIGN.md principle 1):
sockets live in emulator/coiot_udp.py and emulator/mdns.py only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import emulator

FORBIDDEN = {"socket", "asyncio", "threading", "time", "selectors", "zeroconf", "flask"}
PACKAGE = Path(emulator.__file__).parent


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "coiot").glob("*.py")), ids=lambda path: path.name
)
def test_coiot_protocol_modules_do_no_io(path: Path) -> None:
    assert not imported(path) & FORBIDDEN
