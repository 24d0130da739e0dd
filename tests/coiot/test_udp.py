"""CoIoT over real UDP sockets on loopback, under a ManualClock: publishes (periodic, on change,
multicast or to the peer), answers to requests exactly as clients send them, what is ignored,
and settings that take effect after a reboot (spec/coiot.md §0, §4; spec/clients.md §3).

Silence cannot be awaited, so "nothing was sent" is shown by order: the ignored datagram goes
first, a request that must be answered follows, and the first datagram back is that answer.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiocoap import Message
from aioshelly.block_device.coap import CoapMessage, CoapType

from emulator.runtime import DeviceHost, Runtime
from emulator.transports.coiot.udp import CoiotTransport

from .conftest import WAIT, Client, MakeDevice, reboot

AIOSHELLY_S = b"\x50\x01\x00\x0a\xb3cit\x01s\xff\x00"
AIOSHELLY_D = b"\x50\x01\x00\x0a\xb3cit\x01d\xff\x00"
PYSHELLY_DISCOVER = b"\x50\x01\x00\x0a\xb3cit\x01d\xff"
GROUP = ("224.0.1.187", 5683)


def coiot(client: Client, host: DeviceHost) -> CoapMessage:
    """The next datagram, parsed by aioshelly, after checking it came from the device's own
    address and port 5683."""
    data, source = client.receive()
    assert source == (host.ip, 5683)
    return CoapMessage(source, data)


def serial(message: CoapMessage) -> int:
    return int.from_bytes(message.options[3420], "little")


def values(message: CoapMessage) -> dict[int, Any]:
    return {sensor: value for _, sensor, value in message.payload["G"]}


# --- publishing -----------------------------------------------------------------------------


def test_publish_on_change_and_exactly_one_per_period(
    manual_runtime: Runtime, make_device: MakeDevice, client: Client
) -> None:
    """Changes publish at once with serial+1; 15 s of clock give one periodic publish with the
    serial unchanged; every datagram has a new message id."""
    host = make_device("SHSW-1")
    manual_runtime.advance(14.9)
    host.get("relay/0", turn="on")
    change = coiot(client, host)
    assert change.coap_type is CoapType.PERIODIC
    assert change.options[3332] == f"SHSW-1#{host.device.identity.device_id}#2".encode()
    assert values(change)[1101] == 1
    manual_runtime.advance(0.1)  # 15 s after the boot
    periodic = coiot(client, host)
    manual_runtime.advance(15)
    second = coiot(client, host)
    host.get("relay/0", turn="off")
    after = coiot(client, host)
    assert serial(periodic) == serial(second) == serial(change)
    assert periodic.payload == second.payload == change.payload
    assert serial(after) == serial(change) + 1 and values(after)[1101] == 0
    assert [m.mid for m in (periodic, second, after)] == [change.mid + 1 + i for i in range(3)]
    assert serial(after) == host.status()["serial"]


def test_serial_changes_with_the_payload_when_energy_moves_on_its_own(
    manual_runtime: Runtime, make_device: MakeDevice, client: Client
) -> None:
    host = make_device("SHPLG-S")
    host.world.set_load(0, 120)
    loaded = coiot(client, host)
    manual_runtime.advance(15)
    periodic = coiot(client, host)
    assert values(periodic)[4103] > values(loaded)[4103]
    assert serial(periodic) == serial(loaded) + 1 == host.status()["serial"]


def test_serial_wraps_to_one_never_zero(make_device: MakeDevice, client: Client) -> None:
    host = make_device("SHPLG-1")
    host.runtime.call(lambda: setattr(host.device, "status_serial", 0xFFFF))
    host.get("relay/0", turn="off")
    assert serial(coiot(client, host)) == 1


def test_mode_switch_publishes_the_other_description(
    make_device: MakeDevice, client: Client
) -> None:
    host = make_device("SHSW-21")
    host.get("settings", mode="roller")
    published = values(coiot(client, host))
    assert published[9101] == "roller" and published[1102] == "stop" and 1101 not in published


@pytest.fixture
def group_listener() -> Iterator[socket.socket]:
    """A member of 224.0.1.187 on loopback, port 5683 shared with SO_REUSEADDR."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(GROUP)
    membership = socket.inet_aton(GROUP[0]) + socket.inet_aton("127.0.0.1")
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    sock.settimeout(WAIT)
    yield sock
    sock.close()


def published(sock: socket.socket, host: DeviceHost) -> Iterator[CoapMessage]:
    """Group datagrams from ``host`` (other suites' devices may share the group), at most 200."""
    for _ in range(200):
        data, source = sock.recvfrom(4096)
        if source == (host.ip, 5683):
            yield CoapMessage(source, data)


