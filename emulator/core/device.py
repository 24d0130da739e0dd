"""Sans-I/O model of one Gen1 Shelly device.

The device never reads a clock, sleeps or touches the network. Every entry point takes ``now``.
Contract, as websockets' Protocol states it: after ``call()``, ``on_timer()`` or a ``world_*``
action, call ``drain_events()`` and dispatch the events, then reschedule from ``next_deadline()``.

Components come from ``Component.KINDS``, which the profile loader fills; they, the renderer and
the resources see the device through protocols (Owner, Rendered, Served), never this module.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .clock import Now
from .component import Component, Handler
from .errors import BadRequest, NotFound, Unavailable
from .events import CoiotDue, Event, Rebooted, SettingsChanged, StatusChanged, WentDown
from .identity import Identity
from .params import Params
from .physical import PhysicalActions
from .profile import Profile
from .render import Renderer
from .resources import common_routes
from .timers import Timers
from .update import Updater, UpdateTiming
from .world import SENSED, WorldState

__all__ = ["Device"]

_SERIAL_MAX = 0xFFFF


class Device(PhysicalActions):
    """One emulated device: identity, persistent config, components, timers and events."""

    def __init__(
        self,
        profile: Profile,
        identity: Identity,
        now: Now,
        *,
        saved: Mapping[str, Any] | None = None,
    ) -> None:
        self.profile = profile
        self.identity = identity
        self.timers = Timers()
        self.world = WorldState()
        self.cloud_connected = False
        self.asleep = False
        #: Flashing or booting: answers nothing on any channel (transports check it).
        self.down = False
        #: Seconds /reboot keeps the device down (profile ``life.boot_seconds``, or per device
        #: ``set_boot_time``): 3 s by default, an ESP8266 restarting and rejoining Wi-Fi (inferred;
        #: no published measurement), so a client polling right after /reboot sees it gone.
        self.boot_seconds = float(profile.section("life").get("boot_seconds", 3))
        self.updater = Updater(self)
        #: mDNS TXT facts (``arch``, ``app``): the profile's, overridable per device.
        self.mdns: dict[str, Any] = dict(profile.section("mdns"))
        self._events: list[Event] = []
        self._status_dirty: str | None = None
        self.status_serial = 1
        self.cfg_changed_cnt = 0
        #: Bumped by every transaction (and a restore): equal revisions, equal state.
        self.revision = 0
        #: (revision, every component steady at it): see still_key.
        self._steady = (-1, False)
        self.boot_mono = now.mono
        self.config: dict[str, Any] = {}
        self.secrets: dict[str, str] = {}
        self.components: list[Component] = []
        for spec in profile.components:
            cls = Component.KINDS.get(spec.kind)
            if cls is None:
                raise ValueError(f"{profile.name}: unknown component kind {spec.kind!r}")
            self.components.extend(cls(self, channel, spec) for channel in range(spec.count))
        self.renderer = Renderer(self)
        self._factory_config()
        self._routes = self._build_routes()
        if saved:
            self.restore(saved)
        self._boot(now, power_on=True)
        self._events.clear()
        self._status_dirty = None  # the boot is the initial state, not a change to report

    # --- identity and modes ---------------------------------------------------------------

    @property
    def mode(self) -> str | None:
        return self.config.get("mode")

    def of_kind(self, kind: str) -> list[Component]:
        return [c for c in self.components if c.kind == kind]

    def component(self, kind: str, channel: int) -> Component:
        for candidate in self.components:
            if candidate.kind == kind and candidate.channel == channel:
                return candidate
        raise NotFound(f"{kind} {channel} does not exist")

    # --- authentication (seed 003: Basic auth on everything but /shelly when enabled) -----

    @property
    def auth_enabled(self) -> bool:
        return bool(self.config["login"]["enabled"])

    def check_auth(self, username: str, password: str) -> bool:
        login = self.config["login"]
        return username == login["username"] and password == self.secrets["login_password"]

    # --- the core's entry points ----------------------------------------------------------

    def call(
        self, path: str, params: Params | Mapping[str, str], now: Now
    ) -> dict[str, Any] | list[Any]:
        """Serve one Gen1 HTTP resource (the method is ignored, as on real firmware).

        Raises DeviceError (BadRequest, NotFound, ...) with nothing changed.
        """
        handler = self.resolve(path)
        with self.transaction(now):
            return handler(params if isinstance(params, Params) else Params(params), now)

    def resolve(self, path: str) -> Handler:
        """The handler of a resource path such as ``/relay/0`` or ``settings/relay/1/``."""
        segments = tuple(part for part in path.strip("/").split("/") if part)
        route = self._routes.get(segments)
        if route is not None:
            return route
        for pattern, make in self._channel_routes:
            if len(pattern) == len(segments) and all(
                p == s or (p == "{i}" and s.isdigit())
                for p, s in zip(pattern, segments, strict=True)
            ):
                indexes = (s for p, s in zip(pattern, segments, strict=True) if p == "{i}")
                channel = int(next(indexes, "0"))  # /ir/list: a kind's one channel
                return make(channel)
        raise NotFound(f"/{'/'.join(segments)} is not a resource of this device")

    def on_timer(self, now: Now) -> None:
        """Run every timer due at ``now`` (auto-off, roller travel, reboot...)."""
        with self.transaction(now):
            self.timers.run_due(now)

    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    def drain_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    @contextmanager
    def transaction(self, now: Now) -> Iterator[None]:
        """Settle time-integrated state before a change; emit one StatusChanged after it."""
        self.settle(now)
        try:
            yield
        finally:
            self.revision += 1
            if self._status_dirty is not None:
                self.bump_status_serial()
                self._events.append(StatusChanged(self._status_dirty))
                self._status_dirty = None

    def still_key(self, now: Now) -> tuple[int, int, int] | None:
        """What /status and /shelly depend on at ``now``: the revision and the whole seconds of
        unixtime and uptime. Equal keys render equal (the HTTP transport reuses the bytes); None
        while a component moves on its own between transactions (Component.steady)."""
        if self._steady[0] != self.revision:
            self._steady = (self.revision, all(c.steady() for c in self.components))
        if not self._steady[1]:
            return None
        return self.revision, int(now.unix), int(now.mono - self.boot_mono)

    def bump_status_serial(self) -> int:
        """Start a new status version (1..65535, never 0). Transactions call it on every change;
        CoIoT also calls it when a value moved on its own (energy integrates continuously), as its
        serial must change whenever the payload does (spec/coiot.md §9.6 item 4)."""
        self.revision += 1  # /status shows the serial
        self.status_serial = self.status_serial % _SERIAL_MAX + 1
        return self.status_serial

    def settle(self, now: Now) -> None:
        for component in self.components:
            component.settle(now)

    def schedule(self, key: str, at: float, action: Callable[[Now], None]) -> None:
        """Arm a named timer; its action runs settled, inside the timer's transaction."""

        def fire(when: Now) -> None:
            self.settle(when)
            action(when)

        self.timers.set(key, at, fire)

    # --- change notification used by components --------------------------------------------

    def status_changed(self, reason: str) -> None:
        self._status_dirty = self._status_dirty or reason

    def config_changed(self) -> None:
        """Bump cfg_changed_cnt (HA reloads on it: only for real configuration changes)."""
        self.cfg_changed_cnt += 1
        self._events.append(SettingsChanged())
        self.status_changed("config")

    def emit(self, event: Event) -> None:
        self._events.append(event)

    # --- power -----------------------------------------------------------------------------

    def power_cycle(self, now: Now) -> None:
        """Cut and restore power: a boot with ``default_state`` applied, settings kept."""
        with self.transaction(now):
            self.down = False
            self.updater.power_lost()
            self._boot(now, power_on=True)

    def reboot(self, now: Now) -> None:
        with self.transaction(now):
            self._boot(now, power_on=False)

    def restart(self, now: Now) -> None:
        """``/reboot``: down (no HTTP, CoIoT, cloud) for ``boot_seconds``, then booted."""
        if not self.boot_seconds:
            self.reboot(now)
            return
        self.down = True
        self.emit(WentDown("rebooting"))
        self.schedule("reboot", now.mono + self.boot_seconds, self._booted)

    def _booted(self, now: Now) -> None:
        self.down = False
        self._boot(now, power_on=False)

    def world_set_boot_time(self, seconds: float, now: Now) -> None:
        """Seconds a software reboot keeps the device unreachable (0: back at once)."""
        if not 0 <= seconds <= 600:
            raise BadRequest("boot time must be 0..600 s")
        self.boot_seconds = float(seconds)

    def _boot(self, now: Now, *, power_on: bool) -> None:
        self.timers.clear()
        self.boot_mono = now.mono
        self.active_coiot = copy.deepcopy(self.config.get("coiot", {}))
        self._arm_coiot(now)
        for component in self.components:
            component.boot(now, power_on)
        self._events.append(Rebooted(power_on))
        self.status_changed("boot")

    def _arm_coiot(self, now: Now) -> None:
        """Firmware republishes its status every coiot.update_period s while CoIoT is enabled
        (spec/coiot.md §4.1); the timer runs on the injected clock like every other one."""
        period = self.active_coiot.get("update_period")
        if self.active_coiot.get("enabled", True) and period:
            self.schedule("coiot", now.mono + period, self._coiot_due)

    def _coiot_due(self, now: Now) -> None:
        self._events.append(CoiotDue())
        self._arm_coiot(now)

    def set_cloud_connected(self, connected: bool, now: Now) -> None:
        """The cloud transport reports its link state (``cloud.connected`` in /status)."""
        if connected != self.cloud_connected:
            with self.transaction(now):
                self.cloud_connected = connected
                self.status_changed("cloud")

    # --- the physical world (tests, CLI, control API) -----------------------------------------

    def world_set_load(self, channel: int, watts: float, now: Now) -> None:
        """The load on output ``channel`` draws ``watts`` while on; overpower may trip."""
        if watts < 0:
            raise BadRequest("load must be >= 0 W")
        with self.transaction(now):
            self.world.loads[channel] = float(watts)
            for relay in self.of_kind("relay"):
                relay.check_overpower(now)
            self.status_changed("load")

    def world_set_motor_power(self, channel: int, watts: float, now: Now) -> None:
        """The roller motor draws ``watts`` while moving (an obstacle makes it draw more)."""
        if watts < 0:
            raise BadRequest("motor power must be >= 0 W")
        with self.transaction(now):
            self.world.motor_power[channel] = float(watts)
            for roller in self.of_kind("roller"):
                roller.motor_power_changed(now)
            self.status_changed("motor power")

    def world_press(self, channel: int, now: Now, *, long: bool = False) -> None:
        """A short or long push on input ``channel`` (the Plug's button is input 0)."""
        with self.transaction(now):
            self._input(channel).press(now, long=long)

    def world_set_input(self, channel: int, level: bool, now: Now) -> None:
        """A toggle switch on input ``channel`` moved to ``level``."""
        with self.transaction(now):
            self._input(channel).set_level(level, now)

    def world_set_device_temperature(self, celsius: float, now: Now) -> None:
        """Internal temperature; past the profile's limit outputs switch off (overtemperature)."""
        limit = self.profile.section("device_temperature").get("overtemperature_c")
        with self.transaction(now):
            self.world.device_temperature = float(celsius)
            hot = limit is not None and celsius >= limit
            if hot and not self.world.overtemperature:
                for relay in self.of_kind("relay"):
                    if relay.ison:
                        relay.turn(False, now, source="overtemperature")
            self.world.overtemperature = hot
            self.status_changed("temperature")

    def world_sense(self, quantity: str, value: float | bool, now: Now) -> None:
        """What a sensor measures changed (``temperature`` degC, ``smoke``... see SENSED);
        components react as firmware would (thresholds, wake-ups, alarms)."""
        sensed = {q for c in self.of_kind("sensors") for q in c.spec.options.get("senses", ())}
        if quantity not in sensed:
            raise BadRequest(f"{self.profile.model} does not sense {quantity} ({sorted(sensed)})")
        limits = SENSED[quantity]
        if limits is None:
            if not isinstance(value, bool):
                raise BadRequest(f"{quantity} must be true or false")
        elif isinstance(value, bool) or not limits[0] <= value <= limits[1]:
            raise BadRequest(f"{quantity} must be a number in {limits[0]}..{limits[1]}")
        with self.transaction(now):
            setattr(self.world, quantity, value if limits is None else float(value))
            self.status_changed(quantity)
            for component in self.components:
                component.on_world(quantity, now)

    def world_offer_firmware(
        self,
        stable: str | None = None,
        beta: str | None = None,
        download: float = UpdateTiming().download,
        reboot: float = UpdateTiming().reboot,
        fault: str = "",
        install: bool = False,
        *,
        now: Now,
    ) -> None:
        """The update server offers ``stable`` and/or ``beta`` (build strings); an install
        takes ``download`` s answering, then ``reboot`` s down; ``fault``: fail or hang;
        ``install``: the server also tells the device to install it (a sleeper when awake)."""
        with self.transaction(now):
            self.updater.offer(stable, beta, UpdateTiming(download, reboot), fault or None)
            if install:
                self.updater.push(now)

    def _input(self, channel: int) -> Any:
        for candidate in self.of_kind("input"):
            if candidate.channel == channel:
                return candidate
        raise NotFound(f"input {channel} does not exist on {self.profile.model}")

    # --- persistence (flash) ----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything that survives a restart, JSON-ready."""
        return {
            "model": self.profile.model,
            "mac": self.identity.mac,
            "fw": self.identity.fw,
            "config": copy.deepcopy(self.config),
            "secrets": dict(self.secrets),
            "cfg_changed_cnt": self.cfg_changed_cnt,
            "components": {c.key: c.snapshot() for c in self.components},
        }

    def restore(self, saved: Mapping[str, Any]) -> None:
        self.revision += 1
        self.config.update(copy.deepcopy(dict(saved.get("config", {}))))
        self.secrets.update(saved.get("secrets", {}))
        self.cfg_changed_cnt = int(saved.get("cfg_changed_cnt", 0))
        # Not flash on a real device; a capture restores it so its /status reads the same.
        self.status_serial = int(saved.get("status_serial", self.status_serial)) or 1
        stored = saved.get("components", {})
        for component in self.components:
            if component.key in stored:
                component.restore(stored[component.key])

    def _factory_config(self) -> None:
        self.config = self.renderer.factory_settings()
        self.secrets = {
            "login_password": "admin",
            "wifi_sta_key": "",
            "wifi_sta1_key": "",
            "wifi_ap_key": "",
            "mqtt_pass": "",
        }
        if self.profile.modes:
            # A captured device's settings template already names its mode.
            self.config.setdefault("mode", self.profile.default_mode)

    def refresh_build_info(self) -> None:
        """Settings that name the running build (``fw``, ``build_info``) follow the firmware
        this core runs: after an update, restored settings still name the old one."""
        factory = self.renderer.factory_settings()
        for key in ("fw", "build_info"):
            if key in self.config and key in factory:
                self.config[key] = factory[key]

    def factory_reset(self, now: Now) -> None:
        """``/settings?reset=1``: every setting back to the profile's defaults, then reboot."""
        self._factory_config()
        for component in self.components:
            component.factory_reset()
        self.cfg_changed_cnt += 1
        self._events.append(SettingsChanged())
        self._boot(now, power_on=False)

    # --- routes ------------------------------------------------------------------------------

    def _build_routes(self) -> dict[tuple[str, ...], Handler]:
        routes = {tuple(path.split("/")): handler for path, handler in common_routes(self).items()}
        channel_routes: list[tuple[tuple[str, ...], Callable[[int], Handler]]] = []
        seen: set[tuple[str, str]] = set()
        for spec in self.profile.components:
            cls = Component.KINDS[spec.kind]
            patterns = dict(cls.ROUTES)
            patterns.update(spec.options.get("routes") or {})
            for pattern, method in patterns.items():
                if (pattern, spec.kind) in seen:
                    continue
                seen.add((pattern, spec.kind))
                channel_routes.append(
                    (tuple(pattern.split("/")), self._channel_handler(spec.kind, method))
                )
        self._channel_routes = channel_routes
        return routes

    def _channel_handler(self, kind: str, method: str) -> Callable[[int], Handler]:
        def make(channel: int) -> Handler:
            component = self.component(kind, channel)
            # Settings stay editable in any mode; only control needs the component active.
            if not component.active and method != "apply_settings":
                raise Unavailable(f"{kind} {channel} is not available in {self.mode} mode")
            handler: Handler = getattr(component, method)
            return handler

        return make

    def apply_mode(self, mode: str, now: Now) -> None:
        """Switch device mode (Shelly2 relay/roller): outputs of the old mode stop.

        Components that serve every mode (meters, inputs, the Bulb's light in color and
        white mode) keep running; only those tied to a mode stop or start.
        """
        if self.profile.modes is None or mode not in self.profile.modes:
            raise BadRequest(f"mode: '{mode}' is not one of {self.profile.modes}")
        if mode == self.mode:
            return
        switched = [c for c in self.components if c.spec.modes is not None]
        for component in switched:
            if component.active:
                component.deactivate(now)
        self.config["mode"] = mode
        for component in switched:
            if component.active:
                component.boot(now, power_on=False)
        self.config_changed()
