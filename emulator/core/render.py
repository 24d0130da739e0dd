"""Render /shelly, /settings and /status from the profile's templates ("template + overlay").

Templates keep real firmware's keys, order and static values. Strings starting with ``$`` are
tokens: identity tokens (``$mac``, ``$hostname``...) are resolved once, when the factory config
is built; live tokens (``$uptime``, ``$relays``...) are filled at every render from the device's
state. Settings live in the device config (the resolved settings template), so a parameter
changes a leaf of the config and the next render shows it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .clock import Now

if TYPE_CHECKING:
    from .device import Device

__all__ = ["Renderer"]

type Provider = Callable[[Now], Any]


def _c_to_f(celsius: float) -> float:
    return round(celsius * 9 / 5 + 32, 2)


class Renderer:
    """Turns templates plus live state into the JSON bodies real firmware answers."""

    def __init__(self, device: Device) -> None:
        self.device = device
        identity = device.identity
        self.identity_tokens: dict[str, Any] = {
            "$type": identity.model,
            "$mac": identity.mac,
            "$id": identity.device_id,
            "$hostname": identity.hostname,
            "$fw": identity.fw,
            "$build_timestamp": identity.build_timestamp,
            "$ip": identity.ip,
            "$longid": int(identity.device_id == identity.mac),
        }
        self.live: dict[str, Provider] = self._live_providers()
        self._status_template = self.resolve_identity(device.profile.status)
        self._shelly_template = self.resolve_identity(device.profile.shelly)
        self._check_tokens(self._status_template, "status", settings=False)
        self._check_tokens(self._shelly_template, "shelly", settings=False)

    # --- templates ---------------------------------------------------------------------------

    def resolve_identity(self, template: Any) -> Any:
        if isinstance(template, Mapping):
            return {key: self.resolve_identity(value) for key, value in template.items()}
        if isinstance(template, list):
            return [self.resolve_identity(value) for value in template]
        if isinstance(template, str) and template in self.identity_tokens:
            return self.identity_tokens[template]
        return template

    def factory_settings(self) -> dict[str, Any]:
        """The settings template with identity resolved: the device's factory config."""
        config = self.resolve_identity(self.device.profile.settings)
        self._check_tokens(config, "settings", settings=True)
        return config

    def _check_tokens(self, node: Any, where: str, *, settings: bool) -> None:
        if isinstance(node, Mapping):
            for value in node.values():
                self._check_tokens(value, where, settings=settings)
        elif isinstance(node, list):
            for value in node:
                self._check_tokens(value, where, settings=settings)
        elif isinstance(node, str) and node.startswith("$") and not self._known(node[1:]):
            raise ValueError(f"{self.device.profile.name}: unknown token {node!r} in {where}")

    def _known(self, name: str) -> bool:
        return name in self.live or name in self._collections()

    def _collections(self) -> set[str]:
        return {component.collection for component in self.device.components}

    def fill(self, node: Any, now: Now, *, settings: bool) -> Any:
        """Copy ``node`` with every live token replaced by its current value."""
        if isinstance(node, Mapping):
            return {key: self.fill(value, now, settings=settings) for key, value in node.items()}
        if isinstance(node, list):
            return [self.fill(value, now, settings=settings) for value in node]
        if isinstance(node, str) and node.startswith("$"):
            name = node[1:]
            provider = self.live.get(name)
            if provider is not None:
                return provider(now)
            return self.collection(name, now, settings=settings)
        return node

    def collection(self, name: str, now: Now, *, settings: bool) -> list[dict[str, Any]]:
        members = [c for c in self.device.components if c.collection == name]
        if settings:
            return [c.settings_view(now) for c in members]
        return [c.status_view(now) for c in members]

    # --- bodies --------------------------------------------------------------------------

    def shelly(self, now: Now) -> dict[str, Any]:
        return self.fill(self._shelly_template, now, settings=False)

    def settings(self, now: Now) -> dict[str, Any]:
        return self.fill(self.device.config, now, settings=True)

    def settings_part(self, key: str, now: Now) -> Any:
        return self.fill(copy.deepcopy(self.device.config[key]), now, settings=True)

    def status(self, now: Now) -> dict[str, Any]:
        return self.fill(self._status_template, now, settings=False)

    # --- live values -----------------------------------------------------------------------

    def local_time(self, now: Now) -> datetime:
        offset = int(self.device.config.get("tz_utc_offset") or 0)
        return datetime.fromtimestamp(now.unix + offset, UTC)

    def _live_providers(self) -> dict[str, Provider]:
        device = self.device
        world = device.world
        providers: dict[str, Provider] = {
            "time": lambda now: self.local_time(now).strftime("%H:%M"),
            "unixtime": lambda now: int(now.unix),
            "uptime": lambda now: int(now.mono - device.boot_mono),
            "serial": lambda now: device.status_serial,
            "cfg_changed_cnt": lambda now: device.cfg_changed_cnt,
            "auth": lambda now: device.auth_enabled,
            "cloud_connected": lambda now: device.cloud_connected,
            "cloud_enabled": lambda now: device.config["cloud"]["enabled"],
            "wifi_ssid": lambda now: device.config["wifi_sta"]["ssid"],
            "login_password": lambda now: device.secrets["login_password"],
            "rssi": lambda now: world.rssi,
            "ram_free": lambda now: world.ram_free,
            "device_temp_c": lambda now: round(world.device_temperature, 2),
            "device_temp_f": lambda now: _c_to_f(world.device_temperature),
            "overtemperature": lambda now: world.overtemperature,
        }
        for component in device.components:
            providers.update(component.live_tokens())
        return providers
