"""A running device as the runtime hosts it: the core plus its sockets, faults and listeners.

Methods are for the runtime's loop thread, except ``get``, ``status`` and ``settings``, which
marshal through ``Runtime.call`` and so work from any thread (tests, the CLI). DeviceHost is
defined here only (``emulator.runtime`` re-exports it); it sees its runtime through ``Runner``,
so this module never imports runtime.py, which builds hosts.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ..core.device import Device
from ..core.events import Event
from ..transports.faults import NO_FAULTS, Faults
from ..transports.http.server import Gate
from .clock import Clock, Now
from .world import World

__all__ = ["DeviceHost", "Listener", "Runner"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

type Listener = Callable[["DeviceHost", list[Event]], None]


class Runner(Protocol):
    """The runtime as its hosts see it (runtime.Runtime is one)."""

    clock: Clock
    listeners: list[Listener]

    def call(self, fn: Callable[[], T], timeout: float = 30) -> T: ...

    def reschedule(self, host: DeviceHost) -> None: ...

    def follow_sleep(self, host: DeviceHost) -> None: ...


@dataclass(eq=False)
class DeviceHost:
    """A running device: its core plus where it listens. Methods are loop-thread only,
    except the ones that go through ``runtime.call`` (``status``, ``settings``, ``get``)."""

    runtime: Runner
    device: Device
    ip: str
    http_port: int
    listeners: list[Listener] = field(default_factory=list)
    server: asyncio.Server | None = None
    #: Custom HTTP gate (server.Gate); used when no fault is injected.
    gate: Gate | None = None
    #: Injected faults (emulator/transports/faults.py); transports read them per message.
    faults: Faults = NO_FAULTS
    #: Battery devices: what HTTP clients meet while ``device.asleep`` ("timeout" or "refuse",
    #: core/sleep.py WHILE_ASLEEP); the profile's choice, changeable per host (the listener
    #: follows at the next event batch). None: the model never sleeps.
    while_asleep: str | None = None
    #: Open HTTP connections the device accepts (0: no limit); a fidelity setting, since real
    #: Gen1 devices hold only a handful. An injected ``max_connections`` fault overrides it.
    max_connections: int = 0
    #: The bound listening socket while HTTP is served (None while asleep under "refuse").
    listener: socket.socket | None = None
    _timer: asyncio.TimerHandle | None = None
    #: The deadline ``_timer`` is armed for (re-arming for the same one is skipped).
    _deadline: float | None = None
    #: Resolved (False: drop) at wake-up: requests that arrived while asleep never get an answer.
    _woken: asyncio.Future[bool] | None = None

    @property
    def url(self) -> str:
        port = "" if self.http_port == 80 else f":{self.http_port}"
        return f"http://{self.ip}{port}"

    @property
    def world(self) -> World:
        return World(self)

    @property
    def model(self) -> str:
        return self.device.profile.model

    def now(self) -> Now:
        return self.runtime.clock.now()

    def connection_limit(self) -> int:
        """Open HTTP connections allowed now (0: any): the fault's when injected, else its own."""
        return self.faults.max_connections or self.max_connections

    # --- loop-thread API ----------------------------------------------------------------------

    def call(self, path: str, params: Mapping[str, str]) -> dict[str, Any] | list[Any]:
        """Serve a Gen1 resource, then dispatch what the device emitted."""
        try:
            return self.device.call(path, params, self.now())
        finally:
            self.dispatch()

    def act(self, action: Callable[[Now], T]) -> T:
        """Run a core action with the current time, then dispatch (world actions use it)."""
        try:
            return action(self.now())
        finally:
            self.dispatch()

    def dispatch(self) -> None:
        events = self.device.drain_events()
        if events:
            for listener in (*self.runtime.listeners, *self.listeners):
                try:
                    listener(self, events)
                except Exception:
                    logger.exception("%s: event listener failed", self.device.identity.hostname)
        self.runtime.reschedule(self)
        self.runtime.follow_sleep(self)

    # --- any-thread conveniences ------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        """Call a resource from any thread (no HTTP), e.g. ``host.get("relay/0", turn="on")``."""
        text = {k: str(v) for k, v in params.items()}
        return self.runtime.call(lambda: self.call(path, text))

    def status(self) -> dict[str, Any]:
        return self.get("status")

    def settings(self) -> dict[str, Any]:
        return self.get("settings")
