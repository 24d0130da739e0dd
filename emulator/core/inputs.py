"""Physical inputs (SW terminals, the Plug's button): level, short/long presses and the
``inputs`` status entry (``input``, ``event``, ``event_cnt``: capture SHSW-1 fw 1.14)."""

from __future__ import annotations

from typing import Any

from .clock import Now
from .component import Component
from .events import InputEvent

__all__ = ["Input"]


class Input(Component, kind="input"):
    """A switch or button wired to the device; it drives the output that owns its channel."""

    collection = "inputs"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.level = False
        self.event = ""
        self.event_cnt = 0
        super().__init__(*args, **kwargs)

    def f_input(self, now: Now) -> int:
        return int(self.level)

    def f_event(self, now: Now) -> str:
        return self.event

    def f_event_cnt(self, now: Now) -> int:
        return self.event_cnt

    def _owner(self) -> Component | None:
        """The active output this input controls: its relay, else the roller in roller mode."""
        for candidate in self.device.components:
            if (
                candidate.active
                and hasattr(candidate, "on_input")
                and candidate.owns_input(self.channel)
            ):
                return candidate
        return None

    def set_level(self, level: bool, now: Now) -> None:
        """A toggle switch moved to ``level``."""
        if level == self.level:
            return
        self.level = level
        self.device.status_changed(f"{self.key} level")
        owner = self._owner()
        if owner is not None:
            owner.on_input(level, now, input_channel=self.channel)

    def press(self, now: Now, *, long: bool = False) -> None:
        """A momentary push: the level rises and falls; ``event`` is S or L."""
        self.event = "L" if long else "S"
        self.event_cnt += 1
        self.device.emit(InputEvent(self.channel, self.event))
        self.device.status_changed(f"{self.key} press")
        owner = self._owner()
        if owner is not None:
            owner.on_input(True, now, input_channel=self.channel, pressed=True, long=long)
