"""The simulated physical world around one device: loads, switches, radio, temperature, and
what battery sensors measure (room climate, light, motion, smoke, their own battery).

Pure data; the device's ``world_*`` actions change it inside a transaction so that meters,
overpower and inputs react exactly as firmware would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SENSED", "WorldState"]

#: Quantities the sensor models measure, with the range a caller may set (``None``: a bool).
#: The limits are the physical ones (an SHT3x reads -40..125 degC), not a model's settings.
SENSED: dict[str, tuple[float, float] | None] = {
    "temperature": (-40.0, 125.0),
    "humidity": (0.0, 100.0),
    "lux": (0.0, 100_000.0),
    "battery": (0.0, 100.0),
    "motion": None,
    "charger": None,
    "smoke": None,
}


@dataclass(slots=True)
class WorldState:
    """What the device's sensors and terminals see."""

    #: Watts each output channel's load draws while the output is on.
    loads: dict[int, float] = field(default_factory=dict)
    #: Watts a roller motor draws while moving (obstacle detection reads it).
    motor_power: dict[int, float] = field(default_factory=dict)
    #: Seconds a roller mechanism really takes end to end (calibration measures it).
    travel_time: dict[int, float] = field(default_factory=dict)
    rssi: int = -58
    ram_free: int = 39972
    device_temperature: float = 27.0
    overtemperature: bool = False
    #: Room climate as the H&T, Smoke and Sense read it (degC, %RH) and light level (lux).
    temperature: float = 22.0
    humidity: float = 50.0
    lux: float = 120.0
    #: The PIR sees someone moving (the Sense's ``motion`` flag then lingers, see sensors.py).
    motion: bool = False
    #: Battery charge in percent; the Sense's USB charger plugged in; smoke in the chamber.
    battery: float = 100.0
    charger: bool = False
    smoke: bool = False

    def load(self, channel: int) -> float:
        return self.loads.get(channel, 0.0)
