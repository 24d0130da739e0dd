"""CoIoT with ``shared_socket=True``: one wildcard socket for every device (DESIGN.md, "One socket
can speak for every device"), and the same wire as a socket per device (tests/coiot/test_udp.py):
answers and publishes leave from the device's own address and the CoIoT port, requests reach the
device whose address they were sent to, an address with no device answers nothing, multicast
GETs are answered by every device, faults and the request log still apply.

Port: other suites on this machine bind ``<their device>:5683`` with SO_REUSEADDR, and a wildcard
socket on 5683 would share unicast delivery with any other wildcard holder of 5683, so these
tests bind the shared socket to a free ephemeral port (``port=0``). Only the aioshelly test uses
5683, because aioshelly sends every request to port 5683: it binds ``0.0.0.0:5683`` with
SO_REUSEADDR, which coexists with the per-device sockets of other suites (the kernel prefers
their exact address match for their addresses, and our devices' random addresses are ours).

"Nothing was answered" is shown by order, as in test_udp.py: the request that must go unanswered
is sent first, one that must be answered follows, and the first datagram back is that answer; a
short bounded wait then shows nothing else came.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from ipaddress import IPv4Address
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aioshelly.block_device.coap import COAP, CoapMessage, CoapType
from aioshelly.block_device.device import BlockDevice
from aioshelly.common import ConnectionOptions, get_info

from emulator.conformance import coap as conformance_coap
from emulator.core.clock import ManualClock
from emulator.runtime import DeviceHost, Runtime
from emulator.transports.coiot.udp import CoiotTransport
from emulator.transports.faults import Faults
from emulator.transports.net import free_loopback_address

from .conftest import WAIT, Client, reboot

AIOSHELLY_S = b"\x50\x01\x00\x0a\xb3cit\x01s\xff\x00"
GROUP = "224.0.1.187"
#: Bounded wait for "nothing more arrives".
QUIET = 0.3


@pytest.fixture
def shared() -> Iterator[tuple[Runtime, CoiotTransport]]:
    """A ManualClock runtime whose CoIoT is one socket on 0.0.0.0:<free port>."""
    runtime = Runtime(clock=ManualClock()).start()
    transport = CoiotTransport.attach(runtime, port=0, shared_socket=True)
    assert transport.port != 0
    yield runtime, transport
    runtime.stop()


def add(runtime: Runtime, model: str = "SHSW-1", **settings: Any) -> DeviceHost:
    host = runtime.add_device(
        model, ip=free_loopback_address(80), settings={k: str(v) for k, v in settings.items()}
    )
    reboot(host)
    return host


def answer(client: Client, host: DeviceHost, port: int) -> CoapMessage:
    """The next datagram, which must come from the device's address and the CoIoT port."""
    data, source = client.receive()
    assert source == (host.ip, port)
    return CoapMessage(source, data)


def device_id(message: CoapMessage) -> str:
    return message.options[3332].decode().split("#")[1]


def nothing_more(client: Client) -> None:
    client.sock.settimeout(QUIET)
    with pytest.raises(TimeoutError):
        client.receive()
    client.sock.settimeout(WAIT)


def test_unicast_requests_reach_their_device_and_are_answered_from_its_address(
    shared: tuple[Runtime, CoiotTransport], client: Client
) -> None:
    runtime, transport = shared
    a, b = add(runtime, "SHSW-1"), add(runtime, "SHPLG-S")
    assert a.ip != b.ip
    for host in (a, b, a):
        client.send(AIOSHELLY_S, (host.ip, transport.port))
        reply = answer(client, host, transport.port)
        assert (reply.code, reply.mid) == (69, 0x000A)
        assert device_id(reply) == host.device.identity.device_id
    # On the loop thread: the record is written just after the answer is sent.
    hostname = a.device.identity.hostname
    records = runtime.call(lambda: runtime.request_log.select(device=hostname, proto="coap"))
    assert [(r.method, r.path, r.status) for r in records] == [("GET", "/cit/s", 69)] * 2
    assert records[0].peer == client.peer


def test_publishes_leave_from_each_device_address(
    shared: tuple[Runtime, CoiotTransport], client: Client
) -> None:
    runtime, transport = shared
    hosts = [add(runtime, "SHSW-1", coiot_peer=client.peer) for _ in range(2)]
    for host in hosts:  # the boot publish, to the peer
        message = answer(client, host, transport.port)
        assert message.code == 30 and message.coap_type is CoapType.PERIODIC
    for host in hosts:
        host.get("relay/0", turn="on")
        change = answer(client, host, transport.port)
        assert device_id(change) == host.device.identity.device_id
        assert {s: v for _, s, v in change.payload["G"]}[1101] == 1


def test_request_to_an_address_without_a_device_gets_nothing(
    shared: tuple[Runtime, CoiotTransport], client: Client
) -> None:
    runtime, transport = shared
    host = add(runtime)
    nobody = free_loopback_address(80)
    client.send(AIOSHELLY_S, (nobody, transport.port))
    client.send(AIOSHELLY_S, (host.ip, transport.port))
    answer(client, host, transport.port)
    nothing_more(client)


