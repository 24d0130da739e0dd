"""Sensors of the battery models (seed 003 "Shelly H&T", "Shelly Smoke", "Shelly Sense"
/status): temperature, humidity, light, motion, battery, charger and smoke.

They fill live template tokens (``tmp: {value: $tmp_value, units: $tmp_units, ...}``), so each
profile keeps the keys and order of its captures; the values come from the simulated world.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from .clock import Now
from .common import get_path
from .component import Component, Provider
from .world import SENSED

__all__ = ["UNIT_PATH", "Sensors", "fahrenheit"]

#: Where every sensor model keeps its temperature unit, C or F (captures SHHT-1 settings__1,
#: SHSEN-1 settings__1; docs example SHSM-01 settings).
UNIT_PATH = ("sensors", "temperature_unit")
#: Seconds the Sense's ``motion`` flag stays up after the PIR stops (capture SHSEN-1 settings).
MOTION_DURATION_PATH = ("sensors", "motion_duration")


def fahrenheit(celsius: float) -> float:
    return celsius * 9 / 5 + 32


class Sensors(Component, kind="sensors"):
    """The device's sensor set. Profile options: ``senses`` (the world quantities the model
    measures, see world.SENSED), ``precision`` (quantity -> decimals shown:
    H&T writes 24.62, the Sense 24.249284) and ``battery_voltage`` ([[percent, volts], ...],
    interpolated, for models that report ``bat.voltage``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unknown = set(self.spec.options.get("senses", ())) - set(SENSED)
        if unknown:
            raise ValueError(f"sensors: unknown quantities {sorted(unknown)} (see world.SENSED)")
        self.motion = False
        curve = self.spec.options.get("battery_voltage")
        self.curve = sorted((float(p), float(v)) for p, v in curve) if curve else None

    def unit(self) -> str:
        return str(get_path(self.device.config, UNIT_PATH))

    def _round(self, quantity: str, value: float) -> float:
        return round(value, int((self.spec.options.get("precision") or {}).get(quantity, 2)))

    def temperature(self, unit: str) -> float:
        """The room temperature in ``unit`` (C or F), rounded as the model writes it."""
        celsius = self.device.world.temperature
        return self._round("temperature", fahrenheit(celsius) if unit == "F" else celsius)

    def battery_voltage(self) -> float:
        """A model, not a measurement: linear between the profile's (percent, volts) points,
        which come from captures (H&T 97 % = 2.93 V, 86 % = 2.91 V; Smoke 71 % = 2.74 V)."""
        assert self.curve is not None
        percent = self.device.world.battery
        index = min(max(bisect_right(self.curve, (percent, float("inf"))), 1), len(self.curve) - 1)
        (p0, v0), (p1, v1) = self.curve[index - 1], self.curve[index]
        return round(v0 + (v1 - v0) * (percent - p0) / (p1 - p0), 2)

    def live_tokens(self) -> dict[str, Provider]:
        world = self.device.world
        tokens: dict[str, Provider] = {
            "tmp_value": lambda now: self.temperature(self.unit()),
            "tmp_units": lambda now: self.unit(),
            "tmp_c": lambda now: self.temperature("C"),
            "tmp_f": lambda now: self.temperature("F"),
            "hum_value": lambda now: self._round("humidity", world.humidity),
            "lux_value": lambda now: self._round("lux", world.lux),
            "bat_value": lambda now: round(world.battery),
            "motion": lambda now: self.motion,
            "charger": lambda now: world.charger,
            "smoke": lambda now: world.smoke,
        }
        if self.curve is not None:
            tokens["bat_voltage"] = lambda now: self.battery_voltage()
        return tokens

    # --- behaviour ---------------------------------------------------------------------------

    @property
    def _motion_key(self) -> str:
        return f"{self.key}:motion"

    def on_world(self, quantity: str, now: Now) -> None:
        """The PIR: ``motion`` rises with movement and falls motion_duration s after it stops."""
        if quantity != "motion":
            return
        if self.device.world.motion:
            self.device.timers.cancel(self._motion_key)
            self.motion = True
        elif self.motion:
            linger = float(get_path(self.device.config, MOTION_DURATION_PATH))
            self.device.schedule(self._motion_key, now.mono + linger, self._motion_over)

    def _motion_over(self, now: Now) -> None:
        self.motion = False
        self.device.status_changed(f"{self.key} motion over")

    def boot(self, now: Now, power_on: bool) -> None:
        self.motion = self.device.world.motion
