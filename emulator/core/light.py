"""Colour/white light output (seed 003 "Shelly Bulb": /light/0, /settings/light/0, device modes
color and white, effects), with a model of the bulb's power draw for its meter.

A Light is a Relay with colour: turn, the flip-back ``timer``, auto_on/auto_off and
default_state behave as the relay's. ``/color/0`` and ``/white/0`` are aliases of ``/light/0``
(clients call them, spec/clients.md 2.8); neither switches the mode, ``mode=`` does.
Colour values are state that firmware keeps with the settings (they show in /settings
``lights``): they persist, but changing them is not a configuration change (cfg_changed_cnt
stays, as HA reloads on it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .clock import Now
from .errors import BadRequest
from .params import Params
from .relay import _MAX_TIMER, Relay

__all__ = ["Light"]

#: HA caps the fade it asks for at 5000 ms (homeassistant/components/shelly light.py).
_MAX_TRANSITION_MS = 5000


class Light(Relay, kind="light"):
    """One light channel. Profile options: ``ranges`` (name -> [low, high] of red, green,
    blue, white, gain, temp, brightness), ``effects`` (names, index = effect number) and
    ``rated_power`` (W at full output, for the power model)."""

    collection = "lights"
    ROUTES = {
        "light/{i}": "http_light",
        "color/{i}": "http_light",
        "white/{i}": "http_light",
        "settings/light/{i}": "apply_settings",
    }
    DEFAULTS = {
        "red": 255,
        "green": 255,
        "blue": 255,
        "white": 0,
        "gain": 100,
        "temp": 4750,
        "brightness": 100,
        "effect": 0,
        "default_state": "on",
        "auto_on": 0.0,
        "auto_off": 0.0,
        "power": 0.0,
        "schedule": False,
        "schedule_rules": [],
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.spec.options
        ranges: Mapping[str, Any] = options.get("ranges") or {}
        missing = {"red", "green", "blue", "white", "gain", "temp", "brightness"} - set(ranges)
        if missing or not options.get("effects") or "rated_power" not in options:
            raise ValueError(f"light: profile needs ranges (lacks {missing}), effects, rated_power")
        self.ranges = {name: (int(low), int(high)) for name, (low, high) in ranges.items()}
        self.last_effect = len(options["effects"]) - 1

    # --- fields ------------------------------------------------------------------------------

    def f_mode(self, now: Now) -> str | None:
        return self.device.mode

    def power(self) -> float:
        """A model of the bulb's draw, not a measurement: off draws nothing; white mode draws
        ``rated_power`` scaled by brightness; color mode by gain times the mean of the four
        LED channels (all four at 255 and gain 100 = rated power). Effects are ignored."""
        if not self.ison or not self.active:
            return 0.0
        rated = float(self.spec.options["rated_power"])
        if self.device.mode == "white":
            return rated * self.config["brightness"] / 100
        level = sum(self.config[c] for c in ("red", "green", "blue", "white")) / (4 * 255)
        return rated * self.config["gain"] / 100 * level

    # --- resources ---------------------------------------------------------------------------

    def http_light(self, params: Params, now: Now) -> dict[str, Any]:
        """``/light/0?turn=&timer=&mode=&red=..&gain=&temp=&brightness=&effect=&transition=``.

        Every parameter is checked before anything changes; an out-of-range value is a 400.
        """
        turn = params.choice("turn", ("on", "off", "toggle"))
        timer = params.number("timer", 0, _MAX_TIMER)
        if timer is not None and turn is None:
            raise BadRequest("timer needs turn")
        mode = params.choice("mode", self.device.profile.modes or ())
        values = self._values(params)
        # The fade time HA sends is checked but not modelled: the new state applies at once.
        params.integer("transition", 0, _MAX_TRANSITION_MS)
        if mode is not None:
            self.device.apply_mode(mode, now)
        self._set(values)
        if turn is not None:
            on = not self.ison if turn == "toggle" else turn == "on"
            self.turn(on, now, source="http", timer=timer)
        return self.view("endpoint", now)

    def apply_settings(self, params: Params, now: Now) -> dict[str, Any]:
        """``/settings/light/0``: the relay's settings plus ``effect``, which applies at once."""
        effect = params.integer("effect", 0, self.last_effect)
        answer = super().apply_settings(params, now)
        if effect is None or params.raw("reset"):
            return answer
        self._set({"effect": effect})
        return self.settings_view(now)

    def _values(self, params: Params) -> dict[str, int]:
        values = {name: params.integer(name, *limits) for name, limits in self.ranges.items()}
        values["effect"] = params.integer("effect", 0, self.last_effect)
        return {name: value for name, value in values.items() if value is not None}

    def _set(self, values: Mapping[str, int]) -> None:
        changed = {name: value for name, value in values.items() if self.config[name] != value}
        if changed:
            self.config.update(changed)
            self.device.status_changed(f"{self.key} colour")