def test_without_peer_publishes_go_to_the_multicast_group(
    make_device: MakeDevice, group_listener: socket.socket
) -> None:
    host = make_device("SHSW-44", peer=None)  # its boot publishes went to the group too
    host.get("relay/3", turn="on")
    message = next(m for m in published(group_listener, host) if values(m)[142] == 1)
    assert message.options[3332] == f"SHSW-44#{host.device.identity.device_id}#1".encode()
    assert message.coap_type is CoapType.PERIODIC


# --- answering ------------------------------------------------------------------------------


def test_aioshelly_polls_with_the_same_message_id_and_gets_every_answer(
    make_device: MakeDevice, client: Client
) -> None:
    """No de-duplication by MID: aioshelly sends 0x000A every time (spec/clients.md §3.2)."""
    host = make_device("SHSW-1")
    for turn in ("on", "off"):
        host.get("relay/0", turn=turn)
        coiot(client, host)  # the change's publish
        client.send(AIOSHELLY_S, (host.ip, 5683))
        data, _ = client.receive()
        assert data[:4] == b"\x50\x45\x00\x0a"
        reply = CoapMessage((host.ip, 5683), data)
        assert reply.coap_type is CoapType.REPLY
        assert set(reply.options) == {11, 3332, 3412, 3420}
        assert values(reply)[1101] == (turn == "on")


def test_description_over_coap_for_pyshelly_and_aioshelly(
    make_device: MakeDevice, client: Client
) -> None:
    host = make_device("SHPLG-S")
    for request in (PYSHELLY_DISCOVER, AIOSHELLY_D):
        client.send(request, (host.ip, 5683))
        reply = coiot(client, host)
        assert reply.code == 69 and set(reply.options) == {3332}
        assert reply.payload == host.get("cit/d")


def test_ioBroker_confirmable_retries_each_get_a_piggybacked_ack(
    make_device: MakeDevice, client: Client
) -> None:
    host = make_device("SHSW-21")
    request = bytes.fromhex("40011234b36369740164")
    for _ in range(3):  # shelly-iot retries every 2 s, three tries, same MID
        client.send(request, (host.ip, 5683))
        data, _ = client.receive()
        assert data[:4] == b"\x60\x45\x12\x34"
        assert "blk" in CoapMessage((host.ip, 5683), data).payload


def test_confirmable_request_with_token_gets_token_back(
    make_device: MakeDevice, client: Client
) -> None:
    host = make_device("SHSW-1")
    client.send(b"\x42\x01\x00\x07\xab\xcd\xb3cit\x01s", (host.ip, 5683))
    reply = Message.decode(client.receive()[0])
    assert (reply.mtype.name, reply.mid, reply.token, reply.code.dotted) == (
        "ACK", 7, b"\xab\xcd", "2.05",
    )  # fmt: skip
    assert reply.opt.uri_path == ("cit", "s")


def test_unknown_path_is_not_found(make_device: MakeDevice, client: Client) -> None:
    host = make_device("SHSW-1")
    client.send(b"\x50\x01\x00\x09\xb5light", (host.ip, 5683))
    reply = Message.decode(client.receive()[0])
    assert (reply.mid, reply.code.dotted) == (9, "4.04")


@pytest.mark.parametrize(
    "datagram",
    [
        pytest.param(b"\x50\x45\x00\x0a\xb3cit\x01s", id="NON 2.05 (ioBroker's answer)"),
        pytest.param(b"\x60\x00\x00\x0a", id="ACK"),
        pytest.param(b"\x70\x00\x00\x0a", id="RST"),
        pytest.param(b"\x50\x1e\x00\x0b\xb3cit\x01s\xff{}", id="another device's publish"),
        pytest.param(b"\x50\x02\x00\x0b\xb3cit\x01s", id="POST"),
        pytest.param(b"", id="empty datagram"),
        pytest.param(b"\x5f\x01\x00\x01", id="token length 15"),
        pytest.param(b"\x50\x01\x00\x01\xb9cit", id="truncated option"),
        pytest.param(b"\x50\x01\x00\x01\xf0", id="option delta 15"),
        pytest.param(b"\x50\x01\x00\x01\xb2\xc3\x28", id="Uri-Path not UTF-8"),
        pytest.param(b"\xff" * 1400, id="noise"),
    ],
)
def test_ignored_and_malformed_datagrams_get_no_answer(
    make_device: MakeDevice, client: Client, datagram: bytes
) -> None:
    host = make_device("SHSW-1")
    before = host.status()["serial"]
    client.send(datagram, (host.ip, 5683))
    client.send(AIOSHELLY_S, (host.ip, 5683))
    reply = coiot(client, host)
    assert (reply.code, reply.mid) == (69, 0x000A)
    assert host.status()["serial"] == before


