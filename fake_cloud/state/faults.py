"""Fault injection by endpoint: latency, error answers, dropped answers (spec/cloud.md §7).

A fault targets `rest:<path glob>` (e.g. `rest:/device/all_status`, `rest:/oauth/*`) or
`ws:<event>` (e.g. `ws:Shelly:CommandRequest`, `ws:Integrator:ActionRequest`). It fires with a
probability (drawn from a seeded generator, so runs repeat), or after letting `skip` matching
requests through and then for `count` of them (skip-N / fail-M), like moto's state manager.
"""

import fnmatch
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Fault", "Faults", "RateLimiter"]


@dataclass(slots=True)
class Fault:
    """What happens to a matching request.

    `delay` seconds of latency; then `error` (REST: an `isok:false` answer with HTTP `status`;
    CommandRequest: `data.res`; ActionRequest: `data.result`) or `drop` (a WS request gets no
    answer at all). A fault with only `delay` slows requests down and lets them succeed.
    """

    target: str
    delay: float = 0.0
    error: str | None = None
    status: int = 500
    drop: bool = False
    probability: float = 1.0
    skip: int = 0
    count: int | None = None
    id: int = 0
    seen: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if not self.target.startswith(("rest:", "ws:")):
            raise ValueError("target must start with 'rest:' or 'ws:'")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within 0..1")


class Faults:
    """The active faults of one cloud; thread-safe."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults-{seed}")
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, **spec: Any) -> Fault:
        fault = Fault(**{k: v for k, v in spec.items() if k not in ("id", "seen", "fired")})
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
        return fault

    def clear(self, seed: int | None = None) -> None:
        with self._lock:
            self._faults.clear()
            if seed is not None:
                self._rng = random.Random(f"faults-{seed}")

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def match(self, target: str) -> Fault | None:
        """The fault that fires for this request, counting it against every matching fault."""
        with self._lock:
            for fault in self._faults:
                if not fnmatch.fnmatchcase(target, fault.target):
                    continue
                fault.seen += 1
                if fault.seen <= fault.skip:
                    continue
                if fault.count is not None and fault.fired >= fault.count:
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                return fault
        return None


class RateLimiter:
    """Token buckets per key on the cloud's clock (seed 002: `shelly-diy` tokens "may be
    subject to rate restrictions"; the Cloud Control API allows one call a second)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def allow(self, key: str, rate: float, burst: int) -> bool:
        now = self._now()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - at) * rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            return allowed

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
