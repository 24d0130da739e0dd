"""A bounded log of the requests devices answered (HTTP now; the CoIoT transport adds CoAP).

Kept as tuples and formatted only when read: recording is on the hot path of every request.
The control API serves it for download (``GET /_emu/log``), the fixtures expose it to tests.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, NamedTuple

__all__ = ["RequestLog", "RequestRecord"]


class RequestRecord(NamedTuple):
    """One answered (or dropped: ``status`` 0) request (a tuple: cheap to record)."""

    time: float
    proto: str
    device: str
    method: str
    path: str
    query: str
    status: int
    seconds: float
    peer: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "proto": self.proto,
            "device": self.device,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "ms": round(self.seconds * 1000, 3),
            "peer": self.peer,
        }


class RequestLog:
    """The last ``maxlen`` requests across a runtime, oldest first."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)

    def record(self, record: RequestRecord) -> None:
        self._records.append(record)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(list(self._records))

    def select(
        self, *, device: str | None = None, proto: str | None = None, limit: int | None = None
    ) -> list[RequestRecord]:
        """Matching records, oldest first; ``limit`` keeps the newest ones."""
        found = [
            r
            for r in self._records
            if (device is None or r.device == device) and (proto is None or r.proto == proto)
        ]
        return found[-limit:] if limit else found

    def clear(self) -> None:
        self._records.clear()
