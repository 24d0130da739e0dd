"""CoIoT frames on top of aiocoap's ``Message`` encoder and decoder (no sockets, no clock).

Byte layout per spec/coiot.md §3 and §5: NON 0.30 publishes without a token, options Uri-Path
``cit``/``s``, 3332 ``TYPE#ID#VER``, 3412 validity and 3420 serial as exactly two little-endian
bytes (what real firmware writes, §3.3), then compact JSON. Answers echo the request's message
id and token (node-coap and Californium match on them, §4.2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from aiocoap import Message
from aiocoap.error import UnparsableMessage
from aiocoap.numbers.codes import Code
from aiocoap.numbers.types import Type
from aiocoap.optiontypes import OpaqueOption, StringOption

__all__ = [
    "COAP_PORT",
    "MULTICAST_GROUP",
    "CoapCode",
    "CoiotOption",
    "Request",
    "encode_publish",
    "encode_response",
    "parse_request",
    "validity_for",
]

#: CoAP's port on both sides; clients send to <device-ip>:5683 (aioshelly hard-codes it).
COAP_PORT = 5683
#: "All CoAP Nodes" IPv4 group every Shelly client joins (spec/coiot.md §2).
MULTICAST_GROUP = "224.0.1.187"
#: RFC 7252 §3: the token is at most 8 bytes; TKL 9..15 is a message format error.
_MAX_TOKEN = 8
_UINT16 = 0xFFFF


class CoapCode(IntEnum):
    """The CoAP codes CoIoT uses (spec/coiot.md §3.1)."""

    GET = 1
    #: Shelly's non-standard "status publish" request code 0.30.
    STATUS_PUBLISH = 30
    CONTENT = 69
    NOT_FOUND = 132


class CoiotOption(IntEnum):
    """CoIoT's elective options: COIOT_OPTION_N(n) = 3332 + 8n (official doc, CoIoT chapter)."""

    DEVICE_ID = 3332
    STATUS_VALIDITY = 3412
    STATUS_SERIAL = 3420


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded CoAP request: what an answer must echo and the path it asked for."""

    confirmable: bool
    mid: int
    token: bytes
    code: int
    path: tuple[str, ...]


def _uint16_le(value: int) -> bytes:
    return struct.pack("<H", value & _UINT16)


def validity_for(update_period: int) -> int:
    """Option 3412 for a publish period: tenths of a second while it fits (LS bit 0), else
    4-second units with the LS bit set (official doc). 15 s gives 150, the real ``96 00``."""
    tenths = update_period * 10
    if tenths <= _UINT16 - 1:
        return tenths
    return min(_UINT16, -(-update_period // 4) | 1)


def _status_options(message: Message, devid: str, validity: int, serial: int) -> None:
    message.opt.add_option(StringOption(CoiotOption.DEVICE_ID, devid))
    message.opt.add_option(OpaqueOption(CoiotOption.STATUS_VALIDITY, _uint16_le(validity)))
    message.opt.add_option(OpaqueOption(CoiotOption.STATUS_SERIAL, _uint16_le(serial)))


def encode_publish(devid: str, validity: int, serial: int, mid: int, payload: bytes) -> bytes:
    """A status publish: NON 0.30 /cit/s, no token, 3332 + 3412 + 3420, JSON payload."""
    message = Message(code=Code(CoapCode.STATUS_PUBLISH), uri_path=("cit", "s"), payload=payload)
    message.mtype = Type.NON
    message.mid = mid & _UINT16
    message.token = b""
    _status_options(message, devid, validity, serial)
    return message.encode()


def encode_response(
    request: Request,
    code: CoapCode,
    devid: str,
    payload: bytes,
    *,
    status: tuple[int, int] | None = None,
) -> bytes:
    """An answer to ``request``: piggy-backed ACK to a CON, NON to a NON, same MID and token.

    ``status`` = (validity, serial) marks a /cit/s answer, which repeats Uri-Path cit/s and
    carries 3412 + 3420 (matterbridge needs the path, node-shellies the 3332; spec §4.2).
    """
    message = Message(code=Code(code), payload=payload)
    message.mtype = Type.ACK if request.confirmable else Type.NON
    message.mid = request.mid
    message.token = request.token
    if status is None:
        message.opt.add_option(StringOption(CoiotOption.DEVICE_ID, devid))
    else:
        message.opt.uri_path = ("cit", "s")
        _status_options(message, devid, *status)
    return message.encode()


def parse_request(data: bytes) -> Request | None:
    """Decode a datagram a device should consider answering; ``None`` for everything else.

    Malformed frames, responses (2.xx: ioBroker answers each publish with a NON 2.05), ACK,
    RST and empty messages all give ``None``. A payload on a GET (aioshelly sends ``FF 00``)
    or a marker without payload (pyShelly's discover) is tolerated and ignored.
    """
    if len(data) < 4 or data[0] & 0x0F > _MAX_TOKEN or len(data) < 4 + (data[0] & 0x0F):
        return None
    try:
        message = Message.decode(data)
        path = tuple(message.opt.uri_path)
    except (UnparsableMessage, ValueError):
        return None
    if message.mtype not in (Type.CON, Type.NON) or not message.code.is_request():
        return None
    return Request(
        confirmable=message.mtype == Type.CON,
        mid=message.mid,
        token=message.token,
        code=int(message.code),
        path=path,
    )
