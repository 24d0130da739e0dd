"""Clocks for the fake cloud: token expiry, rate limits and the recorder read time only here.

DESIGN principle 1: time is injected. `SystemClock` follows the wall clock and can be shifted
(the control plane's "advance" works on a live cloud); `ManualClock` moves only when told, so a
test expires a 24 h integrator token (seed 000 "valid for 24 hours") without waiting.
"""

import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Seconds since the Unix epoch, as JWT `iat`/`exp` count them (RFC 7519 §2 NumericDate)."""

    def now(self) -> float: ...

    def advance(self, seconds: float) -> None: ...

    def on_change(self, callback: Callable[[], None]) -> None: ...


class _Observed:
    """Clock changes are announced so sockets can be closed at token expiry when asked to."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def on_change(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def _changed(self) -> None:
        for callback in list(self._callbacks):
            callback()


class SystemClock(_Observed):
    """Wall-clock time plus an offset that `advance` moves forward."""

    def __init__(self) -> None:
        super().__init__()
        self._offset = 0.0

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
        self._changed()


class ManualClock(_Observed):
    """Time that stands still until `advance` or `set`; starts at the wall clock by default.

    Starting at the real time matters: clients such as ushelly compare `exp` with their own
    clock (spec/cloud.md §5, "exp*1000 > now+10 s"), so tokens must not look expired to them.
    """

    def __init__(self, start: float | None = None) -> None:
        super().__init__()
        self._now = time.time() if start is None else start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
        self._changed()

    def set(self, when: float) -> None:
        with self._lock:
            self._now = when
        self._changed()