def test_removed_device_stops_answering_and_the_others_go_on(
    shared: tuple[Runtime, CoiotTransport], client: Client
) -> None:
    runtime, transport = shared
    gone, stays = add(runtime), add(runtime)
    runtime.remove_device(gone)
    client.send(AIOSHELLY_S, (gone.ip, transport.port))
    client.send(AIOSHELLY_S, (stays.ip, transport.port))
    answer(client, stays, transport.port)
    nothing_more(client)


def test_multicast_get_is_answered_by_every_device_from_its_address(
    shared: tuple[Runtime, CoiotTransport], client: Client
) -> None:
    runtime, transport = shared
    hosts = {host.ip: host for host in (add(runtime), add(runtime, "SHPLG-1"))}
    request = b"\x50\x01\x77\x01\xb3cit\x01s"
    client.send(request, (GROUP, transport.port))
    answered: dict[str, bytes] = {}
    for _ in range(len(hosts)):  # the port is ours alone: no other suite's device answers
        data, (address, port) = client.receive()
        assert port == transport.port and address in hosts
        answered[address] = data
    assert set(answered) == set(hosts)
    assert all(data[1] == 69 and data[2:4] == request[2:4] for data in answered.values())


def test_faults_silence_the_device_on_the_shared_socket(
    shared: tuple[Runtime, CoiotTransport], client: Client
) -> None:
    runtime, transport = shared
    quiet, other = add(runtime, coiot_peer=client.peer), add(runtime)
    answer(client, quiet, transport.port)  # boot publish
    quiet.faults = Faults(drop_coiot=True)
    quiet.get("relay/0", turn="on")  # no publish
    quiet.faults = Faults(offline=True)
    client.send(AIOSHELLY_S, (quiet.ip, transport.port))  # no answer
    client.send(AIOSHELLY_S, (other.ip, transport.port))
    answer(client, other, transport.port)
    nothing_more(client)


def test_a_device_costs_no_descriptor_for_coiot(shared: tuple[Runtime, CoiotTransport]) -> None:
    runtime, _ = shared
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        add(runtime)
    assert len(os.listdir("/proc/self/fd")) - before == 5  # the HTTP listeners only


def test_the_conformance_client_reads_a_shared_socket_device(
    shared: tuple[Runtime, CoiotTransport],
) -> None:
    runtime, transport = shared
    host = add(runtime, "SHPLG-S")
    packet = conformance_coap.request(host.ip, transport.port, "d", confirmable=True, tries=1)
    assert packet is not None and packet.source == (host.ip, transport.port)
    assert "blk" in packet.json()


# --- aioshelly, port 5683 ---------------------------------------------------------------------


@pytest.fixture
def shared_5683() -> Iterator[Runtime]:
    """Real clock, shared socket on 0.0.0.0:5683 (SO_REUSEADDR: see the module docstring)."""
    runtime = Runtime().start()
    transport = CoiotTransport.attach(runtime, shared_socket=True)
    if transport._shared is None:  # could not bind (logged): fail with the reason, not oddly
        runtime.stop()
        pytest.fail("cannot bind 0.0.0.0:5683 (another socket holds it without SO_REUSEADDR)")
    yield runtime
    runtime.stop()


@pytest_asyncio.fixture
async def aioshelly_coap() -> AsyncIterator[COAP]:
    context = COAP()
    await context.initialize(0, [IPv4Address("127.0.0.1")])
    yield context
    context.close()


@pytest.mark.asyncio
async def test_aioshelly_initializes_a_device_served_by_the_shared_socket(
    shared_5683: Runtime, aioshelly_coap: COAP
) -> None:
    """HA's path: GET /shelly, BlockDevice.create (CoAP GET /cit/s to <ip>:5683), initialize;
    the device's publishes reach aioshelly's listener (its CoIoT peer) from <ip>:5683."""
    assert aioshelly_coap.sock is not None
    peer = f"127.0.0.1:{aioshelly_coap.sock.getsockname()[1]}"
    host = shared_5683.add_device(
        "SHSW-1", ip=free_loopback_address(80), http_port=80, settings={"coiot_peer": peer}
    )
    reboot(host)
    async with aiohttp.ClientSession() as session:
        info = await get_info(session, host.ip)
        device = await BlockDevice.create(
            session, aioshelly_coap, ConnectionOptions(host.ip, device_mac=info["mac"])
        )
        await device.initialize()
        try:
            assert device.initialized and device.firmware_supported
            assert device.coap_s is not None  # the CoAP status arrived (answer or publish)
            assert {"relay_0", "device"} <= {b.description for b in device.blocks}
            # aioshelly's GET /cit/s went to <ip>:5683, reached the shared socket, and was
            # answered (the log names aioshelly's port as the peer).
            hostname = host.device.identity.hostname
            records = shared_5683.call(lambda: shared_5683.request_log.select(device=hostname))
            assert ("coap", "/cit/s", 69, peer) in {
                (r.proto, r.path, r.status, r.peer) for r in records
            }
        finally:
            await device.shutdown()


def test_shared_socket_on_a_taken_port_logs_and_serves_no_coiot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # no SO_REUSEADDR: exclusive
    blocker.bind(("0.0.0.0", 0))
    runtime = Runtime(clock=ManualClock()).start()
    try:
        transport = CoiotTransport.attach(
            runtime, port=blocker.getsockname()[1], shared_socket=True
        )
        add(runtime)
        assert not transport.nodes
        assert "cannot bind 0.0.0.0" in caplog.text
    finally:
        runtime.stop()
        blocker.close()
