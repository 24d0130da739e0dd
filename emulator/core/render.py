"""Render /shelly, /settings and /status from the profile's templates ("template + overlay").

Templates keep real firmware's keys, order and static values. Strings starting with ``$`` are
tokens: identity tokens (``$mac``, ``$hostname``...) are resolved once, when the factory config
is built; live tokens (``$uptime``, ``$relays``...) are filled at every render from the device's
state. Settings live in the device config (the resolved settings template), so a parameter
changes a leaf of the config and the next render shows it.

/status and /shelly are the hot path of a fleet (GET /status across 10,000 devices): their
templates never change, so each is compiled once per profile into a plan that copies the static
parts with C-level ``dict.copy`` and fills only the token leaves, instead of walking every leaf
of the template on every request.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from .clock import Now
from .component import ABSENT, Owner
from .identity import Identity
from .localtime import Place
from .update import Updater

__all__ = ["Rendered", "Renderer"]

type Provider = Callable[[Now], Any]
#: A compiled template: renders a fresh JSON-ready value for one device at ``now``.
type Plan = Callable[[Renderer, Now], Any]


def _c_to_f(celsius: float) -> float:
    return round(celsius * 9 / 5 + 32, 2)


class Rendered(Owner, Protocol):
    """The device as its renderer sees it (core/device.py's Device is one)."""

    identity: Identity
    secrets: dict[str, str]
    status_serial: int
    cfg_changed_cnt: int
    cloud_connected: bool
    updater: Updater

    @property
    def auth_enabled(self) -> bool: ...


class Renderer:
    """Turns templates plus live state into the JSON bodies real firmware answers."""

    def __init__(self, device: Rendered) -> None:
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
        self._status_plan = self._plan(device.profile.status, "status")
        self._shelly_plan = self._plan(device.profile.shelly, "shelly")

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
        template = self.device.profile.settings
        config = self.resolve_identity(template)
        if id(template) not in Renderer._CHECKED:  # the same for every device of a profile
            self._check_tokens(config, "settings", settings=True)
            Renderer._CHECKED[id(template)] = template
        return config

    #: Compiled templates by ``id(template)``; the template is held so that its id stays unique.
    _PLANS: dict[int, tuple[Any, Plan]] = {}
    #: Settings templates whose tokens were checked, by id (held, as above).
    _CHECKED: dict[int, Any] = {}

    def _plan(self, template: Any, where: str) -> Plan:
        """The compiled plan of a profile template, checked and compiled on first use."""
        cached = Renderer._PLANS.get(id(template))
        if cached is not None and cached[0] is template:
            return cached[1]
        self._check_tokens(self.resolve_identity(template), where, settings=False)
        plan = _compile(template, frozenset(self.identity_tokens))
        Renderer._PLANS[id(template)] = (template, plan)
        return plan

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
        kind = type(node)  # exact types first: the config is plain dicts and lists (YAML)
        if kind is dict or (kind is not list and isinstance(node, Mapping)):
            filled = {key: self.fill(value, now, settings=settings) for key, value in node.items()}
            return {key: value for key, value in filled.items() if value is not ABSENT}
        if kind is list:
            return [self.fill(value, now, settings=settings) for value in node]
        if kind is str and node[:1] == "$":
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
        return self._shelly_plan(self, now)

    def settings(self, now: Now) -> dict[str, Any]:
        return self.fill(self.device.config, now, settings=True)

    def settings_part(self, key: str, now: Now) -> Any:
        return self.fill(copy.deepcopy(self.device.config[key]), now, settings=True)

    def status(self, now: Now) -> dict[str, Any]:
        body = self._status_plan(self, now)
        self.device.updater.overlay(body)
        return body

    # --- live values -----------------------------------------------------------------------

    def local_time(self, now: Now) -> datetime:
        return Place.of(self.device.config).local(now.unix)

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


def _compile(node: Any, identity: frozenset[str]) -> Plan | None:
    """Compile a template node; None for a plain scalar, which renders as itself.

    A ``$token`` renders as the device's identity value, else its live provider, else the
    component collection of that name (the same precedence as resolving identity, then filling).

    Containers render as a copy of their static part with the dynamic members filled in place,
    so key order is the template's and no rendered value shares a container with the template.
    """
    if isinstance(node, Mapping | list):
        pairs = list(node.items()) if isinstance(node, Mapping) else list(enumerate(node))
        parts = [(key, plan) for key, value in pairs if (plan := _compile(value, identity))]
        dynamic = {key for key, _ in parts}
        if isinstance(node, Mapping):
            base: Any = {key: None if key in dynamic else value for key, value in pairs}
        else:
            base = [None if index in dynamic else value for index, value in pairs]

        def render(renderer: Renderer, now: Now) -> Any:
            out = base.copy()
            for key, plan in parts:
                value = plan(renderer, now)
                if value is ABSENT:
                    del out[key]
                else:
                    out[key] = value
            return out

        return render
    if isinstance(node, str) and node in identity:
        return lambda renderer, now: renderer.identity_tokens[node]
    if isinstance(node, str) and node.startswith("$"):
        name = node[1:]

        def live(renderer: Renderer, now: Now) -> Any:
            provider = renderer.live.get(name)
            if provider is not None:
                return provider(now)
            return renderer.collection(name, now, settings=False)

        return live
    return None
