"""The protocol code under emulator/transports/coiot stays sans I/O, like the core (DESIGN.md
principle 1): sockets and the loop live in its udp.py and sockets.py, and in
emulator/transports/mdns.py, only.
aiocoap is allowed here: only its Message encoder and decoder are used."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..test_layering import imported_modules

COIOT = Path(__file__).resolve().parents[2] / "emulator" / "transports" / "coiot"
FORBIDDEN = {"socket", "asyncio", "threading", "time", "selectors", "zeroconf", "flask", "os"}


@pytest.mark.parametrize(
    "path",
    sorted(set(COIOT.glob("*.py")) - {COIOT / "udp.py", COIOT / "sockets.py"}),
    ids=lambda path: path.name,
)
def test_coiot_protocol_modules_do_no_io(path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN
