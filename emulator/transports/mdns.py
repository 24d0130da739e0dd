"""mDNS announcements (python-zeroconf, async API) for every device of a runtime.

What Gen1 firmware announces (spec/clients.md §1.3, captures in home-assistant/core#67759):
instance ``<hostname>._http._tcp.local.`` (lowercase model prefix: pyShelly's regex needs it),
server ``<hostname>.local.``, the HTTP port, an A record with the device's own address, and TXT
``id=<hostname> fw_id=<fw> arch=... app=...`` (``arch``/``app`` from the profile's ``mdns``
section) plus ``fw_version`` and ``discoverable`` as /settings shows them.

TTLs as Mongoose OS's DNS-SD library (the Gen1 firmware's base) sends them since
mongoose-os-libs/dns-sd@0b83ff3 (2020-10, "Record TTL clean-up to match standard"): PTR 4500 s,
SRV, TXT, A and NSEC 120 s (before that commit: all 120 s). python-zeroconf's defaults differ on
TXT (4500 s), so the TXT record is pinned after registration. A real Shelly 1 answers exactly
so (home-assistant/core#67759: PTR 4500, SRV, TXT, A, NSEC 120).

Multicast follows the device: each interface that holds a device's address gets its own
responder, bound to that interface (IP_MULTICAST_IF, membership), announcing only the devices on
it — a loopback device's address never goes out on a LAN, and a device on a LAN alias or in a
network namespace is heard there with no option given. ``interfaces=`` forces one responder on
the given interfaces for every device (``--interface``).

Optional per runtime (``MdnsAnnouncer.attach``). Fleet scale (DESIGN.md "zeroconf at scale"): the
emulator owns every name it announces, so registration skips probing
(``cooperating_responders=True``), and names go out in staggered batches. A device is
announced when it starts and says goodbye when it is removed or the runtime stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zeroconf import DNSText, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from ..core.events import Event, Rebooted
from .net import InterfaceMap

if TYPE_CHECKING:
    from ..core.clock import Now
    from ..core.device import Device
    from .hosting import Host, Hosting

__all__ = ["SERVICE_TYPE", "TTLS", "MdnsAnnouncer", "service_info", "txt_record"]

logger = logging.getLogger(__name__)

#: The only service Gen1 devices announce (``_shelly._tcp`` is Gen2+; spec/clients.md §1.1).
SERVICE_TYPE = "_http._tcp.local."
#: Record TTLs in seconds (mongoose-os-libs/dns-sd src/mongoose/mgos_dns_sd.c TTL_SHORT/TTL_LONG).
TTLS = {"PTR": 4500, "SRV": 120, "TXT": 120, "A": 120}
_TYPE_TXT, _CLASS_IN_UNIQUE = 16, 0x8001


def txt_record(device: Device, now: Now) -> dict[str, str]:
    """TXT as real firmware sends it (capture: id, fw_id, arch, app, fw_version, discoverable)."""
    identity = device.identity
    mdns = device.mdns
    txt = {"id": identity.hostname, "fw_id": identity.fw}
    txt.update({key: str(mdns[key]) for key in ("arch", "app") if key in mdns})
    settings = device.renderer.settings(now)
    build = settings.get("build_info") or {}
    if "build_version" in build:
        txt["fw_version"] = str(build["build_version"])
    if "discoverable" in settings:
        txt["discoverable"] = str(bool(settings["discoverable"])).lower()
    return txt


class _SameLinkOnly(asyncio.DatagramProtocol):
    """Hands zeroconf only the datagrams whose source is on the responder's own link.

    Every zeroconf instance on a host gets every mDNS datagram the host receives (port 5353
    is shared with SO_REUSEPORT; IP_MULTICAST_ALL), and answers a unicast-response question
    by unicast from its wildcard socket: without this, a loopback responder would answer a
    LAN client with a 127.x address.
    """

    def __init__(self, inner: Any, networks: list[ipaddress.IPv4Network]) -> None:
        self.inner = inner
        self.networks = networks

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            source = ipaddress.ip_address(addr[0])
        except ValueError:
            return
        if any(source in network for network in self.networks):
            self.inner.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.inner.error_received(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)


async def _keep_to_link(responder: AsyncZeroconf, networks: list[ipaddress.IPv4Network]) -> None:
    """Once the responder's sockets are up, filter what they hear (before anything registers)."""
    await responder.zeroconf.async_wait_for_start()
    for reader in responder.zeroconf.engine.readers:
        transport = reader.transport
        transport.set_protocol(_SameLinkOnly(transport.get_protocol(), networks))


def _pin_txt_ttl(info: ServiceInfo) -> None:
    """zeroconf gives TXT the PTR's TTL (``other_ttl``); firmware gives it the host's. Answers
    and announcements take the record from this cache, which registration clears: call it right
    after ``async_register_service`` (before the announcement task runs)."""
    info._dns_text_cache = DNSText(info.name, _TYPE_TXT, _CLASS_IN_UNIQUE, TTLS["TXT"], info.text)


