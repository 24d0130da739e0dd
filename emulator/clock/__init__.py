"""Clocks, kept at their public name: ``from emulator.clock import ManualClock, RealClock``.

They live in emulator/runtime/clock.py (the pure ones in emulator/core/clock.py).
"""

from ..runtime.clock import Clock, ManualClock, Now, RealClock

__all__ = ["Clock", "ManualClock", "Now", "RealClock"]
