"""Clocks for the runtime: the pure ones from the core plus the wall clock."""

from __future__ import annotations

import time

from ..core.clock import Clock, ManualClock, Now

__all__ = ["Clock", "ManualClock", "Now", "RealClock"]


class RealClock:
    """Wall-clock time (monotonic for deadlines); only the runtime reads it."""

    def now(self) -> Now:
        return Now(time.monotonic(), time.time())
