"""The simulated physical world around one device: loads, switches, radio, temperature.

Pure data; the device's ``world_*`` actions change it inside a transaction so that meters,
overpower and inputs react exactly as firmware would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["WorldState"]


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

    def load(self, channel: int) -> float:
        return self.loads.get(channel, 0.0)
