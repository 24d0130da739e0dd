"""CoIoT over UDP for every device of a runtime: publishes and answers, on the runtime's loop.

Sockets (spec/coiot.md §2, spec/clients.md §3):

* one per device, bound to ``<device-ip>:5683`` with SO_REUSEADDR: clients send their GETs
  there, and the device publishes and answers from it, so every datagram leaves from the address
  clients know the device by and from port 5683;
* one per runtime, bound to the group address ``224.0.1.187:5683`` and joined on the configured
  interface, for multicast GETs (node-shellies, pyShelly discovery); every device answers them
  from its own socket.

No socket is bound to the wildcard address. A client on the same host (Home Assistant binds
``0.0.0.0:5683`` with SO_REUSEADDR) therefore gets every unicast answer and publish addressed to
it: the kernel prefers an exact local-address match, and none of ours matches the client's
address. The cost is one descriptor per device. Every socket sets IP_MULTICAST_IF explicitly
(loopback by default), else the kernel routes 224.0.0.0/4 out of the machine.

``shared_socket=True`` instead serves every device from ONE socket bound to ``0.0.0.0:<port>``
and joined to the group (DESIGN.md, "One socket can speak for every device"): IP_PKTINFO on
receive says which address a datagram was sent to (a device's, the group, or nobody's: dropped),
and ``sendmsg`` with IP_PKTINFO ancillary data sets the source address of each reply and publish
to the device's own, so the wire is the same as with a socket per device. A fleet then costs one
descriptor per device (its HTTP listener), which is what lets 10,000 devices with CoIoT fit under
the 20,000-descriptor limit. The price: the emulator owns the wildcard port. A client on the
same host binding ``0.0.0.0:5683`` too (Home Assistant, aioshelly) shares it with SO_REUSEADDR,
and the kernel hands a unicast datagram for the client to only one of the two wildcard sockets,
so keep the per-device default (or another port) when such a client runs on the same host.

aiocoap only encodes and decodes (``emulator.coiot.codec``): its server de-duplicates requests by
message id, and aioshelly sends every request with message id 0x000A.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...core.events import CoiotDue, Event, StatusChanged
from ...core.profile import ProfileError
from ..request_log import RequestRecord
from .codec import COAP_PORT, MULTICAST_GROUP, CoapCode, parse_request
from .node import CoiotNode

if TYPE_CHECKING:
    from ..hosting import Host, Hosting

__all__ = ["CoiotTransport"]

logger = logging.getLogger(__name__)

type Address = tuple[str, int]

#: ``IP_PKTINFO`` from <netinet/in.h> (Linux); Python 3.12's socket module does not export it.
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
#: ``struct in_pktinfo``: ifindex, spec_dst (local address), addr (the header's destination).
_PKTINFO = struct.Struct("=i4s4s")
_ANCILLARY_SIZE = socket.CMSG_SPACE(_PKTINFO.size)
#: Datagrams read per readiness callback, so one busy socket cannot starve the loop.
_READ_BATCH = 256
_ANY = b"\0\0\0\0"


def _socket(address: str, port: int, interface: str, ttl: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        sock.bind((address, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _Endpoint(asyncio.DatagramProtocol):
    """One socket. Datagrams sent before asyncio has wrapped it wait in ``pending``."""

    def __init__(self, sock: socket.socket, on_datagram: Callable[[bytes, Address], None]) -> None:
        self.sock = sock
        self.on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: list[tuple[bytes, Address]] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        if self.closed:
            transport.abort()
            return
        self.transport = transport
        for data, address in self.pending:
            transport.sendto(data, address)
        self.pending.clear()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("CoIoT socket error: %s", exc)

    def send(self, data: bytes, address: Address) -> None:
        if self.transport is None:
            self.pending.append((data, address))
        else:
            self.transport.sendto(data, address)

    def close(self) -> None:
        """Release the address now (a removed device's address may be reused at once): abort
        drops any queued datagram and unregisters the socket, then the socket is closed."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        self.sock.close()


class _SharedSocket:
    """The one wildcard socket of ``shared_socket=True``, read with ``recvmsg`` from the loop's
    reader (asyncio's DatagramTransport hides ancillary data) and written with ``sendmsg``.

    Sends never wait: a full socket buffer drops the datagram (CoIoT is best-effort UDP and a
    client retries), with a debug log.
    """

    def __init__(
        self,
        sock: socket.socket,
        loop: asyncio.AbstractEventLoop,
        on_datagram: Callable[[bytes, str, Address], None],
    ) -> None:
        self.sock = sock
        self.loop = loop
        self.on_datagram = on_datagram
        self._sources: dict[str, list[tuple[int, int, bytes]]] = {}
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        for _ in range(_READ_BATCH):
            try:
                data, ancillary, _flags, source = self.sock.recvmsg(4096, _ANCILLARY_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. ICMP port unreachable reported for an earlier send
                logger.debug("CoIoT shared socket: %s", error)
                continue
            for level, kind, value in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 12:
                    _index, _local, destination = _PKTINFO.unpack_from(value)
                    self.on_datagram(data, socket.inet_ntoa(destination), source)
                    break

    def send(self, source_ip: str, data: bytes, address: Address) -> None:
        ancillary = self._sources.get(source_ip)
        if ancillary is None:
            pktinfo = _PKTINFO.pack(0, socket.inet_aton(source_ip), _ANY)
            ancillary = self._sources[source_ip] = [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)]
        try:
            self.sock.sendmsg([data], ancillary, 0, address)
        except (BlockingIOError, InterruptedError):
            logger.debug("CoIoT: send buffer full, dropped a datagram from %s", source_ip)
        except OSError as error:
            logger.debug("CoIoT: cannot send from %s to %s: %s", source_ip, address, error)

    def forget(self, source_ip: str) -> None:
        self._sources.pop(source_ip, None)

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class CoiotTransport:
    """Serves CoIoT for every device a runtime hosts, now and later (``attach``).

    ``shared_socket=False`` (default): a socket per device on ``<device-ip>:<port>`` plus the
    group socket; a client on the same host (Home Assistant) can still bind ``0.0.0.0:5683``.
    ``shared_socket=True``: one socket on ``0.0.0.0:<port>`` for every device and the group; one
    descriptor in all instead of one per device, but it owns the wildcard port, so a client on
    the same host should not listen on the same port (see the module docstring). ``port=0``
    picks a free port (tests); ``self.port`` is the bound one once ``attach`` returns.
    """

    def __init__(
        self,
        runtime: Hosting,
        *,
        interface: str = "127.0.0.1",
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
        self.nodes: dict[Host, CoiotNode] = {}
        self._endpoints: dict[Host, _Endpoint] = {}
        self._group: _Endpoint | None = None
        self._shared: _SharedSocket | None = None
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
        if self.shared_socket:
            self._open_shared()
        else:
            self._open_group()
        self.runtime.openers.append(self.open)
        self.runtime.closers.append(self.close)
        self.runtime.listeners.append(self.on_events)
        self.runtime.stoppers.append(self.stop)
        for host in list(self.runtime.hosts):
            self.open(host)

    def _wrap(self, sock: socket.socket, endpoint: _Endpoint) -> None:
        loop = self.runtime.loop
        task = loop.create_task(loop.create_datagram_endpoint(lambda: endpoint, sock=sock))
        self._tasks.add(task)
        task.add_done_callback(self._wrapped)

    def _wrapped(self, task: asyncio.Task[Any]) -> None:
        """A device removed before its socket was wrapped leaves a failed wrap: expected."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("CoIoT: socket closed before use: %s", task.exception())

    def _open_group(self) -> None:
        try:
            sock = _socket(self.group, self.port, self.interface, self.ttl)
        except OSError as error:
            logger.error("CoIoT: cannot bind %s:%s: %s", self.group, self.port, error)
            return
        membership = socket.inet_aton(self.group) + socket.inet_aton(self.interface)
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        except OSError as error:
            logger.warning("CoIoT: cannot join %s on %s: %s", self.group, self.interface, error)
        self._group = _Endpoint(sock, self._multicast_request)
        self._wrap(sock, self._group)

    def _open_shared(self) -> None:
        try:
            sock = _socket("0.0.0.0", self.port, self.interface, self.ttl)
        except OSError as error:
            logger.error("CoIoT: cannot bind 0.0.0.0:%s: %s", self.port, error)
            return
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        self.port = sock.getsockname()[1]
        membership = socket.inet_aton(self.group) + socket.inet_aton(self.interface)
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        except OSError as error:
            logger.warning("CoIoT: cannot join %s on %s: %s", self.group, self.interface, error)
        self._shared = _SharedSocket(sock, self.runtime.loop, self._shared_datagram)

    def open(self, host: Host) -> None:
        """Bind the device's socket (or take its address on the shared one); it publishes on its
        next status change or period."""
        name = host.device.identity.hostname
        if self.shared_socket:
            self._open_on_shared(host, name)
            return
        try:
            node = CoiotNode(host.device)
            sock = _socket(host.ip, self.port, self.interface, self.ttl)
        except (ProfileError, OSError) as error:
            logger.error("%s: no CoIoT on %s:%s: %s", name, host.ip, self.port, error)
            return
        if any(other.ip == host.ip for other in self.nodes):
            logger.warning("%s: shares %s with another device; unicast reaches one", name, host.ip)
        endpoint = _Endpoint(sock, lambda data, addr: self._request(host, data, addr))
        self.nodes[host] = node
        self._endpoints[host] = endpoint
        self._wrap(sock, endpoint)

    def _open_on_shared(self, host: Host, name: str) -> None:
        if self._shared is None:
            logger.error("%s: no CoIoT: the shared socket on port %s is not open", name, self.port)
            return
        try:
            node = CoiotNode(host.device)
        except ProfileError as error:
            logger.error("%s: no CoIoT on %s:%s: %s", name, host.ip, self.port, error)
            return
        if host.ip in self._by_ip:
            logger.warning("%s: shares %s with another device; unicast reaches one", name, host.ip)
        else:
            self._by_ip[host.ip] = host
        self.nodes[host] = node

    def close(self, host: Host) -> None:
        self.nodes.pop(host, None)
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
        if self._group is not None:
            self._group.close()
            self._group = None
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    # --- traffic (loop thread) ---------------------------------------------------------------

    def on_events(self, host: Host, events: list[Event]) -> None:
        """Publish at once on a status change and at every update period (spec/coiot.md §4.1)."""
        if any(isinstance(event, StatusChanged | CoiotDue) for event in events):
            self.publish(host)

    def publish(self, host: Host) -> None:
        node = self.nodes.get(host)
        if node is None or host.faults.offline or host.faults.drop_coiot:  # emulator/faults.py
            return
        data = node.publish(self.runtime.clock.now())
        if data is not None:
            self._send(host, data, node.peer or (self.group, self.port))

    def _send(self, host: Host, data: bytes, address: Address) -> None:
        """From the device's own address and the CoIoT port, whichever the socket mode."""
        if self._shared is not None:
            self._shared.send(host.ip, data, address)
        else:
            self._endpoints[host].send(data, address)

    def _request(self, host: Host, data: bytes, addr: Address) -> None:
        node = self.nodes.get(host)
        if node is None or host.faults.offline:  # an offline device answers nothing
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

    def _multicast_request(self, data: bytes, addr: Address) -> None:
        # Every device hears the group, its own publishes included: only GETs get further.
        if len(data) < 4 or data[1] != CoapCode.GET:
            return
        for host in list(self.nodes):
            self._request(host, data, addr)

    def _shared_datagram(self, data: bytes, destination: str, addr: Address) -> None:
        """Shared mode: a datagram for the group, for a device's address, or for nobody."""
        if destination == self.group:
            self._multicast_request(data, addr)
            return
        host = self._by_ip.get(destination)
        if host is not None:  # an address with no device: dropped, as no socket would get it
            self._request(host, data, addr)
