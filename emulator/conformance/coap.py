"""CoIoT (Shelly's CoAP) from a client's side: unicast GET of /cit/d and /cit/s, and a listener
for the periodic 0.30 publishes.

aiocoap's ``Message`` encodes and decodes; the UDP sockets are ours (DESIGN principle 6: aiocoap's
server de-duplicates by message id and keeps state per request). Requests imitate real clients:
aioshelly's NON GET with a stray one-byte payload and no token, node-shellies' CON GET with an
empty token (coiot.md 4.2).
"""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiocoap import CON, GET, NON, Message
from aiocoap.numbers.types import Type

from ..transports.coiot.codec import MULTICAST_GROUP, CoapCode, CoiotOption

__all__ = ["COIOT_GROUP", "CoapCode", "CoiotOption", "Listener", "Packet", "decode", "request"]

# The wire constants are the emulator's own (emulator/transports/coiot/codec.py): one
# definition of CoIoT.
COIOT_GROUP = MULTICAST_GROUP


@dataclass(frozen=True, slots=True)
class Packet:
    """One received CoAP datagram, decoded."""

    code: int
    mtype: str
    mid: int
    token: bytes
    uri_path: tuple[str, ...]
    devid: str | None
    validity: bytes | None
    serial: bytes | None
    payload: bytes
    source: tuple[str, int]

    @property
    def serial_le(self) -> int | None:
        """The 3420 serial as real firmware writes it: uint16 little-endian (coiot.md 3.3)."""
        return None if self.serial is None else int.from_bytes(self.serial, "little")

    def json(self) -> Any:
        """The payload as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.payload.decode())


def _option(msg: Message, number: int) -> bytes | None:
    values = msg.opt.get_option(number)
    return values[0].encode() if values else None


def decode(data: bytes, source: tuple[str, int]) -> Packet:
    """Decode a datagram (raises ``ValueError`` on malformed CoAP)."""
    msg = Message.decode(data)
    devid = _option(msg, CoiotOption.DEVICE_ID)
    return Packet(
        code=int(msg.code),
        mtype=Type(msg.mtype).name,
        mid=msg.mid,
        token=msg.token,
        uri_path=tuple(msg.opt.uri_path),
        devid=devid.decode(errors="replace") if devid is not None else None,
        validity=_option(msg, CoiotOption.STATUS_VALIDITY),
        serial=_option(msg, CoiotOption.STATUS_SERIAL),
        payload=msg.payload,
        source=source,
    )


def request(
    host: str, port: int, resource: str, *, confirmable: bool, timeout: float = 2.5, tries: int = 3
) -> Packet | None:
    """GET ``/cit/<resource>`` from ``host:port``; the answer with our message id, or None.

    Three tries of 2.5 s, as aioshelly does (clients.md 2.3).
    """
    address = socket.gethostbyname(host)
    mid = random.randrange(0x10000)
    msg = Message(code=GET, payload=b"" if confirmable else b"\x00")
    msg.mtype = CON if confirmable else NON
    msg.mid = mid
    msg.token = b""
    msg.opt.uri_path = ("cit", resource)
    data = msg.encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(tries):
            sock.sendto(data, (address, port))
            deadline = time.monotonic() + timeout
            answer = _receive(sock, address, deadline, lambda p: p.mid == mid)
            if answer is not None:
                return answer
    return None


def _receive(
    sock: socket.socket, source_ip: str, deadline: float, wanted: Callable[[Packet], bool]
) -> Packet | None:
    """The first well-formed datagram from ``source_ip`` that is ``wanted``, before ``deadline``."""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            raw, source = sock.recvfrom(4096)
        except TimeoutError:
            return None
        if source[0] != source_ip:
            continue
        try:
            packet = decode(raw, source)
        except ValueError:
            continue
        if wanted(packet):
            return packet
    return None


class Listener:
    """Receives CoIoT publishes on ``bind`` (default ``0.0.0.0:5683`` plus the multicast group).

    Publishes go to ``coiot.peer`` when set, else to 224.0.1.187:5683 (coiot.md 2); the group is
    joined on ``interface`` only, so nothing is routed off the wanted link (DESIGN, multicast).
    """

    def __init__(self, bind: tuple[str, int], interface: str | None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(bind)
        self.multicast_error: str | None = None
        if bind[0] == "0.0.0.0" and interface is not None:
            mreq = socket.inet_aton(COIOT_GROUP) + socket.inet_aton(interface)
            try:
                self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            except OSError as exc:
                self.multicast_error = f"cannot join {COIOT_GROUP} on {interface}: {exc}"

    @property
    def address(self) -> tuple[str, int]:
        """Where the listener receives (the real port when bound to port 0)."""
        host, port = self.sock.getsockname()
        return host, port

    def drain(self) -> None:
        """Forget everything received so far, so later waits see only new publishes."""
        self.sock.setblocking(False)
        try:
            while True:
                self.sock.recvfrom(4096)
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)

    def next_publish(self, device_ip: str, timeout: float) -> Packet | None:
        """The next 0.30 publish from ``device_ip`` within ``timeout`` seconds, or None."""
        deadline = time.monotonic() + timeout
        return _receive(self.sock, device_ip, deadline, lambda p: p.code == CoapCode.STATUS_PUBLISH)

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
