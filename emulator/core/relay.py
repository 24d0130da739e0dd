"""Relay output channel: turn/toggle, one-shot flip-back timer, auto_on/auto_off, overpower,
power-on default_state and the reaction to its input according to btn_type (seed 003
Shelly1/Shelly2/4Pro/Plug "/settings/relay" and "/relay")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .clock import Now
from .component import Component
from .errors import BadRequest
from .params import Params
from .schedule import ScheduledChannel

__all__ = ["Relay"]

_MAX_TIMER = 86400 * 7


class Relay(ScheduledChannel, Component, kind="relay"):
    """One relay. ``power()`` is what its load draws now; meters integrate it."""

    collection = "relays"
    ROUTES = {"relay/{i}": "http_relay", "settings/relay/{i}": "apply_settings"}
    DEFAULTS = {
        "name": None,
        "appliance_type": "General",
        "default_state": "off",
        "btn_type": "toggle",
        "btn_reverse": 0,
        "auto_on": 0.0,
        "auto_off": 0.0,
        "power": 0.0,
        "schedule": False,
        "schedule_rules": [],
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ison = False
        self.overpower = False
        self.source = "input"
        self.timer_started = 0
        self.timer_duration = 0.0
        super().__init__(*args, **kwargs)
        self.start_schedule()

    # --- fields ------------------------------------------------------------------------------

    def f_ison(self, now: Now) -> bool:
        return self.ison

    def f_has_timer(self, now: Now) -> bool:
        return self.device.timers.deadline(self._timer_key) is not None

    def f_timer_started(self, now: Now) -> int:
        return self.timer_started if self.f_has_timer(now) else 0

    def f_timer_duration(self, now: Now) -> float:
        return self.timer_duration if self.f_has_timer(now) else 0

    def f_timer_remaining(self, now: Now) -> float:
        deadline = self.device.timers.deadline(self._timer_key)
        return 0 if deadline is None else max(0, round(deadline - now.mono))

    def f_overpower(self, now: Now) -> bool:
        return self.overpower

    def steady(self) -> bool:
        return self.device.timers.deadline(self._timer_key) is None  # timer_remaining counts down

    def f_is_valid(self, now: Now) -> bool:
        return True

    def f_source(self, now: Now) -> str:
        return self.source

    def f_max_power(self, now: Now) -> float:
        return self.max_power

    @property
    def max_power(self) -> float:
        """Per-channel limit where the model has one (4Pro), else the device's (Plug, Shelly2)."""
        if "max_power" in self.config:
            return self.config["max_power"]
        return self.device.config.get("max_power") or 0

    @property
    def _timer_key(self) -> str:
        return f"{self.key}:flip"

    def power(self) -> float:
        return self.device.world.load(self.channel) if self.ison and self.active else 0.0

    # --- resources ---------------------------------------------------------------------------

    def http_relay(self, params: Params, now: Now) -> dict[str, Any]:
        """``/relay/N?turn=on|off|toggle&timer=S``."""
        turn = params.choice("turn", ("on", "off", "toggle"))
        timer = params.number("timer", 0, _MAX_TIMER)
        if timer is not None and turn is None:
            raise BadRequest("timer needs turn")
        if turn is not None:
            on = not self.ison if turn == "toggle" else turn == "on"
            self.turn(on, now, source="http", timer=timer)
        return self.view("endpoint", now)

    def parse_settings(self, params: Params) -> dict[str, Any]:
        shown = set(self.spec.options.get("settings", ()))
        btn_types = self.spec.options.get("btn_types", ("momentary", "toggle", "edge", "detached"))
        default_states = self.spec.options.get("default_states", ("off", "on", "last", "switch"))
        readers = {
            "name": lambda: _name(params),
            "appliance_type": lambda: params.text("appliance_type", max_len=32, min_len=1),
            "default_state": lambda: params.choice("default_state", default_states),
            "btn_type": lambda: params.choice("btn_type", btn_types),
            "btn_reverse": lambda: _flag(params.boolean("btn_reverse")),
            "auto_on": lambda: params.number("auto_on", 0, _MAX_TIMER),
            "auto_off": lambda: params.number("auto_off", 0, _MAX_TIMER),
            "power": lambda: params.number("power", 0, 3500),
            "max_power": lambda: params.integer(
                "max_power", 0, self.spec.options.get("max_power_limit", 3500)
            ),
            "schedule": lambda: params.boolean("schedule"),
            "schedule_rules": lambda: self.schedule_rules(params, ("on", "off")),
        }
        changes = {}
        for name, read in readers.items():
            if name in shown and name in params and name in self.config:
                value = read()
                if value is not None or name == "name":
                    changes[name] = value
        return changes

    def on_settings_changed(self, changes: Mapping[str, Any], now: Now) -> None:
        if "max_power" in changes:
            self.check_overpower(now)
        self.rearm_schedule(changes, now)

    def _scheduled(self, action: str, now: Now) -> None:
        self.turn(action == "on", now, source="schedule")

    # --- behaviour ---------------------------------------------------------------------------

    def turn(self, on: bool, now: Now, *, source: str, timer: float | None = None) -> None:
        """Switch the output; arm the one-shot ``timer`` or else auto_off/auto_on."""
        if on:
            self.overpower = False
        changed = on != self.ison
        self.ison = on
        self.source = source
        self.device.timers.cancel(self._timer_key)
        delay = timer if timer else self.config["auto_off" if on else "auto_on"]
        if delay:
            self.timer_started = int(now.unix)
            self.timer_duration = delay
            self.device.schedule(self._timer_key, now.mono + delay, self._flip_back)
        if on:
            self.check_overpower(now)
        if changed or delay or timer is not None:
            self.device.status_changed(f"{self.key} {'on' if on else 'off'}")

    def _flip_back(self, now: Now) -> None:
        self.turn(not self.ison, now, source="timer")

    def check_overpower(self, now: Now) -> None:
        """Trip when the load exceeds max_power (0 disables), as seed 003 Shelly2/Plug say."""
        limit = self.max_power
        power = self.power()
        if self.ison and limit and power > limit:
            self.ison = False
            self.overpower = True
            self.source = "overpower"
            self.device.timers.cancel(self._timer_key)
            for meter in self.device.of_kind("meter"):
                meter.note_overpower(self.channel, power)
            self.device.status_changed(f"{self.key} overpower")

    def owns_input(self, channel: int) -> bool:
        return channel == self.channel

    def on_input(
        self,
        level: bool,
        now: Now,
        *,
        input_channel: int,
        pressed: bool = False,
        long: bool = False,
    ) -> None:
        """React to the input wired to this channel according to ``btn_type``.

        momentary: a short press toggles; toggle: the output follows the switch; edge: every
        change of the switch toggles; detached: the input only reports.
        """
        btn_type = self.config["btn_type"]
        if btn_type == "detached":
            return
        if pressed:
            if (
                btn_type in ("momentary", "momentary_on_release", "action") and not long
            ) or btn_type == "edge":
                self.turn(not self.ison, now, source="input")
            return
        if btn_type == "toggle":
            self.turn(level, now, source="input")
        elif btn_type == "edge":
            self.turn(not self.ison, now, source="input")

    # --- lifecycle ---------------------------------------------------------------------------

    def boot(self, now: Now, power_on: bool) -> None:
        state = self.config["default_state"]
        if state == "last":
            on = self.ison
        elif state == "switch":
            on = self._input_level()
        else:
            on = state == "on"
        self.ison = False
        self.overpower = False
        if self.active and on:
            self.turn(True, now, source="init")
        if self.active:
            self.weekly.arm(now)

    def deactivate(self, now: Now) -> None:
        self.device.timers.cancel(self._timer_key)
        self.device.timers.cancel(f"{self.key}:schedule")
        if self.ison:
            self.ison = False
            self.device.status_changed(f"{self.key} off")

    def _input_level(self) -> bool:
        for candidate in self.device.of_kind("input"):
            if candidate.channel == self.channel:
                return bool(candidate.level)
        return False

    def snapshot(self) -> dict[str, Any]:
        return {**super().snapshot(), "ison": self.ison}

    def restore(self, data: Mapping[str, Any]) -> None:
        super().restore(data)
        self.ison = bool(data.get("ison", False))


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _name(params: Params) -> str | None:
    value = params.text("name", max_len=64)
    return value or None
