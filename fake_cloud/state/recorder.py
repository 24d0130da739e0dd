"""Recorder of everything the cloud saw and said: REST calls, WS frames, device-link frames,
consent callbacks. Tests assert on exactly what a client sent (spec/cloud.md §7 "Recorder";
moto's recorder and pytest-httpserver's `log` are the model).

Bounded whatever clients send: a field bigger than `max_field` bytes (as JSON) is kept as
`{"cut": <its first max_field characters>, "length": <its full length>}`, binary data as hex,
and the oldest records go once there are more than `size` of them or more than `max_bytes`.
"""

import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Recorder", "bounded"]

#: Bytes a record costs besides its fields (dict, seq, time, kind).
_OVERHEAD = 400


def bounded(value: Any, limit: int) -> tuple[Any, int]:
    """``value`` as the recorder keeps it, and about how many bytes that costs."""
    if value is None or isinstance(value, bool | int | float):
        return value, 32
    if isinstance(value, bytes | bytearray):
        text = bytes(value[: limit // 2]).hex()
        return (text, len(text)) if len(value) * 2 <= limit else _cut(text, len(value) * 2)
    if isinstance(value, str):
        return (value, len(value)) if len(value) <= limit else _cut(value[:limit], len(value))
    try:
        text = json.dumps(value, default=str)
    except (ValueError, TypeError, RecursionError):
        text = repr(value)[: limit + 1]
    if len(text) <= limit:
        return value, 2 * len(text)  # the objects cost more than their JSON
    return _cut(text[:limit], len(text))


def _cut(text: str, length: int) -> tuple[dict[str, Any], int]:
    return {"cut": text, "length": length}, len(text) + 64


class Recorder:
    """A bounded, thread-safe log of records `{"seq", "t", "kind", …}`.

    Kinds: `rest`, `ws_in`, `ws_out`, `ws_refused`, `link_in`, `link_out`, `callback`.
    """

    def __init__(
        self,
        now: Callable[[], float],
        size: int,
        *,
        max_field: int = 64 * 1024,
        max_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self._now = now
        self.size = size
        self.max_field = max_field
        self.max_bytes = max_bytes
        self._records: deque[tuple[int, dict[str, Any]]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._seq = 0
        self.enabled = True

    def add(self, kind: str, **fields: Any) -> None:
        if not self.enabled:
            return
        cost = _OVERHEAD
        for name, value in fields.items():
            fields[name], bytes_ = bounded(value, self.max_field)
            cost += bytes_
        with self._lock:
            self._seq += 1
            self._records.append(
                (cost, {"seq": self._seq, "t": self._now(), "kind": kind, **fields})
            )
            self._bytes += cost
            while len(self._records) > self.size or self._bytes > self.max_bytes:
                self._bytes -= self._records.popleft()[0]

    @property
    def bytes(self) -> int:
        """About how many bytes the records hold."""
        return self._bytes

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for _, r in self._records if kind is None or r["kind"] == kind]

    def recent(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """The last ``limit`` records newer than sequence number ``after``, oldest first; reads
        from the newest end, so a page polling it costs ``limit``, not the recorder's size."""
        newest: list[dict[str, Any]] = []
        with self._lock:
            for _, record in reversed(self._records):
                if record["seq"] <= after or len(newest) >= limit:
                    break
                newest.append(record)
        return newest[::-1]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._bytes = 0
