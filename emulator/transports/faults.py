"""Per-device fault injection: what a flaky real network does to a device, as data.

Transports consult ``host.faults`` (a frozen ``Faults``; the runtime's HTTP gate applies the
HTTP part). The CoIoT transport should send nothing while ``offline or drop_coiot`` and answer
no CoAP request while ``offline``. Changing faults replaces the object, so a transport reading
it once per message always sees one consistent set.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["NO_FAULTS", "FaultError", "Faults"]

#: Upper bound on injected latency: a test waiting longer than this is a mistake.
MAX_LATENCY = 600.0


class FaultError(ValueError):
    """A fault specification that makes no sense (unknown key, bad value)."""


@dataclass(frozen=True, slots=True)
class Faults:
    """``offline``: HTTP requests are dropped (the connection is reset, nothing is answered)
    and no CoIoT is sent or answered; ``latency``: seconds added before every HTTP answer;
    ``error_rate``: probability that an HTTP request is answered ``500`` instead;
    ``drop_coiot``: the device sends no CoIoT datagrams; ``max_connections``: the device holds
    at most this many open HTTP connections and resets new ones over it (0: its own limit), as
    a real Gen1 device with its handful of TCP connections does."""

    offline: bool = False
    latency: float = 0.0
    error_rate: float = 0.0
    drop_coiot: bool = False
    max_connections: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.offline, bool) or not isinstance(self.drop_coiot, bool):
            raise FaultError("offline and drop_coiot must be true or false")
        if not _finite(self.latency) or not 0 <= self.latency <= MAX_LATENCY:
            raise FaultError(f"latency must be 0..{MAX_LATENCY:g} seconds")
        if not _finite(self.error_rate) or not 0 <= self.error_rate <= 1:
            raise FaultError("error_rate must be a probability, 0..1")
        connections = self.max_connections
        if isinstance(connections, bool) or not isinstance(connections, int) or connections < 0:
            raise FaultError("max_connections must be a whole number, 0 (no limit) or more")

    @classmethod
    def parse(cls, data: Mapping[str, Any], base: Faults | None = None) -> Faults:
        """Faults from JSON-like data, over ``base``; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultError(f"unknown fault {unknown[0]!r}; known: {', '.join(sorted(known))}")
        values = asdict(base or NO_FAULTS)
        for key, value in data.items():
            values[key] = _coerce(key, value, type(values[key]))
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def http_gate(self, rng: random.Random) -> Awaitable[bool | int] | None:
        """The HTTP server's gate: None to answer now, else what to wait for (see server.Gate)."""
        if self.offline:
            return _ready(False)
        outcome: bool | int = 500 if self.error_rate and rng.random() < self.error_rate else True
        if self.latency:
            return asyncio.sleep(self.latency, outcome)
        return None if outcome is True else _ready(outcome)


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _coerce(key: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false"):
            return value.lower() in ("1", "true", "yes", "on")
        if not isinstance(value, bool):
            raise FaultError(f"{key} must be true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise FaultError(f"{key} must be a whole number, got {value!r}")
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FaultError(f"{key} must be a number, got {value!r}") from None


async def _ready(outcome: bool | int) -> bool | int:
    return outcome


NO_FAULTS = Faults()
