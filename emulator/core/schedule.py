"""Weekly schedules of relays and rollers: ``schedule`` and ``schedule_rules`` on the injected
clock, in the device's local time (core/localtime.py).

Rule grammar as firmware 1.14 stores it, ``TIME-DAYS-ACTION`` joined with ``,``:

- ``TIME`` is ``HHMM`` (local wall clock), or ``HHMM`` followed by ``bsr``/``asr``/``bss``/
  ``ass``: that offset before/after sunrise/sunset (``0030bss`` = 30 min before sunset,
  ``0000asr`` = at sunrise). Source: a real SHUNI-1 /settings dump on 1.14.0 with
  ``"0000ass-0123456-on"``, ``"0000asr-0123456-off"``, ``"0500-02-on"`` (usnasoft/shellyscanner
  ShellyUNI.java); its /status shows a relay switched by it with ``"source": "schedule"``.
- ``DAYS`` lists weekday digits, Monday = 0 (seed 003 Sense "Schedule rules").
- ``ACTION`` is what the channel does (``on``/``off``; ``open``/``close``/``stop``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from .clock import Now
from .errors import BadRequest
from .localtime import Place
from .timers import Timers

__all__ = ["Rule", "WeeklySchedule", "parse_rules"]

_RULE = re.compile(
    r"(?P<hh>[01]\d|2[0-3])(?P<mm>[0-5]\d)(?P<sun>[ab]s[rs])?-(?P<days>[0-6]{1,7})-(?P<action>.+)"
)
_SUN = {"sr": "sunrise", "ss": "sunset"}


class Timed(Protocol):
    """What a schedule needs of its device: named timers on the injected clock."""

    timers: Timers

    def schedule(self, key: str, at: float, action: Callable[[Now], None]) -> None: ...


@dataclass(frozen=True, slots=True)
class Rule:
    """One parsed rule: ``minutes`` past local midnight, or the signed offset from ``sun``."""

    minutes: int
    sun: str | None
    days: frozenset[int]
    action: str

    def next_after(self, unix: float, place: Place) -> float | None:
        """Unix time of the first run strictly after ``unix`` (None: never within a week)."""
        today = place.local(unix).date()
        for delta in range(-1, 9):
            day = today + timedelta(days=delta)
            if day.weekday() not in self.days:
                continue
            if self.sun is None:
                at: float | None = place.to_unix(day, self.minutes * 60)
            else:
                base = place.sun(self.sun, day)
                at = None if base is None else base + self.minutes * 60
            if at is not None and at > unix:
                return at
        return None


def parse_rules(value: str, actions: Collection[str] | None = None) -> list[Rule]:
    """Parse a ``schedule_rules`` parameter (``actions`` None: stored rules, any action);
    BadRequest names the first bad rule."""
    rules = []
    for text in (part for part in value.split(",") if part):
        match = _RULE.fullmatch(text)
        if match is None or (actions is not None and match["action"] not in actions):
            raise BadRequest(
                f"schedule_rules: bad rule '{text}' (want HHMM[bsr|asr|bss|ass]-DAYS-ACTION)"
            )
        minutes = int(match["hh"]) * 60 + int(match["mm"])
        sun = match["sun"]
        rules.append(
            Rule(
                minutes=-minutes if sun and sun[0] == "b" else minutes,
                sun=_SUN[sun[1:]] if sun else None,
                days=frozenset(int(d) for d in match["days"]),
                action=match["action"],
            )
        )
    return rules


class WeeklySchedule:
    """Arms one named timer for a channel's next rule and runs ``act(action, now)`` when due.

    ``read()`` gives the channel's current ``(schedule, schedule_rules, place)``; ``arm`` is
    called at boot and whenever the rules or the device's time settings change.
    """

    def __init__(
        self,
        key: str,
        owner: Timed,
        read: Callable[[], tuple[bool, list[str], Place]],
        act: Callable[[str, Now], None],
    ) -> None:
        self._key = key
        self._owner = owner
        self._read = read
        self._act = act

    def arm(self, now: Now) -> None:
        self._owner.timers.cancel(self._key)
        enabled, rules, place = self._read()
        if not enabled:
            return
        due = [
            (at, rule)
            for rule in parse_rules(",".join(rules))
            if (at := rule.next_after(now.unix, place))
        ]
        if not due:
            return
        at = min(when for when, _ in due)
        actions = [rule.action for when, rule in due if when == at]

        def fire(when: Now) -> None:
            for action in actions:
                self._act(action, when)
            self.arm(when)

        self._owner.schedule(self._key, now.mono + (at - now.unix), fire)


class ScheduledChannel:
    """Weekly ``schedule`` / ``schedule_rules`` for a channel component (relay, roller): arms
    its WeeklySchedule at boot, when its rules change and when the device's time zone or place
    does. Mixed in before Component; the channel runs ``_scheduled(action, now)``."""

    key: str
    device: Any
    config: dict[str, Any]
    active: bool
    weekly: WeeklySchedule

    def start_schedule(self) -> None:
        self.weekly = WeeklySchedule(
            f"{self.key}:schedule", self.device, self._schedule_settings, self._scheduled
        )

    def _schedule_settings(self) -> tuple[bool, list[str], Place]:
        return (
            bool(self.config["schedule"]),
            list(self.config["schedule_rules"]),
            Place.of(self.device.config),
        )

    def _scheduled(self, action: str, now: Now) -> None:
        raise NotImplementedError

    def rearm_schedule(self, changes: Collection[str], now: Now) -> None:
        """After a settings change: the rules may have moved."""
        if {"schedule", "schedule_rules"} & set(changes) and self.active:
            self.weekly.arm(now)

    def on_device_settings(self, now: Now) -> None:
        """Time zone or place may have moved: the next scheduled run moves with them."""
        if self.active:
            self.weekly.arm(now)
