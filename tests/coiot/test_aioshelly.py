"""aioshelly, the client Home Assistant uses, against emulated devices opened exactly as HA opens
them (spec/clients.md §2.3): GET /shelly, BlockDevice.create (which sends CoAP GET /cit/s),
subscribe_updates, initialize (/settings, /status, /cit/d over HTTP from fw 20210302 else over
CoAP, then CoAP /cit/s unless a status arrived). Sleeping devices are initialized only after
their wake-up publish brought them ONLINE, as HA does.

UDP 5683 on one host: each device owns ``<its address>:5683``. aioshelly's COAP listener binds
the wildcard address on an ephemeral port (HA's ``coap_port`` option) and is the devices' CoIoT
peer, which is what HA's own repair flow configures (``POST /settings/advanced coiot_peer=``):
every byte aioshelly sees is what it would see on port 5683, and no other process on this
machine can receive a unicast datagram meant for it. The multicast test binds 5683 itself
(SO_REUSEADDR, as aioshelly does) and relies only on group delivery, which reaches every member.

Adding a model is one ``Case`` in ``aioshelly_cases.CASES``; a sleeping model (``sleep_mode`` in
/shelly) also gives ``sleep`` and ``wake``: it is put to sleep after GET /shelly, so aioshelly's
GET /cit/s goes unanswered and only the wake-up publish can bring it ONLINE.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from ipaddress import IPv4Address
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aioshelly.block_device.coap import COAP
from aioshelly.block_device.device import BlockDevice, BlockUpdateType
from aioshelly.common import ConnectionOptions, get_info, is_firmware_supported

from emulator.runtime import DeviceHost, Runtime
from emulator.transports.net import free_loopback_address

from .aioshelly_cases import CASES, Case, block
from .conftest import FACTOR, WAIT, reboot

#: The requirement: a change on the device reaches the client as a push within a second.
PUSH_DEADLINE = 1.0 * FACTOR


# --- fixtures ------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest_asyncio.fixture
async def coap() -> AsyncIterator[COAP]:
    """aioshelly's listener as HA starts it, on loopback, on an ephemeral port (see above)."""
    context = COAP()
    await context.initialize(0, [IPv4Address("127.0.0.1")])
    yield context
    context.close()


def coap_peer(coap: COAP) -> str:
    assert coap.sock is not None
    return f"127.0.0.1:{coap.sock.getsockname()[1]}"


def start_device(runtime: Runtime, model: str, peer: str | None, **settings: str) -> DeviceHost:
    """A device on its own loopback address, HTTP on port 80, CoIoT to ``peer`` from boot."""
    if peer is not None:
        settings["coiot_peer"] = peer
    host = runtime.add_device(model, ip=free_loopback_address(80), http_port=80, settings=settings)
    reboot(host)
    return host


async def open_as_home_assistant(
    session: aiohttp.ClientSession, coap: COAP, host: DeviceHost, case: Case | None = None
) -> tuple[BlockDevice, asyncio.Queue[BlockUpdateType]]:
    info = await get_info(session, host.ip)  # the config flow's GET /shelly
    sleepy = bool(info.get("sleep_mode"))
    if sleepy:
        assert case is not None and case.sleep and case.wake, "a sleeping model needs both"
        case.sleep(host)
        assert host.device.asleep
    # create() sends GET /cit/s, which a sleeping device leaves unanswered.
    device = await BlockDevice.create(
        session, coap, ConnectionOptions(host.ip, device_mac=info["mac"])
    )
    updates: asyncio.Queue[BlockUpdateType] = asyncio.Queue()
    device.subscribe_updates(lambda _device, kind: updates.put_nowait(kind))
    if sleepy:
        assert case is not None and case.wake is not None
        case.wake(host)
        await next_update(updates, lambda kind: kind is BlockUpdateType.ONLINE, WAIT)
    await device.initialize()
    return device, updates


async def next_update(
    updates: asyncio.Queue[BlockUpdateType],
    wanted: Callable[[BlockUpdateType], bool],
    timeout: float,
) -> None:
    async with asyncio.timeout(timeout):
        while not wanted(await updates.get()):
            pass


