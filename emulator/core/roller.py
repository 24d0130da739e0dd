"""Roller shutter (Shelly2 in roller mode, seed 003 "Shelly2 in Roller Mode"): open/close/stop,
travel over ``maxtime``, position control once calibrated, obstacle detection from the motor's
power, the safety switch on the second input, and the calibration procedure."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from .clock import Now
from .component import Component
from .errors import BadRequest
from .params import Params
from .schedule import ScheduledChannel

__all__ = ["Roller"]

_OPEN, _CLOSE, _STOP = "open", "close", "stop"
_DIRECTION_MODES = ("disabled", "while_opening", "while_closing", "while_moving")
#: Reported while the position is not known (capture SHSW-21 fw 1.5: current_pos 101).
_UNKNOWN_POSITION = 101


_WHILE = {_OPEN: "while_opening", _CLOSE: "while_closing"}


def _applies(mode: str, direction: str) -> bool:
    """Whether an obstacle/safety mode watches motion in ``direction``."""
    return mode == "while_moving" or mode == _WHILE.get(direction)


def _opposite(direction: str) -> str:
    return _CLOSE if direction == _OPEN else _OPEN


class Roller(ScheduledChannel, Component, kind="roller"):
    """One roller. Position is a float 0 (closed) .. 100 (open), known only once calibrated."""

    collection = "rollers"
    ROUTES = {
        "roller/{i}": "http_roller",
        "roller/{i}/calibrate": "http_calibrate",
        "settings/roller/{i}": "apply_settings",
    }
    DEFAULTS = {
        "maxtime": 20.0,
        "maxtime_open": 20.0,
        "maxtime_close": 20.0,
        "default_state": "stop",
        "swap": False,
        "swap_inputs": False,
        "input_mode": "openclose",
        "button_type": "toggle",
        "btn_reverse": 0,
        "schedule": False,
        "schedule_rules": [],
        "obstacle_mode": "disabled",
        "obstacle_action": "stop",
        "obstacle_power": 200,
        "obstacle_delay": 1,
        "safety_mode": "while_opening",
        "safety_action": "stop",
        "safety_allowed_on_trigger": "none",
        "off_power": 2,
        "positioning": False,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state = _STOP
        self.position: float | None = None
        self.start_position = 0.0
        self.start_mono = 0.0
        self.last_direction = _STOP
        self.stop_reason = "normal"
        self.calibrating = False
        self.safety_triggered = False
        self.paused_direction: str | None = None
        self.source = "http"
        super().__init__(*args, **kwargs)
        self.start_schedule()

    # --- fields ------------------------------------------------------------------------------

    def f_state(self, now: Now) -> str:
        return self.state

    def f_power(self, now: Now) -> float:
        return round(self.power(), 2)

    def f_is_valid(self, now: Now) -> bool:
        return True

    def f_safety_switch(self, now: Now) -> bool:
        return self.safety_triggered

    def f_stop_reason(self, now: Now) -> str:
        return self.stop_reason

    def f_last_direction(self, now: Now) -> str:
        return self.last_direction

    def f_current_pos(self, now: Now) -> int:
        position = self.position_at(now)
        return _UNKNOWN_POSITION if position is None else round(position)

    def f_calibrating(self, now: Now) -> bool:
        return self.calibrating

    def f_positioning(self, now: Now) -> bool:
        return bool(self.config["positioning"])

    def f_source(self, now: Now) -> str:
        return self.source

    def power(self) -> float:
        if self.state == _STOP or not self.active:
            return 0.0
        return self.device.world.motor_power.get(self.channel, 0.0)

    # --- position ----------------------------------------------------------------------------

    def _maxtime(self, direction: str) -> float:
        return float(self.config[f"maxtime_{direction}"] or self.config["maxtime"])

    def steady(self) -> bool:
        return self.state == _STOP or self.calibrating  # current_pos moves while travelling

    def position_at(self, now: Now) -> float | None:
        if self.position is None:
            return None
        if self.state == _STOP or self.calibrating:
            return self.position
        rate = 100 / self._maxtime(self.state)
        moved = (now.mono - self.start_mono) * rate
        delta = moved if self.state == _OPEN else -moved
        return min(100.0, max(0.0, self.start_position + delta))

    # --- resources ---------------------------------------------------------------------------

    def http_roller(self, params: Params, now: Now) -> dict[str, Any]:
        """``/roller/N?go=open|close|stop|to_pos&roller_pos=P&duration=S``."""
        go = params.choice("go", (_OPEN, _CLOSE, _STOP, "to_pos"))
        target = params.integer("roller_pos", 0, 100)
        duration = params.number("duration", 0.1, 3600)
        if go == "to_pos":
            if target is None:
                raise BadRequest("go=to_pos needs roller_pos")
            if not self.config["positioning"] or self.position is None:
                raise BadRequest("roller is not calibrated: position control unavailable")
        if go is not None:
            self.command(go, now, target=target, duration=duration)
        return self.status_view(now)

    def http_calibrate(self, params: Params, now: Now) -> dict[str, Any]:
        """Close fully then open fully, timing the real mechanism (the world's travel time)."""
        if self.state != _STOP:
            self.stop(now, "normal")
        travel = self.device.world.travel_time.get(self.channel, self.config["maxtime"])
        self.calibrating = True
        self.state = _CLOSE
        self.last_direction = _CLOSE
        self.device.schedule(
            f"{self.key}:calibrate",
            now.mono + travel,
            lambda when: self._calibrate_open(when, travel),
        )
        self.device.status_changed(f"{self.key} calibrating")
        return self.status_view(now)

    def _calibrate_open(self, now: Now, travel: float) -> None:
        self.state = _OPEN
        self.last_direction = _OPEN
        self.device.schedule(
            f"{self.key}:calibrate", now.mono + travel, lambda when: self._calibrated(when, travel)
        )
        self.device.status_changed(f"{self.key} calibrating")

    def _calibrated(self, now: Now, travel: float) -> None:
        self.calibrating = False
        self.state = _STOP
        self.position = 100.0
        self.stop_reason = "normal"
        self.config.update(maxtime_open=travel, maxtime_close=travel, positioning=True)
        self.device.config_changed()

    def parse_settings(self, params: Params) -> dict[str, Any]:
        button = params.choice("btn_type", ("momentary", "toggle", "detached"))
        if button is None:
            button = params.choice("button_type", ("momentary", "toggle", "detached"))
        readers: dict[str, Any] = {
            "maxtime": params.number("maxtime", 0.1, 300),
            "maxtime_open": params.number("maxtime_open", 0.1, 300),
            "maxtime_close": params.number("maxtime_close", 0.1, 300),
            "default_state": params.choice("default_state", (_STOP, _OPEN, _CLOSE)),
            "swap": params.boolean("swap"),
            "swap_inputs": params.boolean("swap_inputs"),
            "input_mode": params.choice("input_mode", ("openclose", "onebutton")),
            "button_type": button,
            "btn_reverse": None
            if "btn_reverse" not in params
            else int(bool(params.boolean("btn_reverse"))),
            "schedule": params.boolean("schedule"),
            "schedule_rules": self.schedule_rules(params, ("open", "close", "stop")),
            "obstacle_mode": params.choice("obstacle_mode", _DIRECTION_MODES),
            "obstacle_action": params.choice("obstacle_action", (_STOP, "reverse")),
            "obstacle_power": params.integer("obstacle_power", 0, 5000),
            "obstacle_delay": params.integer("obstacle_delay", 0, 30),
            "safety_mode": params.choice("safety_mode", _DIRECTION_MODES),
            "safety_action": params.choice("safety_action", (_STOP, "pause", "reverse")),
            "safety_allowed_on_trigger": params.choice(
                "safety_allowed_on_trigger", ("none", _OPEN, _CLOSE, "all")
            ),
            "off_power": params.integer("off_power", 0, 100),
            "positioning": params.boolean("positioning"),
        }
        changes = {k: v for k, v in readers.items() if v is not None}
        if "maxtime" in changes:
            changes.setdefault("maxtime_open", changes["maxtime"])
            changes.setdefault("maxtime_close", changes["maxtime"])
        return changes

    # --- behaviour ---------------------------------------------------------------------------

    def command(
        self,
        go: str,
        now: Now,
        *,
        target: int | None = None,
        duration: float | None = None,
        source: str = "http",
    ) -> None:
        """A command from HTTP, the cloud, an input or the weekly schedule."""
        if self.calibrating:
            raise BadRequest("roller is calibrating")
        self.source = source
        if go == _STOP:
            self.stop(now, "normal")
            return
        position = self.position_at(now)
        if go == "to_pos":
            assert position is not None and target is not None
            if abs(target - position) < 0.5:
                self.stop(now, "normal")
                return
            direction = _OPEN if target > position else _CLOSE
            duration = abs(target - position) / 100 * self._maxtime(direction)
        else:
            direction = go
        allowed = self.config["safety_allowed_on_trigger"]
        if self.safety_triggered and allowed not in ("all", direction):
            raise BadRequest("safety switch is triggered")
        self.move(direction, now, duration=duration, target=target)

    def move(self, direction: str, now: Now, *, duration: float | None, target: int | None) -> None:
        current = self.position_at(now)
        if duration is None:
            if current is not None and self.config["positioning"]:
                distance = 100 - current if direction == _OPEN else current
                duration = distance / 100 * self._maxtime(direction)
            else:
                duration = self._maxtime(direction)
        self.position = current
        self.start_position = current or 0.0
        self.start_mono = now.mono
        self.state = direction
        self.last_direction = direction
        self.paused_direction = None
        self.device.schedule(
            f"{self.key}:travel",
            now.mono + duration,
            lambda when: self.stop(when, "normal", target),
        )
        if _applies(self.config["obstacle_mode"], direction):
            delay = float(self.config["obstacle_delay"])
            self.device.schedule(f"{self.key}:obstacle", now.mono + delay, self.check_obstacle)
        self.device.status_changed(f"{self.key} {direction}")

    def stop(self, now: Now, reason: str, target: int | None = None) -> None:
        position = self.position_at(now)
        if target is not None and position is not None:
            position = float(target)
        self.position = position
        self.state = _STOP
        self.stop_reason = reason
        self.device.timers.cancel(f"{self.key}:travel")
        self.device.timers.cancel(f"{self.key}:obstacle")
        self.device.status_changed(f"{self.key} stop")

    def check_obstacle(self, now: Now) -> None:
        """Obstacle: the motor draws more than obstacle_power after obstacle_delay."""
        if self.state == _STOP or not _applies(self.config["obstacle_mode"], self.state):
            return
        if now.mono - self.start_mono < float(self.config["obstacle_delay"]):
            return
        if self.power() <= self.config["obstacle_power"]:
            return
        direction = self.state
        self.stop(now, "obstacle")
        if self.config["obstacle_action"] == "reverse":
            self.move(_opposite(direction), now, duration=None, target=None)
            self.stop_reason = "obstacle"

    def motor_power_changed(self, now: Now) -> None:
        if self.state != _STOP and self.device.timers.deadline(f"{self.key}:obstacle") is None:
            self.check_obstacle(now)

    # --- inputs ------------------------------------------------------------------------------

    def owns_input(self, channel: int) -> bool:
        return channel in (0, 1)

    def on_input(
        self,
        level: bool,
        now: Now,
        *,
        input_channel: int,
        pressed: bool = False,
        long: bool = False,
    ) -> None:
        """openclose: input 0 opens, input 1 closes; onebutton: input 0 cycles
        open, stop, close, stop and input 1 is the safety switch (seed 003)."""
        if self.calibrating:
            return
        channel = input_channel ^ 1 if self.config["swap_inputs"] else input_channel
        if self.config["input_mode"] == "onebutton":
            if channel == 1:
                self.safety(level if not pressed else True, now)
                if pressed:
                    self.safety(False, now)
            elif pressed or self.config["button_type"] == "toggle":
                if self.state != _STOP:
                    self.stop(now, "normal")
                else:
                    direction = _CLOSE if self.last_direction == _OPEN else _OPEN
                    self._command_quietly(direction, now)
            return
        direction = _OPEN if channel == 0 else _CLOSE
        if pressed:
            if self.state != _STOP:
                self.stop(now, "normal")
            else:
                self._command_quietly(direction, now)
        elif level:
            self._command_quietly(direction, now)
        elif self.state == direction:
            self.stop(now, "normal")

    def _command_quietly(self, direction: str, now: Now) -> None:
        """An input cannot get an error page: a refused move just does not happen."""
        try:
            self.command(direction, now)
        except BadRequest:
            return

    def safety(self, triggered: bool, now: Now) -> None:
        if triggered == self.safety_triggered:
            return
        self.safety_triggered = triggered
        self.device.status_changed(f"{self.key} safety")
        if not triggered:
            if self.paused_direction is not None:
                direction, self.paused_direction = self.paused_direction, None
                self.move(direction, now, duration=None, target=None)
            return
        if self.state == _STOP or not _applies(self.config["safety_mode"], self.state):
            return
        direction = self.state
        action = self.config["safety_action"]
        self.stop(now, "safety_switch")
        if action == "pause":
            self.paused_direction = direction
        elif action == "reverse":
            self.move(_opposite(direction), now, duration=None, target=None)
            self.stop_reason = "safety_switch"

    # --- lifecycle ---------------------------------------------------------------------------

    def boot(self, now: Now, power_on: bool) -> None:
        self.state = _STOP
        self.calibrating = False
        self.paused_direction = None
        default = self.config["default_state"]
        if self.active and default in (_OPEN, _CLOSE):
            self.move(default, now, duration=None, target=None)
        if self.active:
            self.weekly.arm(now)

    def on_settings_changed(self, changes: Mapping[str, Any], now: Now) -> None:
        self.rearm_schedule(changes, now)

    def _scheduled(self, action: str, now: Now) -> None:
        """A rule's open/close/stop; refused like any command while calibrating or safe."""
        with contextlib.suppress(BadRequest):
            self.command(action, now, source="schedule")

    def deactivate(self, now: Now) -> None:
        self.device.timers.cancel(f"{self.key}:schedule")
        if self.state != _STOP or self.calibrating:
            self.calibrating = False
            self.device.timers.cancel(f"{self.key}:calibrate")
            self.stop(now, "normal")

    def snapshot(self) -> dict[str, Any]:
        return {**super().snapshot(), "position": self.position}

    def restore(self, data: Mapping[str, Any]) -> None:
        super().restore(data)
        self.position = data.get("position")
