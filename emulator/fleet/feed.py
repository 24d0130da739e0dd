"""Live rows for the dashboard: server-sent events on the control API's ``/_emu/events``.

Rows of devices that changed are batched and sent at most every ``INTERVAL`` seconds, so a
10,000-device fleet costs one small message a tick, not one per event. A device counts as
changed when it emitted events (a runtime listener marks it) or when its faults or sleep state
differ from the last tick. The control server's connection class hands ``GET /_emu/events`` to
the feed and keeps the socket open; everything else is answered as before.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import TYPE_CHECKING, Any

from ..transports.http.server import HttpConnection, WsgiApp
from .dashboard import row
from .interface import FleetControl

if TYPE_CHECKING:
    from ..core.events import Event
    from ..runtime import DeviceHost

__all__ = ["INTERVAL", "EventFeed", "FeedConnection"]

#: Seconds between two batches: at most four updates a second reach a browser.
INTERVAL = 0.25
#: A subscriber with more unsent bytes than this is too slow to follow and is dropped.
_MAX_BACKLOG = 4 * 1024 * 1024
_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Connection: close\r\n\r\nretry: 1000\n\n"
)


class EventFeed:
    """Subscribers of one control API and the devices changed since the last batch."""

    def __init__(self, control: FleetControl) -> None:
        self.control = control
        self.subscribers: set[asyncio.Transport] = set()
        self._dirty: set[DeviceHost] = set()
        self._seen: dict[DeviceHost, tuple[Any, bool]] = {}
        self._timer: asyncio.TimerHandle | None = None
        control.runtime.listeners.append(self._mark)

    def _mark(self, host: DeviceHost, events: list[Event]) -> None:
        if self.subscribers:
            self._dirty.add(host)

    def subscribe(self, transport: asyncio.Transport) -> None:
        transport.write(_HEAD)
        self.subscribers.add(transport)
        if self._timer is None:
            self._timer = self.control.runtime.loop.call_later(INTERVAL, self._tick)

    def unsubscribe(self, transport: asyncio.Transport) -> None:
        self.subscribers.discard(transport)

    def _tick(self) -> None:
        self._timer = None
        server = self.control.server
        if server is None or not server.is_serving():
            for transport in list(self.subscribers):
                transport.close()
            self.subscribers.clear()
        if not self.subscribers:
            self._dirty.clear()
            return
        rows = []
        for member in self.control.fleet:
            host = member.host
            seen = (host.faults, host.device.asleep)
            before = self._seen.setdefault(host, seen)  # first sight: the page has /_emu/rows
            if host in self._dirty or before != seen:
                self._seen[host] = seen
                rows.append(row(member))
        self._dirty.clear()
        if rows:
            message = f"data: {json.dumps(rows, separators=(',', ':'))}\n\n".encode()
            for transport in list(self.subscribers):
                if transport.get_write_buffer_size() > _MAX_BACKLOG:
                    transport.close()
                    self.subscribers.discard(transport)
                else:
                    transport.write(message)
        self._timer = self.control.runtime.loop.call_later(INTERVAL, self._tick)


class FeedConnection(HttpConnection):
    """A control API connection that streams ``GET /_emu/events`` from the feed."""

    def __init__(self, feed: EventFeed, app: WsgiApp, **options: Any) -> None:
        super().__init__(app, {}, **options)
        self.feed = feed
        self.streaming = False

    def data_received(self, data: bytes) -> None:
        if not self.streaming:  # an event stream reads nothing more from its client
            super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.feed.unsubscribe(self.transport)
        super().connection_lost(exc)

    def _answer(self, environ: dict[str, Any], keep_alive: bool) -> None:
        if (
            environ["PATH_INFO"] == "/_emu/events"
            and environ["REQUEST_METHOD"] == "GET"
            and self.transport is not None
        ):
            self.streaming = True
            self.deadline = math.inf  # an event stream is never idle: no timeout sweeps it
            self.feed.subscribe(self.transport)
            return
        super()._answer(environ, keep_alive)