async def push(
    updates: asyncio.Queue[BlockUpdateType], shown: Callable[[], bool], timeout: float
) -> None:
    """Wait for a CoIoT publish (PERIODIC, not a reply to a poll) after which ``shown()``."""
    await next_update(
        updates, lambda kind: kind is BlockUpdateType.COAP_PERIODIC and shown(), timeout
    )


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("case", CASES)
async def test_home_assistant_client(
    case: Case, real_runtime: Runtime, session: aiohttp.ClientSession, coap: COAP
) -> None:
    """Initialization, blocks and values, a command, and a pushed change within a second."""
    host = start_device(real_runtime, case.model, coap_peer(coap), **case.settings)
    if case.plug is not None:
        case.plug(host)
    device, updates = await open_as_home_assistant(session, coap, host, case)

    assert device.initialized and device.firmware_supported
    assert {b.description for b in device.blocks} == case.blocks
    seen = {b.description: b.current_values() for b in device.blocks}
    for name, values in case.expect(host.status(), host.settings()).items():
        assert values.items() <= seen[name].items(), name

    if case.command is not None:
        name, arguments = case.command
        await block(device, name).set_state(**arguments)
        assert case.commanded(host.status())

        def command_shown() -> bool:
            expected = case.expect(host.status(), host.settings())[name]
            return expected.items() <= block(device, name).current_values().items()

        await push(updates, command_shown, WAIT)

    async with asyncio.timeout(PUSH_DEADLINE):
        case.change(host)
        await push(updates, lambda: case.pushed(device), PUSH_DEADLINE)
    await device.shutdown()


@pytest.mark.asyncio
async def test_4pro_is_unsupported_and_served_over_http_only(
    real_runtime: Runtime, session: aiohttp.ClientSession, coap: COAP
) -> None:
    """aioshelly marks SHSW-44 "CoAP v1, unsupported": HTTP works, no blocks are built."""
    host = start_device(real_runtime, "SHSW-44", coap_peer(coap))
    info = await get_info(session, host.ip)
    assert not is_firmware_supported(1, info["type"], info["fw"])
    device, _ = await open_as_home_assistant(session, coap, host)
    assert device.initialized and not device.firmware_supported
    assert device.blocks == [] and device.settings["device"]["type"] == "SHSW-44"
    assert device.status["relays"][3]["ison"] is False
    await device.shutdown()


@pytest.mark.asyncio
async def test_firmware_before_1_10_gets_its_description_over_coap(
    real_runtime: Runtime, session: aiohttp.ClientSession, coap: COAP
) -> None:
    """fw dated 20201124..20210301: aioshelly fetches /cit/d with CoAP, not HTTP."""
    host = real_runtime.add_device(
        "SHSW-1",
        ip=free_loopback_address(80),
        http_port=80,
        fw="20201124-091217/v1.9.0@57ac4ad8",
        settings={"coiot_peer": coap_peer(coap)},
    )
    reboot(host)
    device, _ = await open_as_home_assistant(session, coap, host)
    assert device.initialized
    assert {b.description for b in device.blocks} == {
        "relay_0", "sensor_0", "sensor_1", "sensor_2", "device",
    }  # fmt: skip
    await device.shutdown()


@pytest.mark.asyncio
async def test_home_assistant_repair_flow_sets_the_peer_and_reboots(
    real_runtime: Runtime, session: aiohttp.ClientSession, coap: COAP
) -> None:
    """HA's "CoIoT unconfigured" fix: POST /settings/advanced coiot_peer=, GET /reboot; the
    rebooted device then pushes to HA."""
    host = start_device(real_runtime, "SHPLG-S", None)  # publishes to the multicast group
    device, updates = await open_as_home_assistant(session, coap, host)
    address, port = coap_peer(coap).split(":")
    await device.configure_coiot_protocol(address, int(port))
    await device.trigger_reboot()
    # the boot publish, once the device is back (boot_seconds after /reboot)
    await push(updates, lambda: True, WAIT + host.device.boot_seconds)
    assert host.settings()["coiot"]["peer"] == coap_peer(coap)
    async with asyncio.timeout(PUSH_DEADLINE):
        host.world.set_load(0, 42)
        await push(updates, lambda: block(device, "relay_0").power == 42, PUSH_DEADLINE)
    await device.shutdown()


@pytest.mark.asyncio
async def test_multicast_publish_reaches_aioshelly_listening_on_5683(
    real_runtime: Runtime,
) -> None:
    """No peer: the device publishes to 224.0.1.187:5683 and aioshelly's socket on the group
    (bound like HA's: wildcard address, port 5683, SO_REUSEADDR, joined on loopback) gets it."""
    host = start_device(real_runtime, "SHSW-1", None)
    received: asyncio.Queue[Any] = asyncio.Queue()
    context = COAP()
    await context.initialize(5683, [IPv4Address("127.0.0.1")])
    try:
        context.subscribe_updates(host.device.identity.mac[-6:], received.put_nowait)
        async with asyncio.timeout(PUSH_DEADLINE):
            host.get("relay/0", turn="on")
            while True:
                message = await received.get()
                if [0, 1101, 1] in message.payload["G"]:
                    break
        assert (message.ip, message.port, message.code) == (host.ip, 5683, 30)
    finally:
        context.close()
