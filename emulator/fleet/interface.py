"""The fleet as the control API and its dashboard see it: protocols, so that control.py,
dashboard.py and feed.py never import fleet.py (which offers them as ``fleet.control``) nor each
other's modules back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Protocol

from ..runtime import DeviceHost, Runtime
from .spec import DeviceSpec

__all__ = ["ControlledFleet", "ControlledMember", "FleetControl"]


class ControlledMember(Protocol):
    """A device of the fleet (fleet.Member is one)."""

    spec: DeviceSpec
    host: DeviceHost

    @property
    def id(self) -> str: ...


class ControlledFleet(Protocol):
    """The fleet the control API drives (fleet.Fleet is one)."""

    runtime: Runtime

    def __iter__(self) -> Iterator[ControlledMember]: ...

    def find(self, key: str) -> ControlledMember: ...

    def reset(self) -> None: ...


class FleetControl(Protocol):
    """The control API as its dashboard and live feed see it (control.Control is one)."""

    fleet: ControlledFleet
    runtime: Runtime
    #: The control API's HTTP server while it is served (``serve``).
    server: asyncio.Server | None
