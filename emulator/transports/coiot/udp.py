"""CoIoT over UDP for every device of a runtime: publishes and answers, on the runtime's loop.

Sockets (spec/coiot.md §2, spec/clients.md §3):

* one per device, bound to ``<device-ip>:5683`` with SO_REUSEADDR: clients send their GETs
  there, and the device publishes and answers from it, so every datagram leaves from the address
  clients know the device by and from port 5683;
* one per runtime, bound to the group address ``224.0.1.187:5683`` and joined on every interface
  that holds a device's address, for multicast GETs (node-shellies, pyShelly discovery); the
  devices on the interface a GET came in on answer it, each from its own socket.

No socket is bound to the wildcard address. A client on the same host (Home Assistant binds
``0.0.0.0:5683`` with SO_REUSEADDR) therefore gets every unicast answer and publish addressed to
it: the kernel prefers an exact local-address match, and none of ours matches the client's
address. The cost is one descriptor per device.

Multicast follows the device: each device's socket sets IP_MULTICAST_IF to the device's own
address, so its publishes leave by the interface that holds it (loopback for 127.x, the LAN or
namespace link otherwise) and clients on that network hear it with no option given. Without an
explicit interface the kernel routes 224.0.0.0/4 out of the default interface. ``interface=``
overrides the choice for every device (``--interface``).

``shared_socket=True`` instead serves every device from ONE socket bound to ``0.0.0.0:<port>``
and joined to the group (DESIGN.md, "One socket can speak for every device"): IP_PKTINFO on
receive says which address a datagram was sent to (a device's, the group, or nobody's: dropped),
and ``sendmsg`` with IP_PKTINFO ancillary data sets the source address of each reply and publish
to the device's own (and, for multicast, the interface holding it), so the wire is the same
as with a socket per device. A fleet then costs one
descriptor per device (its HTTP listener), which is what lets 10,000 devices with CoIoT fit under
the 20,000-descriptor limit. The price: the emulator owns the wildcard port. A client on the
same host binding ``0.0.0.0:5683`` too (Home Assistant, aioshelly) shares it with SO_REUSEADDR,
and the kernel hands a unicast datagram for the client to only one of the two wildcard sockets,
so keep the per-device default (or another port) when such a client runs on the same host.

aiocoap only encodes and decodes (``codec.py``): its server de-duplicates requests by
message id, and aioshelly sends every request with message id 0x000A.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from ...core.events import CoiotDue, Event, StatusChanged
from ...core.profile import ProfileError
from ..net import InterfaceMap
from ..request_log import RequestRecord
from .codec import COAP_PORT, MULTICAST_GROUP, CoapCode, parse_request
from .node import CoiotNode
from .sockets import Address, Endpoint, PktinfoSocket, join_group, udp_socket

if TYPE_CHECKING:
    from ..hosting import Host, Hosting

__all__ = ["CoiotTransport"]

logger = logging.getLogger(__name__)

#: Where multicast goes when nothing else decides (never out of the machine by accident).
_LOOPBACK = "127.0.0.1"


class CoiotTransport:
    """Serves CoIoT for every device a runtime hosts, now and later (``attach``).

    ``shared_socket=False`` (default): a socket per device on ``<device-ip>:<port>`` plus the
    group socket; a client on the same host (Home Assistant) can still bind ``0.0.0.0:5683``.
    ``shared_socket=True``: one socket on ``0.0.0.0:<port>`` for every device and the group; one
    descriptor in all instead of one per device, but it owns the wildcard port, so a client on
    the same host should not listen on the same port (see the module docstring). ``port=0``
    picks a free port (tests); ``self.port`` is the bound one once ``attach`` returns.
    ``interface=None`` (default): multicast follows each device to the interface holding its
    address; an address there sends and joins every device's multicast on that one interface.
    """

    def __init__(
        self,
        runtime: Hosting,
        *,
        interface: str | None = None,
        port: int = COAP_PORT,
        group: str = MULTICAST_GROUP,
        ttl: int = 1,
        shared_socket: bool = False,
    ) -> None:
        self.runtime = runtime
        self.interface = interface
        self.port = port
        self.group = group
        self.ttl = ttl
        self.shared_socket = shared_socket
        self.interfaces = InterfaceMap()
        self.nodes: dict[Host, CoiotNode] = {}
        self._endpoints: dict[Host, Endpoint] = {}
        self._link: dict[Host, int] = {}  # interface index a device's address is on
        self._joined: set[int] = set()
        self._group: PktinfoSocket | None = None
        self._shared: PktinfoSocket | None = None
        self._by_ip: dict[str, Host] = {}  # shared mode: who answers at an address
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def attach(cls, runtime: Hosting, **options: Any) -> CoiotTransport:
        """Serve CoIoT for the runtime's devices (and the ones added later) until it stops."""
        transport = cls(runtime, **options)
        runtime.call(transport._start)
        return transport

    # --- lifecycle (loop thread) -----------------------------------------------------------------

    def _start(self) -> None:
        address = "0.0.0.0" if self.shared_socket else self.group
        try:
            sock = udp_socket(address, self.port, self.interface or _LOOPBACK, self.ttl)
        except OSError as error:
            logger.error("CoIoT: cannot bind %s:%s: %s", address, self.port, error)
        else:
            self.port = sock.getsockname()[1]
            on_datagram = self._shared_datagram if self.shared_socket else self._group_datagram
            endpoint = PktinfoSocket(sock, self.runtime.loop, on_datagram)
            if self.shared_socket:
                self._shared = endpoint
            else:
                self._group = endpoint
            if self.interface is not None:
                self._join(self.interface)
        if not self.shared_socket:
            self.runtime.sockets_per_device += 1  # a socket per device: the budget leaves room
        self.runtime.openers.append(self.open)
        self.runtime.closers.append(self.close)
        self.runtime.listeners.append(self.on_events)
        self.runtime.stoppers.append(self.stop)
        for host in list(self.runtime.hosts):
            self.open(host)

    def _join(self, address: str) -> None:
        """Join the group on the interface holding ``address`` (once per interface)."""
        index = self.interfaces.index(address)
        endpoint = self._shared or self._group
        if endpoint is None or (index is not None and index in self._joined):
            return
        try:
            join_group(endpoint.sock, self.group, address)
        except OSError as error:
            logger.warning("CoIoT: cannot join %s on %s: %s", self.group, address, error)
            return
        if index is not None:
            self._joined.add(index)

    def _wrap(self, sock: socket.socket, endpoint: Endpoint) -> None:
        loop = self.runtime.loop
        task = loop.create_task(loop.create_datagram_endpoint(lambda: endpoint, sock=sock))
        self._tasks.add(task)
        task.add_done_callback(self._wrapped)

    def _wrapped(self, task: asyncio.Task[Any]) -> None:
        """A device removed before its socket was wrapped leaves a failed wrap: expected."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("CoIoT: socket closed before use: %s", task.exception())

    def open(self, host: Host) -> None:
        """Bind the device's socket (or take its address on the shared one) and join the group
        on its link; it publishes on its next status change or period."""
        name = host.device.identity.hostname
        try:
            node = CoiotNode(host.device)
        except ProfileError as error:
            logger.error("%s: no CoIoT on %s:%s: %s", name, host.ip, self.port, error)
            return
        if self.shared_socket:
            if self._shared is None:
                logger.error(
                    "%s: no CoIoT: the shared socket on port %s is not open", name, self.port
                )
                return
            if host.ip in self._by_ip:
                logger.warning(
                    "%s: shares %s with another device; unicast reaches one", name, host.ip
                )
            else:
                self._by_ip[host.ip] = host
        else:
            try:
                sock = udp_socket(host.ip, self.port, self.interface or host.ip, self.ttl)
            except OSError as error:
                logger.error("%s: no CoIoT on %s:%s: %s", name, host.ip, self.port, error)
                return
            if any(other.ip == host.ip for other in self.nodes):
                logger.warning(
                    "%s: shares %s with another device; unicast reaches one", name, host.ip
                )
            endpoint = Endpoint(sock, lambda data, addr: self._request(host, data, addr))
            self._endpoints[host] = endpoint
            self._wrap(sock, endpoint)
        self.nodes[host] = node
        self._link[host] = self.interfaces.index(self.interface or host.ip) or 0
        if self.interface is None:
            self._join(host.ip)

    def close(self, host: Host) -> None:
        self.nodes.pop(host, None)
        self._link.pop(host, None)
        endpoint = self._endpoints.pop(host, None)
        if endpoint is not None:
            endpoint.close()
        if self._by_ip.get(host.ip) is host:  # shared mode: the address answers no more...
            del self._by_ip[host.ip]
            heir = next((other for other in self.nodes if other.ip == host.ip), None)
            if heir is not None:  # ...unless another device has it too
                self._by_ip[host.ip] = heir
            elif self._shared is not None:
                self._shared.forget(host.ip)

    async def stop(self) -> None:
        """Close the group socket, or the shared one (devices were closed one by one before)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for endpoint in (self._group, self._shared):
            if endpoint is not None:
                endpoint.close()
        self._group = self._shared = None

    # --- traffic (loop thread) ---------------------------------------------------------------

    def on_events(self, host: Host, events: list[Event]) -> None:
        """Publish at once on a status change and at every update period (spec/coiot.md §4.1)."""
        if any(isinstance(event, StatusChanged | CoiotDue) for event in events):
            self.publish(host)

    def publish(self, host: Host) -> None:
        node = self.nodes.get(host)
        if node is None or host.device.down or host.faults.offline or host.faults.drop_coiot:
            return
        data = node.publish(self.runtime.clock.now())
        if data is not None:
            self._send(host, data, node.peer or (self.group, self.port))

    def _send(self, host: Host, data: bytes, address: Address) -> None:
        """From the device's own address and the CoIoT port, whichever the socket mode."""
        if self._shared is not None:
            self._shared.send(host.ip, data, address, self._link.get(host, 0))
        else:
            self._endpoints[host].send(data, address)

    def _request(self, host: Host, data: bytes, addr: Address) -> None:
        node = self.nodes.get(host)
        if node is None or host.device.down or host.faults.offline:  # answers nothing
            return
        started = time.perf_counter()
        now = self.runtime.clock.now()
        answer = node.answer(data, now)
        if answer is not None:
            self._send(host, answer, addr)
        request = parse_request(data)
        if request is not None:  # the request log (control API: /_emu/log?proto=coap)
            self.runtime.request_log.record(
                RequestRecord(
                    now.unix,
                    "coap",
                    host.device.identity.hostname,
                    "GET" if request.code == CoapCode.GET else f"code {request.code}",
                    "/" + "/".join(request.path),
                    "",
                    0 if answer is None else answer[1],
                    time.perf_counter() - started,
                    f"{addr[0]}:{addr[1]}",
                )
            )

    def _multicast_request(self, data: bytes, addr: Address, index: int) -> None:
        """A GET to the group, answered by every device on the link it came in on (all of them
        when ``interface`` is forced). Devices hear their own publishes: only GETs get further."""
        if len(data) < 4 or data[1] != CoapCode.GET:
            return
        for host in list(self.nodes):
            if self.interface is not None or self._link.get(host) in (index, 0):
                self._request(host, data, addr)

    def _group_datagram(self, data: bytes, destination: str, index: int, addr: Address) -> None:
        if destination == self.group:
            self._multicast_request(data, addr, index)

    def _shared_datagram(self, data: bytes, destination: str, index: int, addr: Address) -> None:
        """Shared mode: a datagram for the group, for a device's address, or for nobody."""
        if destination == self.group:
            self._multicast_request(data, addr, index)
            return
        host = self._by_ip.get(destination)
        if host is not None:  # an address with no device: dropped, as no socket would get it
            self._request(host, data, addr)
