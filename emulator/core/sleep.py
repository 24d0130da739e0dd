"""Sleep and wake-up of battery devices (seed 003 "Shelly H&T" and "Shelly Smoke" overviews).

The WiFi controller is off most of the time. It wakes up to report when an update is due: the
``sleep_mode`` period ran out, a reading moved beyond its threshold since the last report,
the battery ran low, smoke was detected, or the user pressed the button; then it falls asleep
again. A press starts setup mode (awake 3 minutes; another press sends it back to sleep). A
smoke alarm keeps the device awake and reporting until the smoke clears.

``device.asleep`` is what transports follow: HTTP refuses or never answers (``while_asleep``),
CoIoT stays quiet. Waking emits StatusChanged, so the wake-up publish happens. ``act_reasons``
names why the device woke: poweron, button, periodic, sensor, battery, alarm.
"""

from __future__ import annotations

from typing import Any

from .clock import Now
from .common import get_path
from .component import Component, Provider
from .profile import Profile
from .sensors import UNIT_PATH
from .world import SENSED

__all__ = ["WHILE_ASLEEP", "Sleep", "while_asleep"]

#: What an HTTP client meets while the device sleeps. ``timeout`` (default): connections are
#: accepted by the kernel but nothing is ever answered, as a real sleeping device's silence
#: ends in a client timeout; ``refuse``: the listener is closed, connecting fails at once.
WHILE_ASLEEP = ("timeout", "refuse")
#: ``{"period": 12, "unit": "h"}`` on both sleepers (capture SHHT-1 settings__1, docs SHSM-01).
SLEEP_MODE_PATH = ("sleep_mode",)
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0}
#: Why the device stays awake: a report after a wake-up, setup mode, a smoke alarm.
_REPORT, _SETUP, _ALARM = "report", "setup", "alarm"


def while_asleep(profile: Profile) -> str | None:
    """The profile's ``while_asleep`` policy; None for a model that never sleeps."""
    spec = profile.component("sleep")
    return None if spec is None else str(spec.options.get("while_asleep", WHILE_ASLEEP[0]))


