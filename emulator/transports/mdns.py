"""mDNS announcements (python-zeroconf, async API) for every device of a runtime.

What Gen1 firmware announces (spec/clients.md §1.3, captures in home-assistant/core#67759):
instance ``<hostname>._http._tcp.local.`` (lowercase model prefix: pyShelly's regex needs it),
server ``<hostname>.local.``, the HTTP port, an A record with the device's own address, and TXT
``id=<hostname> fw_id=<fw> arch=... app=...`` (``arch``/``app`` from the profile's ``mdns``
section) plus ``fw_version`` and ``discoverable`` as /settings shows them.

Optional per runtime (``MdnsAnnouncer.attach``). Fleet scale (DESIGN.md "zeroconf at scale"): the
emulator owns every name it announces, so registration skips probing
(``cooperating_responders=True``), and names go out in staggered batches. A device is
announced when it starts and says goodbye when it is removed or the runtime stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

if TYPE_CHECKING:
    from ..core.clock import Now
    from ..core.device import Device
    from .hosting import Host, Hosting

__all__ = ["SERVICE_TYPE", "MdnsAnnouncer", "service_info", "txt_record"]

logger = logging.getLogger(__name__)

#: The only service Gen1 devices announce (``_shelly._tcp`` is Gen2+; spec/clients.md §1.1).
SERVICE_TYPE = "_http._tcp.local."


def txt_record(device: Device, now: Now) -> dict[str, str]:
    """TXT as real firmware sends it (capture: id, fw_id, arch, app, fw_version, discoverable)."""
    identity = device.identity
    mdns = device.profile.section("mdns")
    txt = {"id": identity.hostname, "fw_id": identity.fw}
    txt.update({key: str(mdns[key]) for key in ("arch", "app") if key in mdns})
    settings = device.renderer.settings(now)
    build = settings.get("build_info") or {}
    if "build_version" in build:
        txt["fw_version"] = str(build["build_version"])
    if "discoverable" in settings:
        txt["discoverable"] = str(bool(settings["discoverable"])).lower()
    return txt


def service_info(host: Host) -> ServiceInfo:
    """The service record set of one running device."""
    hostname = host.device.identity.hostname
    return ServiceInfo(
        SERVICE_TYPE,
        f"{hostname}.{SERVICE_TYPE}",
        addresses=[socket.inet_aton(host.ip)],
        port=host.http_port,
        properties=txt_record(host.device, host.now()),
        server=f"{hostname}.local.",
    )


class MdnsAnnouncer:
    """Announces every device a runtime hosts on the given interfaces (loopback by default)."""

    def __init__(
        self,
        runtime: Hosting,
        *,
        interfaces: Sequence[str] = ("127.0.0.1",),
        batch_size: int = 500,
        batch_interval: float = 0.5,
    ) -> None:
        self.runtime = runtime
        self.interfaces = list(interfaces)
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.zeroconf: AsyncZeroconf | None = None
        self.registered: dict[Host, ServiceInfo] = {}
        self._queue: dict[Host, ServiceInfo] = {}
        self._worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

    @classmethod
    def attach(cls, runtime: Hosting, **options: Any) -> MdnsAnnouncer:
        """Announce the runtime's devices (and the ones added later) until it stops."""
        announcer = cls(runtime, **options)
        runtime.run(announcer._start())
        return announcer

    async def _start(self) -> None:
        self.zeroconf = AsyncZeroconf(interfaces=self.interfaces)
        self.runtime.openers.append(self.open)
        self.runtime.closers.append(self.close)
        self.runtime.stoppers.append(self.stop)
        for host in list(self.runtime.hosts):
            self.open(host)

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._tasks.add(future)
        future.add_done_callback(self._tasks.discard)

    # --- per device (loop thread) --------------------------------------------------------------

    def open(self, host: Host) -> None:
        """Queue the device's announcement for the next batch."""
        self._queue[host] = service_info(host)
        if self._worker is None or self._worker.done():
            self._worker = self.runtime.loop.create_task(self._register_batches())

    def close(self, host: Host) -> None:
        """Withdraw the device: goodbye packets if it was announced."""
        self._queue.pop(host, None)
        info = self.registered.pop(host, None)
        if info is not None and self.zeroconf is not None:
            self._track(asyncio.ensure_future(self._goodbye(info)))

    async def _goodbye(self, info: ServiceInfo) -> None:
        assert self.zeroconf is not None
        await (await self.zeroconf.async_unregister_service(info))

    async def _register_batches(self) -> None:
        while self._queue and self.zeroconf is not None:
            batch = list(self._queue.items())[: self.batch_size]
            for host, _ in batch:
                del self._queue[host]
            broadcasts = await asyncio.gather(
                *(
                    self.zeroconf.async_register_service(info, cooperating_responders=True)
                    for _, info in batch
                )
            )
            for (host, info), broadcast in zip(batch, broadcasts, strict=True):
                self.registered[host] = info
                self._track(asyncio.ensure_future(broadcast))
            if self._queue:
                await asyncio.sleep(self.batch_interval)

    async def stop(self) -> None:
        """Finish goodbyes, then close zeroconf (which says goodbye for anything left)."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.zeroconf is not None:
            await self.zeroconf.async_close()
            self.zeroconf = None
        self.registered.clear()
