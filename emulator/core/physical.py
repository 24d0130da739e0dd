"""World actions on a device's peripherals, apart from device.py to keep that module small:
the add-on (plug probes in, set their readings and its input), the radio and the roller
mechanism. Each runs inside the device's transaction, so every channel sees its effect.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from .clock import Now
from .errors import BadRequest, NotFound

if TYPE_CHECKING:
    from .addon import Addon
    from .component import Component
    from .profile import Profile
    from .world import WorldState

__all__ = ["PhysicalActions"]


class PhysicalActions:
    """Mixed into Device (core/device.py), whose transaction, world and components it uses."""

    if TYPE_CHECKING:
        profile: Profile
        world: WorldState

        def of_kind(self, kind: str) -> list[Component]: ...

        def transaction(self, now: Now) -> AbstractContextManager[None]: ...

        def status_changed(self, reason: str) -> None: ...

    def _addon(self) -> Addon:
        found = self.of_kind("addon")
        if not found:
            model = self.profile.model
            raise NotFound(f"{model} has no add-on port (the Shelly 1 and 1PM have one)")
        addon: Addon = found[0]  # type: ignore[assignment]  # the "addon" kind is an Addon
        return addon

    def _peripheral(self, now: Now, action: Callable[[], None]) -> None:
        with self.transaction(now):
            action()

    def world_plug_addon(self, sensors: str, count: int = 1, *, now: Now) -> None:
        """Plug sensors into the add-on: ``ds18b20`` (``count`` 1..3 probes), ``dht22`` (one),
        or ``none`` to unplug them."""
        addon = self._addon()
        self._peripheral(now, lambda: addon.plug(sensors, count))

    def world_set_ext_temperature(self, index: int, celsius: float, now: Now) -> None:
        """Add-on probe ``index`` reads ``celsius`` (-55..125; 999: the probe does not answer)."""
        addon = self._addon()
        self._peripheral(now, lambda: addon.set_temperature(index, celsius))

    def world_set_ext_humidity(self, percent: float, now: Now) -> None:
        """The add-on's DHT22 reads ``percent`` %RH (999: invalid)."""
        addon = self._addon()
        self._peripheral(now, lambda: addon.set_humidity(percent))

    def world_set_ext_input(self, level: bool, now: Now) -> None:
        """The add-on's digital input is closed (True) or open."""
        addon = self._addon()
        self._peripheral(now, lambda: addon.set_input(level))

    def world_set_travel_time(self, channel: int, seconds: float) -> None:
        """How long the real mechanism takes end to end (what calibration measures)."""
        if seconds <= 0:
            raise BadRequest("travel time must be > 0 s")
        self.world.travel_time[channel] = float(seconds)

    def world_set_rssi(self, rssi: int, now: Now) -> None:
        with self.transaction(now):
            self.world.rssi = int(rssi)
            self.status_changed("rssi")
