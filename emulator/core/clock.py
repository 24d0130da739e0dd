"""Time as the core sees it: passed in, never read (DESIGN.md principle 1).

The wall clock (RealClock) lives in ``emulator.clock``, outside the pure core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Clock", "ManualClock", "Now"]

#: 2024-01-01T00:00:00Z, the ManualClock's default wall-clock start.
DEFAULT_EPOCH = 1_704_067_200.0


@dataclass(frozen=True, slots=True)
class Now:
    """A point in time: ``mono`` for deadlines and durations, ``unix`` for rendered timestamps."""

    mono: float
    unix: float


class Clock(Protocol):
    """Anything that can tell the time; the runtime owns one and passes ``Now`` to the core."""

    def now(self) -> Now: ...


class ManualClock:
    """A clock that moves only when told to, so tests of a 300 s timer take milliseconds."""

    def __init__(self, unix: float = DEFAULT_EPOCH, mono: float = 1000.0) -> None:
        self._mono = mono
        self._offset = unix - mono

    def now(self) -> Now:
        return Now(self._mono, self._mono + self._offset)

    def advance(self, seconds: float) -> Now:
        """Move time forward; the runtime then fires whatever came due."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._mono += seconds
        return self.now()
