"""Every open HTTP connection of a runtime: the process budget, per-device limits, timeouts.

Descriptors are finite (DESIGN.md: 20,000 a process here) and shared by every device of the
process, so one device's idle or slowloris clients must not starve the others:

- a per-process **budget** of connections, below the descriptor limit: when it is reached, the
  device holding the most connections loses the one that has gone longest without completing a
  request (an idle keep-alive, a slowloris head) to the new one; when none can be (all are being
  answered), the new one is reset at once;
- an optional **per-device limit** (a fidelity setting and a fault: a real Gen1 device holds only
  a handful of TCP connections): connections over it are reset at once;
- **timeouts** checked by one sweeper a tick, not a timer per connection (the keep-alive hot
  path only writes a deadline);
- asyncio's accept loop reports every EMFILE of every listener with a traceback (26 MB of log in
  20 s with a thousand listeners): ``on_loop_error`` reclaims idle connections instead and says
  so in one warning per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import resource
import socket
import struct
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from .limits import HttpLimits

__all__ = ["Connections", "Tracked", "raise_descriptor_soft_limit"]

logger = logging.getLogger(__name__)

#: Descriptors kept out of the budget: listeners' neighbours, log files, the control API, links.
_SPARE = 256
#: Seconds between two warnings about connection pressure (counts are summed in between).
_WARN_INTERVAL = 10.0
_ACCEPT_ERROR = "socket.accept() out of system resource"


class Tracked(Protocol):
    """What the registry needs of a connection (HttpConnection implements it)."""

    owner: Any
    #: Loop time when the connection times out in its current phase (inf while answering).
    deadline: float

    @property
    def evictable(self) -> bool: ...

    def expire(self) -> None: ...

    def reclaim(self) -> None: ...


def raise_descriptor_soft_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; (old soft, new soft)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft, soft
    return soft, hard


def reset(transport: asyncio.BaseTransport) -> None:
    """Close with a TCP reset (SO_LINGER 0): what a client meets when a device has no room."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class Connections:
    """The runtime's open HTTP connections, oldest activity first. Loop thread only.

    ``owner_limit(owner)`` is a device's connection limit now (0: none); ``reserved()`` the
    descriptors the runtime holds for other things (listeners, CoIoT sockets).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        limits: HttpLimits,
        *,
        owner_limit: Callable[[Any], int] = lambda owner: 0,
        reserved: Callable[[], int] = lambda: 0,
    ) -> None:
        self.loop = loop
        self.limits = limits
        self.owner_limit = owner_limit
        self.reserved = reserved
        #: Each device's open connections, oldest activity first.
        self._owners: dict[Any, dict[Tracked, None]] = {}
        self._count = 0
        #: The device holding the most connections (as of its last admit): reclaimed first.
        self._heaviest: Any = None
        self._sweeper: asyncio.TimerHandle | None = None
        #: Totals since start: reclaimed (budget), refused (budget or device limit), timed out,
        #: accept() failures for want of descriptors.
        self.totals: Counter[str] = Counter()
        self._pending: Counter[str] = Counter()
        self._warned = -math.inf

    # --- the budget -------------------------------------------------------------------------

    def raise_descriptor_limit(self, per_device: int) -> None:
        """Soft descriptor limit up to the hard one (at start), and say what that allows."""
        old, new = raise_descriptor_soft_limit()
        logger.info(
            "descriptor limit %d%s: room for about %d devices (%d descriptors each) plus their "
            "connections; HTTP connection budget %d for the whole process",
            new,
            f" (soft limit raised from {old})" if new != old else "",
            max(0, new - _SPARE) // per_device,
            per_device,
            self.budget,
        )

    @property
    def budget(self) -> int:
        """Connections this process may hold: the configured budget, else the soft descriptor
        limit less what the runtime holds and a spare."""
        if self.limits.connection_budget:
            return self.limits.connection_budget
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            soft = 1 << 20
        return max(16, soft - self.reserved() - _SPARE)

    def __len__(self) -> int:
        return self._count

    def count(self, owner: Any) -> int:
        return len(self._owners.get(owner, ()))

    def admit(self, conn: Tracked) -> bool:
        """Register a new connection, or False: the caller resets it."""
        owner = conn.owner
        mine = self._owners.get(owner)
        limit = self.owner_limit(owner)
        if limit and mine is not None and len(mine) >= limit:
            self._note("refused (device connection limit)")
            return False
        budget = self.budget
        while self._count >= budget:
            if not self._reclaim_one():
                self._note("refused (budget full, every connection busy)")
                return False
            self._note("reclaimed (budget full)")
        if mine is None:
            mine = self._owners[owner] = {}
        mine[conn] = None
        self._count += 1
        if len(mine) > self.count(self._heaviest):
            self._heaviest = owner
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(self.limits.tick, self._sweep)
        return True

    def touch(self, conn: Tracked) -> None:
        """A request completed on ``conn``: it is its device's newest (reclaimed last)."""
        mine = self._owners.get(conn.owner)
        if mine is not None and conn in mine:
            del mine[conn]
            mine[conn] = None

    def release(self, conn: Tracked) -> None:
        mine = self._owners.get(conn.owner)
        if mine is not None and conn in mine:
            del mine[conn]
            self._count -= 1
            if not mine:
                del self._owners[conn.owner]

    def reclaim(self, count: int) -> int:
        """Close up to ``count`` connections, as admit() does when the budget is full."""
        done = 0
        while done < count and self._reclaim_one():
            done += 1
        return done

    def _reclaim_one(self) -> bool:
        """Close the connection of the device holding the most that has gone longest without
        completing a request (a flooded device pays for its flood, not its neighbours)."""
        victim = self._oldest_evictable(self._heaviest)
        if victim is None:
            for owner in sorted(self._owners, key=self.count, reverse=True):
                victim = self._oldest_evictable(owner)
                if victim is not None:
                    self._heaviest = owner
                    break
        if victim is None:
            return False
        self.release(victim)
        victim.reclaim()
        return True

    def _oldest_evictable(self, owner: Any) -> Tracked | None:
        return next((c for c in self._owners.get(owner, ()) if c.evictable), None)

    def close_all(self) -> None:
        for conn in [c for mine in self._owners.values() for c in mine]:
            self.release(conn)
            conn.reclaim()

    # --- timeouts ---------------------------------------------------------------------------

    def _sweep(self) -> None:
        self._sweeper = None
        now = self.loop.time()
        expired = [c for mine in self._owners.values() for c in mine if c.deadline <= now]
        for conn in expired:
            self.release(conn)
            self.totals["timed out"] += 1
            conn.expire()
        if self._count:
            self._sweeper = self.loop.call_later(self.limits.tick, self._sweep)

    # --- accept() failures --------------------------------------------------------------------

    def on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """The loop's exception handler: an accept() that found no descriptor reclaims idle
        connections (asyncio retries the listener a second later) and is counted, not logged
        with a traceback; anything else goes to the default handler."""
        if context.get("message") != _ACCEPT_ERROR:
            loop.default_exception_handler(context)
            return
        self._note("accept() failures (descriptors exhausted)")
        for _ in range(self.reclaim(max(8, self._count // 100))):
            self._note("reclaimed (descriptors exhausted)")

    def _note(self, what: str) -> None:
        """Count an event; at most one warning per interval sums them up."""
        self.totals[what] += 1
        self._pending[what] += 1
        now = self.loop.time()
        if now - self._warned < _WARN_INTERVAL:
            return
        self._warned = now
        summary = ", ".join(f"{n} {what}" for what, n in sorted(self._pending.items()))
        self._pending.clear()
        logger.warning(
            "HTTP connections under pressure (%d open, budget %d): %s (next summary in %.0f s)",
            self._count,
            self.budget,
            summary,
            _WARN_INTERVAL,
        )

    def stats(self) -> dict[str, Any]:
        return {"open": self._count, "budget": self.budget, **self.totals}
