"""Runtime: one asyncio loop hosting 1..N devices (DESIGN.md principles 2 and 3).

The loop runs in a thread of its own (tests, CLI) and owns every device: HTTP is served on it,
timers fire on it, transports hear events on it. Calls from other threads are marshalled with
``Runtime.call``; nothing needs a lock. Under a ManualClock, ``advance()`` moves time and fires
every due timer across all devices in deadline order, so cross-device ordering stays exact.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..core.device import Device
from ..core.identity import derive_mac, make_identity
from ..core.sleep import while_asleep
from ..transports.faults import NO_FAULTS, Faults
from ..transports.http.app import create_app, fast_answer
from ..transports.http.connections import Connections
from ..transports.http.limits import DEFAULT_LIMITS, HttpLimits
from ..transports.http.quick import QuickLane
from ..transports.http.server import Gate, HttpConnection, bind_listener
from ..transports.request_log import RequestLog, RequestRecord
from .clock import Clock, ManualClock, RealClock
from .host import DeviceHost, Listener
from .lifecycle import Lifecycle
from .loops import new_loop
from .persistence import StateStore
from .profiles import Profile, load_profile

__all__ = ["Runtime"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Bound on timers fired by one advance(), so a timer re-arming itself cannot hang a test.
_MAX_TIMER_FIRES = 1_000_000
#: Descriptors a device holds at most besides its connections (listener, CoIoT socket): the
#: start-up log says how many devices the descriptor limit allows at that.
_DESCRIPTORS_PER_DEVICE = 2


#: How a device that is down meets HTTP: as an offline one.
_DOWN = Faults(offline=True)


def _connection_limit(owner: object) -> int:
    """A device's connection limit now; the control API (also an owner) has none."""
    return owner.connection_limit() if isinstance(owner, DeviceHost) else 0


