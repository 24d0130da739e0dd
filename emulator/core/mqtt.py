"""The device's MQTT state (spec/mqtt.md §1-§3): the settings it connects with, whether it is
connected, and the periodic state publish.

The connection itself is I/O and lives in the MQTT transport (emulator/transports/mqtt/); the
core keeps what firmware keeps: the configuration in force since the last boot (DOC "MQTT
Configuration": new settings apply after a reboot), ``mqtt.connected`` for /status, and the
``mqtt_update_period`` timer, which runs on the injected clock like every other timer.
"""

from __future__ import annotations

from typing import Any

from .clock import Now
from .component import Component, Provider
from .events import MqttDue
from .params import Params

__all__ = ["Mqtt"]

#: Where the settings live in the device config (the ``mqtt`` hash of /settings).
CONFIG_KEY = "mqtt"


class Mqtt(Component, kind="mqtt"):
    """MQTT connection state of the device (one per device)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connected = False
        #: The mqtt settings (plus ``pass``) read at the last boot: what the connection uses.
        self.in_force: dict[str, Any] = {}

    def live_tokens(self) -> dict[str, Provider]:
        return {"mqtt_connected": lambda now: self.connected}

    @property
    def _timer_key(self) -> str:
        return f"{self.key}:update"

    def boot(self, now: Now, power_on: bool) -> None:
        self.in_force = {
            **self.device.config.get(CONFIG_KEY, {}),
            "pass": self.device.secrets.get("mqtt_pass", ""),
        }
        self._arm(now)

    def _arm(self, now: Now) -> None:
        period = self.in_force.get("update_period") or 0
        if self.in_force.get("enable") and period > 0:
            self.device.schedule(self._timer_key, now.mono + period, self._due)

    def _due(self, now: Now) -> None:
        if not self.device.asleep:
            self.device.emit(MqttDue())
        self._arm(now)

    def set_connected(self, connected: bool, now: Now) -> None:
        """The transport reports the broker connection (``mqtt.connected`` in /status)."""
        if connected != self.connected:
            with self.device.transaction(now):
                self.connected = connected
                self.device.status_changed("mqtt")

    def parse_device_settings(self, params: Params) -> dict[tuple[str, ...], Any]:
        """Enabling MQTT turns the Shelly Cloud off (DOC "MQTT Configuration", seed 003)."""
        if params.boolean("mqtt_enable") and "cloud" in self.device.config:
            return {("cloud", "enabled"): False}
        return {}
