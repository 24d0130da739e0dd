"""Read ``tests/data/captures`` and ``tests/data/coiot``: bodies, endpoint, firmware."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.conformance.schemas import parse_fw
from tests.datafiles import CAPTURES, COIOT_PAYLOADS

_NAME = re.compile(r"^(?P<endpoint>[a-z_]+?)(?:_(?P<channel>\d+))?__\d+$")
_MACLIKE = re.compile(r"^[0-9A-FX]{12}$")
_HOSTLIKE = re.compile(r"^(?P<prefix>shelly[a-z0-9-]*-)(?P<id>[0-9A-FX]{6}|[0-9A-FX]{12})$")


@dataclass(frozen=True)
class Capture:
    """One captured body and what it is: ``SHSW-1/status__3.json`` at firmware ``fw``."""

    model: str
    endpoint: str
    fw: str
    path: Path

    @property
    def id(self) -> str:
        return f"{self.model}/{self.path.stem}@{'.'.join(map(str, parse_fw(self.fw)))}"

    def body(self) -> Any:
        return unredact(json.loads(self.path.read_text()))


def _firmware_line(source: Path) -> str:
    for line in source.read_text().splitlines():
        if line.startswith("firmware:"):
            return line.removeprefix("firmware:").strip()
    raise ValueError(f"{source}: no 'firmware:' line")


def captures() -> list[Capture]:
    """Every ``captures/<MODEL>/<endpoint>[_<n>]__<k>.json`` with the firmware from its source."""
    found = []
    for path in sorted(CAPTURES.glob("*/*.json")):
        match = _NAME.match(path.stem)
        if match is None:
            raise ValueError(f"{path}: unexpected capture name")
        source = path.with_suffix(".source.txt")
        found.append(Capture(path.parent.name, match["endpoint"], _firmware_line(source), path))
    if not found:
        raise FileNotFoundError(f"no captures under {CAPTURES}")
    return found


def coiot_descriptions() -> list[Capture]:
    """``spec/coiot/<MODEL>[_variant]_citd.json`` as cit_d captures.

    Their sources name no exact firmware, only the protocol generation, so the firmware is the
    first of that generation: v2 descriptions came with fw 1.8.0 (coiot.md 3.2), the later v1
    ones are from 1.5.x, the early v1 ones (with ``act``) from 1.4.x; the 4Pro stayed v1 to its
    last firmware, 1.6.
    """
    generation = {"v1early": "v1.4.0", "v1": "v1.5.0", "roller": "v1.8.0", "": "v1.8.0"}
    found = []
    for path in sorted(COIOT_PAYLOADS.glob("*_citd.json")):
        model, _, variant = path.stem.removesuffix("_citd").partition("_")
        version = "v1.6.0" if model == "SHSW-44" and not variant else generation[variant]
        found.append(Capture(model, "cit_d", f"spec/{version}", path))
    return found


def unredact(value: Any) -> Any:
    """Undo the 'X' redaction some capture authors applied to MACs and hostnames.

    Real firmware writes hex (``XX50E3376D1F`` was ``CC50E3376D1F``; see the captures'
    ``redacted:`` lines), so the schemas keep requiring hex and the test data is mapped back to a
    hex placeholder instead.
    """
    if isinstance(value, dict):
        return {k: unredact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unredact(v) for v in value]
    if isinstance(value, str):
        if _MACLIKE.match(value):
            return value.replace("X", "0")
        if match := _HOSTLIKE.match(value):
            return match["prefix"] + match["id"].replace("X", "0")
    return value