def service_info(host: Host) -> ServiceInfo:
    """The service record set of one running device."""
    hostname = host.device.identity.hostname
    info = ServiceInfo(
        SERVICE_TYPE,
        f"{hostname}.{SERVICE_TYPE}",
        addresses=[socket.inet_aton(host.ip)],
        port=host.http_port,
        properties=txt_record(host.device, host.now()),
        server=f"{hostname}.local.",
        host_ttl=TTLS["A"],
        other_ttl=TTLS["PTR"],
    )
    return info


class MdnsAnnouncer:
    """Announces every device a runtime hosts: on the interface holding each device's address
    (default), or on the given ``interfaces`` for all of them."""

    def __init__(
        self,
        runtime: Hosting,
        *,
        interfaces: Sequence[str] | None = None,
        batch_size: int = 500,
        batch_interval: float = 0.5,
    ) -> None:
        self.runtime = runtime
        self.interfaces = None if interfaces is None else list(interfaces)
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.links = InterfaceMap()
        #: One responder per interface index (or per forced interface list: key -1).
        self.responders: dict[int | str, AsyncZeroconf] = {}
        self.registered: dict[Host, tuple[AsyncZeroconf, ServiceInfo]] = {}
        self._guards: dict[AsyncZeroconf, asyncio.Task[None]] = {}
        self._queue: dict[Host, tuple[AsyncZeroconf, ServiceInfo]] = {}
        self._worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._started = False

    @property
    def zeroconf(self) -> AsyncZeroconf | None:
        """The responder of the first interface (the only one when all devices share one)."""
        return next(iter(self.responders.values()), None)

    @classmethod
    def attach(cls, runtime: Hosting, **options: Any) -> MdnsAnnouncer:
        """Announce the runtime's devices (and the ones added later) until it stops."""
        announcer = cls(runtime, **options)
        runtime.run(announcer._start())
        return announcer

    async def _start(self) -> None:
        self._started = True
        if self.interfaces is not None:
            self.responders[-1] = AsyncZeroconf(interfaces=self.interfaces)
        self.runtime.openers.append(self.open)
        self.runtime.listeners.append(self.on_events)
        self.runtime.closers.append(self.close)
        self.runtime.stoppers.append(self.stop)
        for host in list(self.runtime.hosts):
            self.open(host)

    def responder_for(self, address: str) -> AsyncZeroconf:
        """The responder on the interface holding ``address`` (created on first use)."""
        if self.interfaces is not None:
            return self.responders[-1]
        link = self.links.lookup(address)
        key: int | str = address if link is None else link[0]
        responder = self.responders.get(key)
        if responder is None:
            interface = address if link is None else link[1]
            responder = self.responders[key] = AsyncZeroconf(interfaces=[interface])
            if link is not None:
                networks = self.links.networks(link[0])
                guard = self.runtime.loop.create_task(_keep_to_link(responder, networks))
                self._guards[responder] = guard
        return responder

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._tasks.add(future)
        future.add_done_callback(self._tasks.discard)

    # --- per device (loop thread) --------------------------------------------------------------

    def open(self, host: Host) -> None:
        """Queue the device's announcement for the next batch."""
        if not self._started:
            return
        self._queue[host] = (self.responder_for(host.ip), service_info(host))
        if self._worker is None or self._worker.done():
            self._worker = self.runtime.loop.create_task(self._register_batches())

    def on_events(self, host: Host, events: list[Event]) -> None:
        """A booted device announces itself again, with what it runs now (TXT ``fw_id``)."""
        entry = self.registered.get(host)
        if entry is None or not any(isinstance(event, Rebooted) for event in events):
            return
        responder, _ = entry
        info = service_info(host)
        self.registered[host] = (responder, info)
        self._track(asyncio.ensure_future(self._reannounce(responder, info)))

    async def _reannounce(self, responder: AsyncZeroconf, info: ServiceInfo) -> None:
        await (await responder.async_update_service(info))
        _pin_txt_ttl(info)

    def close(self, host: Host) -> None:
        """Withdraw the device: goodbye packets if it was announced."""
        self._queue.pop(host, None)
        entry = self.registered.pop(host, None)
        if entry is not None:
            self._track(asyncio.ensure_future(self._goodbye(*entry)))

    async def _goodbye(self, responder: AsyncZeroconf, info: ServiceInfo) -> None:
        await (await responder.async_unregister_service(info))

    async def _register_batches(self) -> None:
        while self._queue:
            batch = list(self._queue.items())[: self.batch_size]
            for host, _ in batch:
                del self._queue[host]
            for host, (responder, info) in batch:
                if responder in self._guards:
                    await self._guards[responder]
                # cooperating_responders: no probing, so this does not wait (the batch stays fast)
                broadcast = await responder.async_register_service(
                    info, cooperating_responders=True
                )
                _pin_txt_ttl(info)
                self.registered[host] = (responder, info)
                self._track(broadcast)
            if self._queue:
                await asyncio.sleep(self.batch_interval)

    async def stop(self) -> None:
        """Finish goodbyes, then close the responders (which say goodbye for anything left)."""
        self._started = False
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for responder in self.responders.values():
            await responder.async_close()
        self.responders.clear()
        self._guards.clear()
        self.registered.clear()