class Runtime:
    """Hosts devices on one loop; start() spins up the loop thread, stop() tears all down."""

    def __init__(
        self,
        clock: Clock | None = None,
        state_dir: Path | str | None = None,
        *,
        log_size: int = 10_000,
        limits: HttpLimits = DEFAULT_LIMITS,
        loop: str | None = None,
    ) -> None:
        self.clock: Clock = clock or RealClock()
        #: Descriptors per device besides connections: the listener (transports add theirs).
        self.sockets_per_device = 1
        #: ``loop``: "asyncio" or "uvloop" (runtime/loops.py; default $SHELLY_EMU_LOOP, asyncio).
        self.loop = new_loop(loop)
        #: Sizes, timeouts and connection counts every device's HTTP listener applies.
        self.limits = limits
        #: Every open HTTP connection: the process budget and per-device limits (loop thread).
        self.connections = Connections(
            self.loop,
            limits,
            owner_limit=_connection_limit,
            reserved=lambda: self.sockets_per_device * len(self.hosts),
        )
        self.loop.set_exception_handler(self.connections.on_loop_error)
        self.store = (
            StateStore(Path(state_dir), schedule=self.loop.call_later) if state_dir else None
        )
        #: Running devices in start order (a dict used as an ordered set: O(1) removal).
        self.hosts: dict[DeviceHost, None] = {}
        self.listeners: list[Listener] = []
        #: Called on the loop when a device starts serving (transports open what it needs).
        self.openers: list[Callable[[DeviceHost], None]] = []
        #: Called on the loop when a device is removed (transports free what they hold for it).
        self.closers: list[Callable[[DeviceHost], None]] = []
        #: Awaited on the loop by stop() once every device is removed (shared sockets, goodbyes).
        self.stoppers: list[Callable[[], Coroutine[Any, Any, None]]] = []
        #: The last ``log_size`` requests answered by any device (control API: /_emu/log).
        self.request_log = RequestLog(log_size)
        #: Randomness of injected faults (seed it for reproducible flaky runs).
        self.rng = random.Random()
        self.app = create_app()
        self._thread: threading.Thread | None = None
        if self.store is not None:
            self.listeners.append(self.store.listener)
        self.lifecycle = Lifecycle(self)

    # --- loop thread ------------------------------------------------------------------------

    def start(self) -> Runtime:
        self.connections.raise_descriptor_limit(_DESCRIPTORS_PER_DEVICE)
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="shelly-emu-loop", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self.call(self._close_all)
        for stopper in self.stoppers:
            try:
                self.run(stopper())
            except Exception:
                logger.exception("runtime stop hook failed")
        self.run(self._cancel_tasks())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self._thread = None
        self.loop.close()

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, fn: Callable[[], T], timeout: float = 30) -> T:
        """Run ``fn`` on the loop thread and return its result (directly if already there)."""
        if self._thread is None or threading.current_thread() is self._thread:
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as error:  # handed back to the calling thread
                future.set_exception(error)

        self.loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the loop from another thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _cancel_tasks(self) -> None:
        """Let transport tasks (cloud links, publishers) finish cancelling before the loop stops."""
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks(self.loop) if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- devices ----------------------------------------------------------------------------

    def add_device(
        self,
        model: str | Profile,
        *,
        ip: str = "127.0.0.1",
        http_port: int = 0,
        mac: str | None = None,
        seed: str | None = None,
        fw: str | None = None,
        longid: bool | None = None,
        login: tuple[str, str] | None = None,
        settings: Mapping[str, str] | None = None,
        restore: Mapping[str, Any] | None = None,
        max_connections: int | None = None,
        mdns_app: str | None = None,
    ) -> DeviceHost:
        """Create a device, restore its saved state if any, and start serving HTTP.

        ``model`` is a code, a profile name or a Profile (``runtime/override.py`` builds one from
        a capture). ``settings`` are /settings parameters applied once at creation (``name``).
        ``restore`` is a snapshot to start from when the state directory has none.
        ``max_connections`` caps the device's open HTTP connections (default: the runtime's
        ``limits.max_connections``; 0: no cap). ``mdns_app`` replaces the profile's TXT ``app``.
        """
        profile = model if isinstance(model, Profile) else load_profile(model)
        mac = mac or derive_mac(profile.mac_prefix, seed or f"{profile.model}@{ip}:{http_port}")
        sock = bind_listener(ip, http_port)
        try:
            device = self.build_device(
                profile,
                mac,
                ip=ip,
                fw=fw,
                longid=longid,
                login=login,
                settings=settings,
                restore=restore,
            )
            if mdns_app is not None:
                device.mdns["app"] = mdns_app
            host = DeviceHost(
                self,
                device,
                ip,
                sock.getsockname()[1],
                while_asleep=while_asleep(profile),
                max_connections=(
                    self.limits.max_connections if max_connections is None else max_connections
                ),
            )
            self.call(lambda: self._serve(host, sock))
        except BaseException:
            sock.close()
            raise
        return host

    def build_device(
        self,
        profile: Profile,
        mac: str,
        *,
        ip: str,
        fw: str | None = None,
        longid: bool | None = None,
        login: tuple[str, str] | None = None,
        settings: Mapping[str, str] | None = None,
        restore: Mapping[str, Any] | None = None,
        fresh: bool = False,
    ) -> Device:
        """A device core: its saved state if any (unless ``fresh``), else ``restore``, else
        factory state with ``login`` and ``settings`` applied. Touches no socket."""
        identity = make_identity(
            profile.model,
            profile.hostname_prefix,
            mac,
            fw or profile.fw,
            longid=profile.longid if longid is None else longid,
            ip=ip,
        )
        from_file = self.store.load(identity.mac) if self.store and not fresh else None
        saved = from_file or restore
        installed = (saved or {}).get("fw")
        if fw is None and installed and installed != identity.fw:  # an update installed it
            identity = make_identity(
                profile.model,
                profile.hostname_prefix,
                mac,
                installed,
                longid=identity.device_id == identity.mac,
                ip=ip,
            )
        now = self.clock.now()
        device = Device(profile, identity, now, saved=saved)
        if login is not None and saved is None:
            user, password = login
            device.call(
                "settings/login", {"enabled": "1", "username": user, "password": password}, now
            )
        if settings and saved is None:
            device.call("settings", dict(settings), now)
        if self.store is not None and from_file is None:
            self.store.baseline(identity.mac, device.snapshot())
        return device

    def replace_device(self, host: DeviceHost, device: Device) -> None:
        """Swap a running host's core (a reset to the fleet file), keeping its socket."""

        def swap() -> None:
            if host._timer is not None:
                host._timer.cancel()
                host._timer = None
            host.device = device
            host.faults = NO_FAULTS
            host.dispatch()

        self.call(swap)

    async def _start_server(self, host: DeviceHost, sock: socket.socket) -> None:
        if host.listener is not sock:  # closed (device asleep, removed) before serving began
            sock.close()
            return
        extra = {"shelly_emu.host": host}
        quick = QuickLane(host)
        server = await self.loop.create_server(
            lambda: HttpConnection(
                self.app.wsgi_app,
                extra,
                self._gate(host),
                self._observe,
                fast_answer,
                limits=self.limits,
                connections=self.connections,
                owner=host,
                quick=quick,
            ),
            sock=sock,
        )
        if host.listener is sock:
            host.server = server
        else:
            server.close()

    def _gate(self, host: DeviceHost) -> Gate:
        def gate() -> Awaitable[bool | int] | None:
            if host.device.asleep:
                return self._asleep_answer(host)
            if host.device.down:  # flashing or booting: connections die unanswered
                return _DOWN.http_gate(self.rng)
            if host.faults is not NO_FAULTS:
                return host.faults.http_gate(self.rng)
            return host.gate() if host.gate is not None else None

        return gate

    def _observe(self, environ: dict[str, Any], status: int, seconds: float) -> None:
        host: DeviceHost = environ["shelly_emu.host"]
        self.request_log.record(
            RequestRecord(
                self.clock.now().unix,
                "http",
                host.device.identity.hostname,
                environ["REQUEST_METHOD"],
                environ["PATH_INFO"],
                environ["QUERY_STRING"],
                status,
                seconds,
                environ.get("REMOTE_ADDR", ""),
            )
        )

    def _asleep_answer(self, host: DeviceHost) -> asyncio.Future[bool]:
        """A request reached a sleeping device on a connection opened before it slept: reset it
        ("refuse"), or never answer until the wake-up drops it ("timeout")."""
        if host.while_asleep == "refuse":
            dropped: asyncio.Future[bool] = self.loop.create_future()
            dropped.set_result(False)
            return dropped
        if host._woken is None:
            host._woken = self.loop.create_future()
        return host._woken

    def _serve(self, host: DeviceHost, sock: socket.socket) -> None:
        self.hosts[host] = None
        host.listener = sock
        self.loop.create_task(self._start_server(host, sock))
        for opener in self.openers:
            opener(host)
        host.dispatch()

    def _listen(self, host: DeviceHost) -> None:
        """Bind again at once (connections queue in the kernel until the server accepts)."""
        sock = bind_listener(host.ip, host.http_port)
        host.listener = sock
        self.loop.create_task(self._start_server(host, sock))

    def _unlisten(self, host: DeviceHost) -> None:
        host.listener = None
        if host.server is not None:
            host.server.close()
            host.server = None

    def follow_sleep(self, host: DeviceHost) -> None:
        """Make HTTP follow ``device.asleep`` (loop thread, after every event batch)."""
        asleep = host.device.asleep
        if not asleep and host._woken is not None:
            host._woken.set_result(False)
            host._woken = None
        if host not in self.hosts:
            return
        closed = asleep and host.while_asleep == "refuse"
        if closed and host.listener is not None:
            self._unlisten(host)
        elif not closed and host.listener is None:
            self._listen(host)

    def remove_device(self, host: DeviceHost) -> None:
        self.call(lambda: self._close(host))

    def _close_all(self) -> None:
        for host in list(self.hosts):
            self._close(host)
        self.connections.close_all()
        if self.store is not None:
            self.store.flush()

    def _close(self, host: DeviceHost) -> None:
        self.hosts.pop(host, None)
        if host._timer is not None:
            host._timer.cancel()
        self._unlisten(host)
        if host._woken is not None:
            host._woken.set_result(False)
            host._woken = None
        for closer in self.closers:
            closer(host)

    # --- time ---------------------------------------------------------------------------------

    def reschedule(self, host: DeviceHost) -> None:
        """Wake the device at its next deadline (real clock); ManualClock waits for advance().

        Every device always has a deadline (the CoIoT period), and most requests leave it as it
        was: keeping the armed timer then spares a cancel and a heap push per request.
        """
        deadline = host.device.next_deadline()
        if host._timer is not None and deadline == host._deadline and host in self.hosts:
            return
        if host._timer is not None:
            host._timer.cancel()
            host._timer = None
        if deadline is None or isinstance(self.clock, ManualClock) or host not in self.hosts:
            return
        delay = max(0.0, deadline - self.clock.now().mono)
        host._timer = self.loop.call_later(delay, self._fire, host)
        host._deadline = deadline

    def _fire(self, host: DeviceHost) -> None:
        host._timer = None
        host.device.on_timer(self.clock.now())
        host.dispatch()

    def advance(self, seconds: float) -> None:
        """ManualClock only: move time by ``seconds``, firing every due timer on the way."""
        clock = self.clock
        if not isinstance(clock, ManualClock):
            raise TypeError("advance() needs a ManualClock")

        def step() -> None:
            end = clock.now().mono + seconds
            for _ in range(_MAX_TIMER_FIRES):
                due = [(h.device.next_deadline(), i, h) for i, h in enumerate(self.hosts)]
                due = [entry for entry in due if entry[0] is not None and entry[0] <= end]
                if not due:
                    break
                deadline, _, host = min(due, key=lambda entry: (entry[0], entry[1]))
                if deadline > clock.now().mono:
                    clock.advance(deadline - clock.now().mono)
                host.device.on_timer(clock.now())
                host.dispatch()
            if end > clock.now().mono:
                clock.advance(end - clock.now().mono)

        self.call(step)