class Sleep(Component, kind="sleep"):
    """The wake/sleep cycle. Profile options: ``awake_seconds`` (how long a wake-up that is not
    a button press stays online: undocumented, default 5), ``setup_seconds`` (seed 003: 180),
    ``low_battery_percent``, ``thresholds`` (world quantity -> config path of its threshold),
    ``alarm`` (the world quantity that holds the device awake: Smoke's ``smoke``) and
    ``while_asleep`` (see WHILE_ASLEEP)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.spec.options
        if while_asleep(self.device.profile) not in WHILE_ASLEEP:
            raise ValueError(f"sleep: while_asleep must be one of {WHILE_ASLEEP}")
        self.thresholds = {q: tuple(path) for q, path in (options.get("thresholds") or {}).items()}
        self.alarm: str | None = options.get("alarm")
        bad_alarm = self.alarm is not None and (self.alarm not in SENSED or SENSED[self.alarm])
        if set(self.thresholds) - set(SENSED) or bad_alarm:
            raise ValueError("sleep: thresholds must name sensed quantities, alarm a bool one")
        self.awake_seconds = float(options.get("awake_seconds", 5))
        self.setup_seconds = float(options.get("setup_seconds", 180))
        self.low_battery = float(options.get("low_battery_percent", 10))
        self.reasons: list[str] = []
        self.holds: set[str] = set()
        self.reported: dict[str, float] = {}
        self.battery_low = False

    def live_tokens(self) -> dict[str, Provider]:
        return {"act_reasons": lambda now: list(self.reasons)}

    def _key(self, name: str) -> str:
        return f"{self.key}:{name}"

    # --- waking and falling asleep --------------------------------------------------------------

    def wake(self, reason: str, now: Now, *, hold: str = _REPORT) -> None:
        """Wake up for ``reason`` (or add it to an awake device's reasons) and stay up for
        ``hold``: a short report, setup mode or an alarm."""
        device = self.device
        if device.asleep:
            device.asleep = False
            # Deep sleep ends in a reset: uptime restarts at every wake-up (captures SHHT-1:
            # uptime 9 after poweron, 122 in setup mode).
            device.boot_mono = now.mono
            self.reasons = [reason]
            device.timers.cancel(self._key("periodic"))
            device.status_changed("wake")
            device.updater.woke(now)
        elif reason not in self.reasons:
            self.reasons.append(reason)
            device.status_changed(f"woken: {reason}")
        self.reported = {q: getattr(device.world, q) for q in self.thresholds}
        self.holds.add(hold)
        seconds = {_REPORT: self.awake_seconds, _SETUP: self.setup_seconds}.get(hold)
        if seconds is not None:
            device.schedule(self._key(hold), now.mono + seconds, lambda at: self._release(at, hold))

    def _release(self, now: Now, *holds: str) -> None:
        for hold in holds:
            self.holds.discard(hold)
            self.device.timers.cancel(self._key(hold))
        # An install in progress keeps the radio on until the device reboots into the new build.
        if not self.holds and not self.device.asleep and self.device.updater.status != "updating":
            self._fall_asleep(now)

    def _fall_asleep(self, now: Now) -> None:
        """Radio off until the next periodic wake-up (``sleep_mode`` period from now)."""
        self.device.asleep = True
        sleep_mode = get_path(self.device.config, SLEEP_MODE_PATH)
        period = float(sleep_mode["period"]) * _UNIT_SECONDS[sleep_mode["unit"]]
        self.device.schedule(
            self._key("periodic"), now.mono + period, lambda at: self.wake("periodic", at)
        )

    # --- what wakes the device -------------------------------------------------------------------

    def owns_input(self, channel: int) -> bool:
        return channel == 0

    def on_input(
        self,
        level: bool,
        now: Now,
        *,
        input_channel: int,
        pressed: bool = False,
        long: bool = False,
    ) -> None:
        """The user button: a press wakes the device into setup mode, another one sends it back
        to sleep; holding it resets to factory settings (seed 003 H&T/Smoke "Factory Reset")."""
        if not pressed:
            return
        if long:
            self.device.factory_reset(now)
        elif _SETUP in self.holds:
            self._release(now, _SETUP, _REPORT)
        else:
            self.wake("button", now, hold=_SETUP)

    def on_world(self, quantity: str, now: Now) -> None:
        world = self.device.world
        if quantity == self.alarm:
            if getattr(world, quantity):
                self.wake("alarm", now, hold=_ALARM)
            elif _ALARM in self.holds:
                self.wake("alarm", now)  # report the all-clear, then sleep
                self._release(now, _ALARM)
        elif quantity == "battery":
            low = world.battery <= self.low_battery
            if low and not self.battery_low:
                self.wake("battery", now)
            self.battery_low = low
        elif quantity in self.thresholds:
            if not self.device.asleep:
                self.reported[quantity] = getattr(world, quantity)
            elif self._beyond_threshold(quantity):
                self.wake("sensor", now)

    def _beyond_threshold(self, quantity: str) -> bool:
        """Seed 003: a change greater than the threshold since the last report wakes the device;
        the temperature threshold is in the configured unit."""
        value = float(getattr(self.device.world, quantity))
        delta = abs(value - self.reported.get(quantity, value))
        if quantity == "temperature" and get_path(self.device.config, UNIT_PATH) == "F":
            delta *= 9 / 5
        return delta > float(get_path(self.device.config, self.thresholds[quantity]))

    # --- lifecycle -------------------------------------------------------------------------------

    def boot(self, now: Now, power_on: bool) -> None:
        """Power-on (or reboot): awake with act_reasons ["poweron"] (capture SHHT-1 status__3)."""
        world = self.device.world
        self.holds.clear()
        self.device.asleep = True
        self.wake("poweron", now)
        if self.alarm and getattr(world, self.alarm):
            self.wake("alarm", now, hold=_ALARM)
        self.battery_low = world.battery <= self.low_battery