def test_multicast_requests_are_answered_by_every_device_from_its_address(
    make_device: MakeDevice, client: Client
) -> None:
    hosts = [make_device("SHSW-1"), make_device("SHPLG-1")]
    for request in (b"\x50\x01\x77\x01\xb3cit\x01s", PYSHELLY_DISCOVER):
        client.send(request, GROUP)
        answered: dict[str, bytes] = {}
        for _ in range(200):  # devices of other suites on this host may answer too
            data, (address, port) = client.receive()
            if address in {h.ip for h in hosts} and port == 5683:
                answered[address] = data
            if len(answered) == len(hosts):
                break
        assert all(data[1] == 69 and data[2:4] == request[2:4] for data in answered.values())


# --- settings, power, sleep -----------------------------------------------------------------


def test_coiot_settings_take_effect_only_after_reboot(
    manual_runtime: Runtime, make_device: MakeDevice, client: Client
) -> None:
    other = Client()
    try:
        host = make_device("SHSW-1")
        host.get("settings/advanced", coiot_peer=other.peer, coiot_update_period="30")
        assert host.settings()["coiot"] == {
            "enabled": True,
            "update_period": 30,
            "peer": other.peer,
        }
        assert values(coiot(client, host))[9103] == 2  # cfgChanged, still to the old peer
        host.get("relay/0", turn="on")
        assert values(coiot(client, host))[1101] == 1
        host.get("reboot")
        manual_runtime.advance(host.device.boot_seconds + 1)
        boot = coiot(other, host)
        assert boot.options[3412] == struct.pack("<H", 300)
        assert values(boot)[1101] == 0  # default_state off
        manual_runtime.advance(29)
        host.get("relay/0", turn="on")  # no periodic publish before 30 s
        assert values(coiot(other, host))[1101] == 1
        manual_runtime.advance(1)
        assert serial(coiot(other, host)) == serial(boot) + 1
    finally:
        other.close()


def test_disabled_coiot_is_silent_after_reboot(make_device: MakeDevice, client: Client) -> None:
    host = make_device("SHSW-1")
    marker = make_device("SHPLG-1")
    host.get("settings", coiot_enable="false")
    assert host.settings()["coiot"]["enabled"] is False
    assert values(coiot(client, host))[9103] == 2  # enabled until the reboot
    reboot(host)
    host.get("relay/0", turn="off")
    client.send(AIOSHELLY_S, (host.ip, 5683))
    marker.get("relay/0", turn="off")
    assert coiot(client, marker).code == 30


def test_sleeping_device_publishes_and_answers_only_while_awake(
    make_device: MakeDevice, client: Client
) -> None:
    host = make_device("SHSW-1")
    marker = make_device("SHPLG-1")
    host.runtime.call(lambda: setattr(host.device, "asleep", True))
    host.get("relay/0", turn="on")
    client.send(AIOSHELLY_S, (host.ip, 5683))
    marker.get("relay/0", turn="off")
    assert coiot(client, marker).code == 30
    host.runtime.call(lambda: setattr(host.device, "asleep", False))
    host.world.flip(0)
    assert values(coiot(client, host))[2101] == 1


def test_removed_device_frees_its_address(manual_runtime: Runtime, make_device: MakeDevice) -> None:
    host = make_device("SHSW-1")
    assert (host.ip, 5683) in _bound_udp()
    manual_runtime.remove_device(host)
    # Read the kernel's table rather than bind a probe: a probe bind also fails while any other
    # process on this machine holds 0.0.0.0:5683, which says nothing about the device.
    assert (host.ip, 5683) not in _bound_udp()


def _bound_udp() -> set[tuple[str, int]]:
    """Local (address, port) of every IPv4 UDP socket on the machine (/proc/net/udp)."""
    bound = set()
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        address, port = line.split()[1].split(":")
        bound.add((socket.inet_ntoa(bytes.fromhex(address)[::-1]), int(port, 16)))
    return bound


# --- multicast follows the device -------------------------------------------------------------


def test_each_device_multicasts_from_the_interface_holding_its_own_address(
    manual_runtime: Runtime, make_device: MakeDevice
) -> None:
    """IP_MULTICAST_IF is the device's address (loopback for 127.x: nothing leaves the host),
    and the group is joined on that interface (tests/lan covers a device on a veth)."""
    transport = next(
        closer.__self__
        for closer in manual_runtime.closers
        if isinstance(getattr(closer, "__self__", None), CoiotTransport)
    )
    hosts = [make_device("SHSW-1"), make_device("SHPLG-S")]
    for host in hosts:
        sock = transport._endpoints[host].sock
        interface = sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4)
        assert socket.inet_ntoa(interface) == host.ip
    assert transport._joined == {socket.if_nametoindex("lo")}
