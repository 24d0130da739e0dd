"""Power meter: instantaneous power from the loads it measures, energy integrated exactly on
the injected clock (``total`` in watt-minutes since boot, ``counters`` = the last three whole
minutes), as Gen1 /status ``meters`` and /meter/N show them (captures SHPLG-S, SHSW-21)."""

from __future__ import annotations

import math
from typing import Any

from .clock import Now
from .component import Component
from .params import Params

__all__ = ["Meter"]


class Meter(Component, kind="meter"):
    """What it measures is the profile's ``measures``: ``channel`` (the output with its own
    index), ``all`` (every active output and roller: Shelly2's single meter), ``declared``
    (Shelly1: the load power the user declared in relay settings) or ``none``."""

    collection = "meters"
    ROUTES = {"meter/{i}": "http_meter"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.total = 0.0
        self.minutes: dict[int, float] = {}
        self.settled_unix: float | None = None
        self.overpower_value = 0.0
        super().__init__(*args, **kwargs)

    def power(self) -> float:
        measures = self.spec.options.get("measures", "channel")
        outputs = [
            c for c in self.device.components if c.kind in ("relay", "roller", "light") and c.active
        ]
        if measures == "all":
            return sum(c.power() for c in outputs)
        if measures == "declared":
            return sum(
                c.config.get("power", 0.0) for c in outputs if c.channel == self.channel and c.ison
            )
        if measures == "channel":
            return sum(c.power() for c in outputs if c.channel == self.channel)
        return 0.0

    def settle(self, now: Now) -> None:
        """Add the energy drawn since the last settle; power was constant in between."""
        start = self.settled_unix
        self.settled_unix = now.unix
        if start is None or now.unix <= start:
            return
        power = self.power()
        if not power:
            return
        self.total += power * (now.unix - start) / 60
        first = max(math.floor(start / 60), math.floor(now.unix / 60) - 3)
        for minute in range(first, math.floor(now.unix / 60) + 1):
            overlap = min(now.unix, (minute + 1) * 60) - max(start, minute * 60)
            if overlap > 0:
                self.minutes[minute] = self.minutes.get(minute, 0.0) + power * overlap / 60
        for old in [m for m in self.minutes if m < math.floor(now.unix / 60) - 3]:
            del self.minutes[old]

    def steady(self) -> bool:
        return not self.power()  # energy integrates continuously while power is drawn

    def note_overpower(self, channel: int, power: float) -> None:
        if self.spec.options.get("measures") == "all" or channel == self.channel:
            self.overpower_value = round(power, 2)

    # --- fields ------------------------------------------------------------------------------

    def f_power(self, now: Now) -> float:
        return round(self.power(), 2)

    def f_overpower(self, now: Now) -> float:
        return self.overpower_value

    def f_is_valid(self, now: Now) -> bool | str:
        """The profile's ``is_valid``: SHBLB-1 writes the string "true" (captures status__1,
        status__3), the other models a bool."""
        value: bool | str = self.spec.options.get("is_valid", True)
        return value

    def f_timestamp(self, now: Now) -> int:
        """Local time, as firmware writes it (capture SHPLG-S 1.14: unixtime + utc offset)."""
        return int(now.unix) + int(self.device.config.get("tz_utc_offset") or 0)

    def f_counters(self, now: Now) -> list[float]:
        self.settle(now)
        minute = math.floor(now.unix / 60)
        return [round(self.minutes.get(minute - back, 0.0), 3) for back in (1, 2, 3)]

    def f_total(self, now: Now) -> int:
        self.settle(now)
        return int(self.total)

    def http_meter(self, params: Params, now: Now) -> dict[str, Any]:
        return self.status_view(now)

    def boot(self, now: Now, power_on: bool) -> None:
        """Gen1 meters count from boot: a reboot or power cycle starts ``total`` at zero."""
        self.total = 0.0
        self.minutes.clear()
        self.overpower_value = 0.0
        self.settled_unix = now.unix
