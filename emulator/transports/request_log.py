"""A bounded log of the requests devices answered (HTTP now; the CoIoT transport adds CoAP).

Kept as tuples and formatted only when read: recording is on the hot path of every request.
The control API serves it for download (``GET /_emu/log``), the fixtures expose it to tests.

Bounded in memory whatever clients send: at most ``maxlen`` records and ``max_bytes`` of them,
a path or query longer than ``max_field`` is cut (its original length kept), and a refused
request (401, 408, 413, 414, 431) is kept without its query: an unauthenticated client must not
be able to pin memory through the log.
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
    #: Original (path, query) lengths when either was cut or dropped, else None.
    cut: tuple[int, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        extra = (
            {} if self.cut is None else {"path_length": self.cut[0], "query_length": self.cut[1]}
        )
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
            **extra,
        }


#: Statuses of refused requests, logged without their query.
_REFUSED = frozenset({401, 408, 413, 414, 431})
#: Bytes a record costs besides its path and query (the tuple, its numbers, the device name
#: shared with the device).
_RECORD_OVERHEAD = 256


class RequestLog:
    """The last ``maxlen`` requests across a runtime (within ``max_bytes``), oldest first."""

    def __init__(
        self, maxlen: int = 10_000, *, max_field: int = 1024, max_bytes: int = 8 << 20
    ) -> None:
        self._records: deque[RequestRecord] = deque()
        self.maxlen = maxlen
        self.max_field = max_field
        self.max_bytes = max_bytes
        self._bytes = 0

    def record(self, record: RequestRecord) -> None:
        path, query = record.path, record.query
        limit = self.max_field
        if len(path) > limit or len(query) > limit or (query and record.status in _REFUSED):
            refused = record.status in _REFUSED
            record = record._replace(
                path=path[:limit],
                query="" if refused else query[:limit],
                cut=(len(path), len(query)),
            )
            path, query = record.path, record.query
        records = self._records
        records.append(record)
        self._bytes += _RECORD_OVERHEAD + len(path) + len(query)
        while len(records) > self.maxlen or self._bytes > self.max_bytes:
            old = records.popleft()
            self._bytes -= _RECORD_OVERHEAD + len(old.path) + len(old.query)

    @property
    def size(self) -> int:
        """Approximate bytes the records hold."""
        return self._bytes

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
        self._bytes = 0
