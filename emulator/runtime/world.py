"""The simulated physical world of one running device, usable from any thread.

``host.world.set_load(0, 60)``, ``.press(0)``, ``.flip(0)``, ``.power_cycle()``,
``.set_temperature(25)``, ``.set_smoke(True)``: each action runs on the device's loop with the
runtime's clock and dispatches the events it causes, so meters, overpower, thresholds and
wake-ups, CoIoT and the cloud all see it as they would see the real thing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from ..core.clock import Now
from ..core.device import Device

if TYPE_CHECKING:
    from ..core.ir import IrEmission

__all__ = ["World"]

T = TypeVar("T")


class Loop(Protocol):
    """Runs a function on the device's loop thread (the runtime does)."""

    def call(self, fn: Callable[[], T], timeout: float = 30) -> T: ...


class Acted(Protocol):
    """The running device as the world acts on it (host.DeviceHost is one)."""

    device: Device

    @property
    def runtime(self) -> Loop: ...

    def act(self, action: Callable[[Now], T]) -> T: ...


class World:
    """Physical actions on one device."""

    def __init__(self, host: Acted) -> None:
        self._host = host
        self._device = host.device

    def _do(self, action) -> None:  # type: ignore[no-untyped-def]
        self._host.runtime.call(lambda: self._host.act(action))

    def set_load(self, channel: int, watts: float) -> None:
        """Watts the load on output ``channel`` draws while the output is on."""
        self._do(lambda now: self._device.world_set_load(channel, watts, now))

    def set_motor_power(self, channel: int, watts: float) -> None:
        """Watts the roller motor draws while moving (raise it to simulate an obstacle)."""
        self._do(lambda now: self._device.world_set_motor_power(channel, watts, now))

    def set_travel_time(self, channel: int, seconds: float) -> None:
        """End-to-end travel time of the real roller mechanism (what calibration measures)."""
        self._do(lambda now: self._device.world_set_travel_time(channel, seconds))

    def press(self, channel: int = 0, *, long: bool = False) -> None:
        """Push a momentary button (short, or long past ``longpush_time``)."""
        self._do(lambda now: self._device.world_press(channel, now, long=long))

    def set_input(self, channel: int, level: bool) -> None:
        """Move a toggle switch to ``level``."""
        self._do(lambda now: self._device.world_set_input(channel, level, now))

    def flip(self, channel: int = 0) -> None:
        """Move a toggle switch to its other position."""
        self._do(
            lambda now: self._device.world_set_input(
                channel, not self._device._input(channel).level, now
            )
        )

    def set_device_temperature(self, celsius: float) -> None:
        self._do(lambda now: self._device.world_set_device_temperature(celsius, now))

    def set_rssi(self, rssi: int) -> None:
        self._do(lambda now: self._device.world_set_rssi(rssi, now))

    def _sense(self, quantity: str, value: float | bool) -> None:
        self._do(lambda now: self._device.world_sense(quantity, value, now))

    def set_temperature(self, celsius: float) -> None:
        """Room temperature (H&T, Smoke, Sense); beyond the threshold it wakes a sleeper."""
        self._sense("temperature", celsius)

    def set_humidity(self, percent: float) -> None:
        self._sense("humidity", percent)

    def set_lux(self, lux: float) -> None:
        self._sense("lux", lux)

    def set_motion(self, moving: bool) -> None:
        """Someone moves in front of the Sense's PIR (True) or stopped moving (False)."""
        self._sense("motion", moving)

    def set_battery(self, percent: float) -> None:
        """Battery charge; falling to the profile's low level wakes a sleeper ("battery")."""
        self._sense("battery", percent)

    def set_charger(self, plugged: bool) -> None:
        self._sense("charger", plugged)

    def set_smoke(self, smoke: bool) -> None:
        """Smoke in the Smoke's chamber: the alarm wakes it and keeps it awake until cleared."""
        self._sense("smoke", smoke)

    def plug_addon(self, sensors: str, count: int = 1) -> None:
        """Plug sensors into the Shelly 1's add-on: ``ds18b20`` (1..3), ``dht22`` or ``none``."""
        self._do(lambda now: self._device.world_plug_addon(sensors, count, now=now))

    def set_ext_temperature(self, index: int, celsius: float) -> None:
        """Add-on probe ``index`` reads ``celsius`` (999: the probe does not answer)."""
        self._do(lambda now: self._device.world_set_ext_temperature(index, celsius, now))

    def set_ext_humidity(self, percent: float) -> None:
        """The add-on's DHT22 reads ``percent`` %RH (999: invalid)."""
        self._do(lambda now: self._device.world_set_ext_humidity(percent, now))

    def set_ext_input(self, level: bool) -> None:
        """The add-on's digital input closes (True) or opens."""
        self._do(lambda now: self._device.world_set_ext_input(level, now))

    def ir_received(self) -> list[IrEmission]:
        """Every IR code the device sent, oldest first (what a TV in the room would have seen)."""
        return self._host.runtime.call(
            lambda: [code for ir in self._device.of_kind("ir") for code in ir.emitted]
        )

    def offer_firmware(
        self,
        stable: str | None = None,
        beta: str | None = None,
        *,
        download: float = 20.0,
        reboot: float = 10.0,
        fault: str = "",
        install: bool = False,
    ) -> None:
        """The update server offers new firmware (core/update.py): /status ``update`` shows it
        and ``/ota?update=1`` installs it, taking ``download`` s, then ``reboot`` s down."""
        self._do(
            lambda now: self._device.world_offer_firmware(
                stable, beta, download, reboot, fault, install, now=now
            )
        )

    def set_boot_time(self, seconds: float) -> None:
        """Seconds a software reboot keeps the device unreachable (HTTP, CoIoT, cloud)."""
        self._do(lambda now: self._device.world_set_boot_time(seconds, now))

    def power_cycle(self) -> None:
        """Cut and restore power: uptime restarts, default_state applies, settings stay."""
        self._do(self._device.power_cycle)
