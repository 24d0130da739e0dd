"""CoIoT frames: bytes against the spec's examples, aioshelly's parser as an oracle, requests
exactly as real clients send them, and malformed datagrams (spec/coiot.md §3, §4.2, §5)."""

from __future__ import annotations

import pytest
from aioshelly.block_device.coap import CoapMessage, CoapType

from emulator.transports.coiot.codec import (
    CoapCode,
    Request,
    encode_publish,
    encode_response,
    parse_request,
    validity_for,
)
from emulator.transports.coiot.description import load_model, payload
from tests.datafiles import COIOT_PAYLOADS as SPEC

SHSW1 = "SHSW-1#34945472A643#2"
G = b'{"G":[[0,9103,0],[0,1101,1],[0,2101,0],[0,2102,""],[0,2103,0]]}'


def test_publish_matches_spec_bytes() -> None:
    """The SHSW-1 publish of spec §5 (MID 0x2D42, validity 96 00, serial 01 00) byte for byte."""
    data = encode_publish(SHSW1, validity_for(15), 1, 0x2D42, G)
    assert data == (SPEC / "example_publish.bin").read_bytes()


def test_citd_answer_matches_spec_bytes() -> None:
    """ACK 2.05 to node-coap's CON GET /cit/d: same MID, only 3332, the real description."""
    request = parse_request(bytes.fromhex("40011234b36369740164"))
    assert request is not None
    body = payload(load_model("SHSW-1", 2).description(None).cit_d())
    data = encode_response(request, CoapCode.CONTENT, SHSW1, body)
    assert data == (SPEC / "example_citd_response.bin").read_bytes()


def test_aioshelly_parses_a_publish_as_periodic() -> None:
    message = CoapMessage(("127.0.0.1", 5683), encode_publish(SHSW1, 150, 7, 1, G))
    assert message.coap_type is CoapType.PERIODIC
    assert message.options == {11: b"s", 3332: SHSW1.encode(), 3412: b"\x96\x00", 3420: b"\x07\x00"}
    assert message.payload["G"][1] == [0, 1101, 1]


def test_status_answer_to_aioshelly_is_a_non_reply_without_token() -> None:
    """aioshelly's parser does not skip a token: its requests have none and so do the answers."""
    request = parse_request(b"\x50\x01\x00\x0a\xb3cit\x01s\xff\x00")
    assert request is not None
    data = encode_response(request, CoapCode.CONTENT, SHSW1, G, status=(150, 3))
    assert data[:4] == b"\x50\x45\x00\x0a"
    message = CoapMessage(("127.0.0.1", 5683), data)
    assert message.coap_type is CoapType.REPLY
    assert message.options == {11: b"s", 3332: SHSW1.encode(), 3412: b"\x96\x00", 3420: b"\x03\x00"}


def test_answer_to_confirmable_request_with_token_is_piggybacked_ack() -> None:
    """openHAB/Californium: CON with a token gets an ACK carrying the same MID and token."""
    request = parse_request(b"\x42\x01\xbe\xef\x01\x02\xb3cit\x01d")
    assert request == Request(True, 0xBEEF, b"\x01\x02", CoapCode.GET, ("cit", "d"))
    data = encode_response(request, CoapCode.CONTENT, SHSW1, b"{}")
    assert data[:6] == b"\x62\x45\xbe\xef\x01\x02"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            b"\x50\x01\x00\x0a\xb3cit\x01s\xff\x00",
            Request(False, 0x000A, b"", 1, ("cit", "s")),
            id="aioshelly: MID 0x000A, stray payload byte",
        ),
        pytest.param(
            b"\x50\x01\x00\x0a\xb3cit\x01d\xff",
            Request(False, 0x000A, b"", 1, ("cit", "d")),
            id="pyShelly discover: marker with empty payload",
        ),
        pytest.param(
            bytes.fromhex("40011234b36369740164"),
            Request(True, 0x1234, b"", 1, ("cit", "d")),
            id="ioBroker/shelly-iot: CON, empty token",
        ),
        pytest.param(
            b"\x50\x01\x77\x01\xb3cit\x01s",
            Request(False, 0x7701, b"", 1, ("cit", "s")),
            id="node-shellies multicast NON GET /cit/s",
        ),
    ],
)
def test_requests_as_clients_send_them(data: bytes, expected: Request) -> None:
    assert parse_request(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x50\x01\x00", id="shorter than a header"),
        pytest.param(b"\x90\x01\x00\x01\xb3cit", id="version 2"),
        pytest.param(b"\x5f\x01\x00\x01" + bytes(15), id="token length 15 (reserved)"),
        pytest.param(b"\x58\x01\x00\x01\x01\x02", id="token shorter than announced"),
        pytest.param(b"\x50\x01\x00\x01\xb5cit", id="option longer than the datagram"),
        pytest.param(b"\x50\x01\x00\x01\xf3cit", id="option delta 15"),
        pytest.param(b"\x50\x01\x00\x01\xbf", id="option length 15"),
        pytest.param(b"\x50\x01\x00\x01\xb2\xff\xfe", id="Uri-Path not UTF-8"),
        pytest.param(b"\x50\x01\x00\x01\xd0", id="extended delta missing"),
        pytest.param(b"\x60\x00\x12\x34", id="empty ACK"),
        pytest.param(b"\x70\x00\x12\x34", id="RST"),
        pytest.param(b"\x50\x45\x00\x0a\xb3cit\x01s", id="NON 2.05 (ioBroker answering a publish)"),
        pytest.param(b"\x60\x45\x00\x0a\xff{}", id="ACK 2.05"),
        pytest.param(b"\x40\x00\x00\x01", id="CoAP ping (empty CON)"),
    ],
)
def test_malformed_and_non_request_datagrams_are_dropped(data: bytes) -> None:
    assert parse_request(data) is None


@pytest.mark.parametrize(
    ("period", "validity"),
    [(15, 150), (30, 300), (6553, 65530), (6554, 1639), (65535, 16385)],
)
def test_validity_tenths_then_four_second_units(period: int, validity: int) -> None:
    """LS bit 0: tenths of a second; LS bit 1: 4 s units, never shorter than the period."""
    assert validity_for(period) == validity
    seconds = validity / 10 if validity % 2 == 0 else validity * 4
    assert seconds >= period
