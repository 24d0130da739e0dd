"""Recorder of everything the cloud saw and said: REST calls, WS frames, device-link frames,
consent callbacks. Tests assert on exactly what a client sent (spec/cloud.md §7 "Recorder";
moto's recorder and pytest-httpserver's `log` are the model)."""

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Recorder"]


class Recorder:
    """A bounded, thread-safe log of records `{"seq", "t", "kind", …}`.

    Kinds: `rest`, `ws_in`, `ws_out`, `ws_refused`, `link_in`, `link_out`, `callback`.
    """

    def __init__(self, now: Callable[[], float], size: int) -> None:
        self._now = now
        self._records: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._seq = 0
        self.enabled = True

    def add(self, kind: str, **fields: Any) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._seq += 1
            self._records.append({"seq": self._seq, "t": self._now(), "kind": kind, **fields})

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self._records if kind is None or r["kind"] == kind]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
