"""The hosting contract: what a transport may use of a running device and of the runtime.

emulator/runtime's DeviceHost and Runtime satisfy these protocols. Transports import this
module, never the runtime, so the arrows point one way (runtime -> transports -> core) and a
new transport (CoIoT, mDNS, the cloud link...) plugs in through the runtime's hooks: ``openers``
when a device starts serving, ``closers`` when it goes, ``listeners`` for its events and
``stoppers`` when the runtime stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Coroutine, Mapping
from typing import Any, Protocol, TypeVar

from ..core.clock import Clock, Now
from ..core.device import Device
from ..core.events import Event
from .faults import Faults
from .request_log import RequestLog

__all__ = ["Host", "Hosting", "Listener"]

T = TypeVar("T")


class Host(Protocol):
    """A running device: its core, where it listens, its injected faults (loop thread, except
    ``get`` and ``settings``, which marshal through the runtime and work from any thread)."""

    device: Device
    ip: str
    http_port: int
    faults: Faults

    @property
    def model(self) -> str: ...

    def now(self) -> Now: ...

    def call(self, path: str, params: Mapping[str, str]) -> dict[str, Any] | list[Any]: ...

    def act(self, action: Callable[[Now], T]) -> T: ...

    def get(self, path: str, **params: Any) -> Any: ...

    def settings(self) -> dict[str, Any]: ...


#: Hears a device's events after each change (loop thread).
type Listener = Callable[[Host, list[Event]], None]


class Hosting(Protocol):
    """The runtime that hosts the devices: its loop, clock, request log and hooks."""

    loop: asyncio.AbstractEventLoop
    clock: Clock
    request_log: RequestLog
    #: Descriptors each device holds besides its HTTP connections: its listener, plus one for
    #: each transport with a socket per device (the connection budget leaves them room).
    sockets_per_device: int
    #: Called with each device as it starts serving / is removed (loop thread).
    openers: list[Callable[[Host], None]]
    closers: list[Callable[[Host], None]]
    listeners: list[Listener]
    #: Awaited on the loop when the runtime stops.
    stoppers: list[Callable[[], Coroutine[Any, Any, None]]]

    @property
    def hosts(self) -> Collection[Host]: ...

    def call(self, fn: Callable[[], T], timeout: float = 30) -> T: ...

    def run(self, coro: Any, timeout: float = 30) -> Any: ...
