"""The UDP sockets under the CoIoT transport: one per device (asyncio datagram endpoint) and
the ones read with IP_PKTINFO (the group socket, the shared wildcard socket).

Multicast follows the device (DESIGN.md, "Multicast follows the device"): every socket sets
IP_MULTICAST_IF explicitly, and a datagram that arrives on the group says on which interface it
came, so only the devices on that link answer it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Callable

__all__ = ["Address", "Endpoint", "PktinfoSocket", "join_group", "udp_socket"]

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


def udp_socket(address: str, port: int, interface: str, ttl: int) -> socket.socket:
    """Bound to ``address:port``; multicast leaves by the interface holding ``interface``."""
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


def join_group(sock: socket.socket, group: str, interface: str) -> bool:
    """Join ``group`` on the interface holding the address ``interface``; False if that
    interface had joined already (the kernel keeps one membership per interface)."""
    try:
        sock.setsockopt(
            socket.IPPROTO_IP,
            socket.IP_ADD_MEMBERSHIP,
            socket.inet_aton(group) + socket.inet_aton(interface),
        )
    except OSError as error:
        if error.errno == 98:  # EADDRINUSE: a device on the same link joined it
            return False
        raise
    return True


class Endpoint(asyncio.DatagramProtocol):
    """One device's socket. Datagrams sent before asyncio has wrapped it wait in ``pending``."""

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


class PktinfoSocket:
    """A socket read with ``recvmsg`` from the loop's reader (asyncio's DatagramTransport hides
    ancillary data) and written with ``sendmsg``: IP_PKTINFO on receive tells the destination
    address and the interface a datagram came in on; on send it sets the source address and,
    for multicast, the outgoing interface.

    Sends never wait: a full socket buffer drops the datagram (CoIoT is best-effort UDP and a
    client retries), with a debug log.
    """

    def __init__(
        self,
        sock: socket.socket,
        loop: asyncio.AbstractEventLoop,
        on_datagram: Callable[[bytes, str, int, Address], None],
    ) -> None:
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        self.sock = sock
        self.loop = loop
        self.on_datagram = on_datagram
        self._sources: dict[tuple[str, int], list[tuple[int, int, bytes]]] = {}
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        for _ in range(_READ_BATCH):
            try:
                data, ancillary, _flags, source = self.sock.recvmsg(4096, _ANCILLARY_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. ICMP port unreachable reported for an earlier send
                logger.debug("CoIoT socket: %s", error)
                continue
            for level, kind, value in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 12:
                    index, _local, destination = _PKTINFO.unpack_from(value)
                    self.on_datagram(data, socket.inet_ntoa(destination), index, source)
                    break

    def send(self, source_ip: str, data: bytes, address: Address, interface_index: int) -> None:
        """From ``source_ip``; ``interface_index`` (0: the socket's IP_MULTICAST_IF) is the
        outgoing interface of a multicast datagram and is ignored for unicast ones."""
        index = interface_index if socket.inet_aton(address[0])[0] >> 4 == 14 else 0
        ancillary = self._sources.get((source_ip, index))
        if ancillary is None:
            pktinfo = _PKTINFO.pack(index, socket.inet_aton(source_ip), _ANY)
            ancillary = [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)]
            self._sources[(source_ip, index)] = ancillary
        try:
            self.sock.sendmsg([data], ancillary, 0, address)
        except (BlockingIOError, InterruptedError):
            logger.debug("CoIoT: send buffer full, dropped a datagram from %s", source_ip)
        except OSError as error:
            logger.debug("CoIoT: cannot send from %s to %s: %s", source_ip, address, error)

    def forget(self, source_ip: str) -> None:
        for key in [key for key in self._sources if key[0] == source_ip]:
            del self._sources[key]

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
