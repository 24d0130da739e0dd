"""Named deadlines on the injected clock: the core's only notion of "later"."""

from __future__ import annotations

from collections.abc import Callable

from .clock import Now

__all__ = ["Timers"]

#: Upper bound on timers fired by one run_due() call, so a callback that keeps re-arming
#: itself in the past cannot spin forever.
_MAX_FIRES_PER_RUN = 100_000


class Timers:
    """A set of one-shot timers keyed by name; re-arming a key replaces the old deadline."""

    def __init__(self) -> None:
        self._due: dict[str, tuple[float, Callable[[Now], None]]] = {}

    def set(self, key: str, at: float, action: Callable[[Now], None]) -> None:
        self._due[key] = (at, action)

    def cancel(self, key: str) -> None:
        self._due.pop(key, None)

    def deadline(self, key: str) -> float | None:
        entry = self._due.get(key)
        return None if entry is None else entry[0]

    def clear(self) -> None:
        self._due.clear()

    def next_deadline(self) -> float | None:
        return min((at for at, _ in self._due.values()), default=None)

    def run_due(self, now: Now) -> int:
        """Fire every timer due at ``now`` in deadline order, each seeing its own deadline as now.

        Firing at the exact deadline keeps energy integration and travel positions exact
        however far a ManualClock jumped.
        """
        fired = 0
        while fired < _MAX_FIRES_PER_RUN:
            key = min(self._due, key=lambda k: self._due[k][0], default=None)
            if key is None or self._due[key][0] > now.mono:
                break
            at, action = self._due.pop(key)
            action(Now(at, now.unix - (now.mono - at)))
            fired += 1
        return fired
