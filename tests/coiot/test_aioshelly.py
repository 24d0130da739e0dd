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

Adding a model is one ``Case`` in ``CASES``; a sleeping model (``sleep_mode`` in /shelly) also
gives ``sleep`` and ``wake``: it is put to sleep after GET /shelly, so aioshelly's GET /cit/s goes
unanswered and only the wake-up publish can bring it ONLINE.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aioshelly.block_device.coap import COAP
from aioshelly.block_device.device import BlockDevice, BlockUpdateType
from aioshelly.common import ConnectionOptions, get_info, is_firmware_supported

from emulator.net import free_loopback_address
from emulator.runtime import DeviceHost, Runtime

from .conftest import FACTOR, WAIT, reboot

#: The requirement: a change on the device reaches the client as a push within a second.
PUSH_DEADLINE = 1.0 * FACTOR

type Status = Mapping[str, Any]
type Expected = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """One model (and mode) as Home Assistant would use it."""

    model: str
    #: Block descriptions aioshelly must build.
    blocks: frozenset[str]
    #: {block: {sensor: value}} that aioshelly must read, from the device's /status and /settings.
    expect: Callable[[Status, Status], Expected]
    #: A physical change on the device, and how aioshelly's blocks show it once pushed.
    change: Callable[[DeviceHost], None]
    pushed: Callable[[BlockDevice], bool]
    #: A command through aioshelly's block API, (block, set_state arguments), and its effect on
    #: /status; None for models without outputs (H&T, Smoke).
    command: tuple[str, dict[str, str]] | None = None
    commanded: Callable[[Status], bool] = lambda status: True
    settings: dict[str, str] = field(default_factory=dict)
    #: Sleeping devices: world actions that send them to sleep after the config flow's
    #: GET /shelly, and wake them; the wake-up publish is then what brings them ONLINE.
    sleep: Callable[[DeviceHost], None] | None = None
    wake: Callable[[DeviceHost], None] | None = None


def block(device: BlockDevice, description: str) -> Any:
    return next(b for b in device.blocks if b.description == description)


def _inputs(status: Status, channel: int) -> dict[str, Any]:
    entry = status["inputs"][channel]
    return {
        "input": entry["input"],
        "inputEvent": entry["event"],
        "inputEventCnt": entry["event_cnt"],
    }


def _shelly1(status: Status, settings: Status) -> Expected:
    return {
        "relay_0": {"output": int(status["relays"][0]["ison"]), **_inputs(status, 0)},
        # No add-on attached: its sensors exist but have no value, so HA creates no entity.
        "sensor_0": {"extTemp": None, "humidity": None, "extInput": None},
        "device": {"cfgChanged": status["cfg_changed_cnt"]},
    }


def _shelly2_relay(status: Status, settings: Status) -> Expected:
    relays = status["relays"]
    return {
        f"relay_{ch}": {
            "output": int(relays[ch]["ison"]),
            "overpower": int(relays[ch]["overpower"]),
            **_inputs(status, ch),
        }
        for ch in (0, 1)
    } | {
        "device": {
            "power": status["meters"][0]["power"],
            "energy": status["meters"][0]["total"],
            "mode": settings["mode"],
            "cfgChanged": status["cfg_changed_cnt"],
        }
    }


def _shelly2_roller(status: Status, settings: Status) -> Expected:
    roller = status["rollers"][0]
    position = roller["current_pos"]
    return {
        "relay_0": _inputs(status, 0),
        "relay_1": _inputs(status, 1),
        "roller_0": {
            "roller": roller["state"],
            "rollerPos": -1 if position == 101 else position,
            "rollerPower": roller["power"],
            "rollerEnergy": status["meters"][0]["total"],
            "rollerStopReason": roller["stop_reason"],
        },
        "device": {"mode": settings["mode"], "cfgChanged": status["cfg_changed_cnt"]},
    }


def _plug(status: Status, settings: Status) -> Expected:
    meter = status["meters"][0]
    return {
        "relay_0": {
            "output": int(status["relays"][0]["ison"]),
            "power": meter["power"],
            "energy": meter["total"],
            "overpower": int(status["relays"][0]["overpower"]),
            "overpowerValue": meter["overpower"],
        },
        "device": {"cfgChanged": status["cfg_changed_cnt"]},
    }


def _plug_s(status: Status, settings: Status) -> Expected:
    expected = _plug(status, settings)
    expected["device"].update(
        deviceTemp=status["tmp"]["tC"], overtemp=int(status["overtemperature"])
    )
    return expected


def _bulb(status: Status, settings: Status) -> Expected:
    light = status["lights"][0]
    keys = ("red", "green", "blue", "white", "gain", "brightness", "mode")
    return {
        "light_0": {
            "output": int(light["ison"]),
            "colorTemp": light["temp"],
            **{key: light[key] for key in keys},
        },
        "device": {"cfgChanged": status["cfg_changed_cnt"]},
    }


def _press_twice(host: DeviceHost) -> None:
    """H&T and Smoke: a press starts setup mode, the next one sends the device to sleep."""
    host.world.press(0)
    host.world.press(0)


def _sleeper(status: Status, settings: Status) -> Expected:
    return {
        "sensor_0": {"extTemp": status["tmp"]["tC"], "sensorError": int(not status["is_valid"])},
        "device": {"battery": status["bat"]["value"], "wakeupEvent": status["act_reasons"]},
    }


def _ht(status: Status, settings: Status) -> Expected:
    expected = _sleeper(status, settings)
    expected["sensor_0"]["humidity"] = status["hum"]["value"]
    return expected


CASES = [
    pytest.param(
        Case(
            model="SHSW-1",
            blocks=frozenset({"relay_0", "sensor_0", "sensor_1", "sensor_2", "device"}),
            expect=_shelly1,
            command=("relay_0", {"turn": "on"}),
            commanded=lambda status: status["relays"][0]["ison"],
            change=lambda host: host.world.press(0, long=True),
            pushed=lambda d: (
                (block(d, "relay_0").inputEvent, block(d, "relay_0").inputEventCnt) == ("L", 1)
            ),
        ),
        id="SHSW-1",
    ),
    pytest.param(
        Case(
            model="SHSW-21",
            blocks=frozenset({"relay_0", "relay_1", "device"}),
            expect=_shelly2_relay,
            command=("relay_1", {"turn": "on"}),
            commanded=lambda status: status["relays"][1]["ison"],
            change=lambda host: host.world.set_load(1, 230),
            pushed=lambda d: block(d, "device").power == 230,
        ),
        id="SHSW-21-relay",
    ),
    pytest.param(
        Case(
            model="SHSW-21",
            settings={"mode": "roller"},
            blocks=frozenset({"relay_0", "relay_1", "roller_0", "device"}),
            expect=_shelly2_roller,
            command=("roller_0", {"go": "open"}),
            commanded=lambda status: status["rollers"][0]["state"] == "open",
            change=lambda host: host.world.set_motor_power(0, 150),
            pushed=lambda d: block(d, "roller_0").rollerPower == 150,
        ),
        id="SHSW-21-roller",
    ),
    pytest.param(
        Case(
            model="SHPLG-1",
            blocks=frozenset({"relay_0", "device"}),
            expect=_plug,
            command=("relay_0", {"turn": "off"}),
            commanded=lambda status: not status["relays"][0]["ison"],
            change=lambda host: host.world.press(0),
            pushed=lambda d: block(d, "relay_0").output == 1,
        ),
        id="SHPLG-1",
    ),
    pytest.param(
        Case(
            model="SHPLG-S",
            blocks=frozenset({"relay_0", "device"}),
            expect=_plug_s,
            command=("relay_0", {"turn": "off"}),
            commanded=lambda status: not status["relays"][0]["ison"],
            change=lambda host: host.world.set_device_temperature(51.5),
            pushed=lambda d: block(d, "device").deviceTemp == 51.5,
        ),
        id="SHPLG-S",
    ),
    pytest.param(
        Case(
            model="SHBLB-1",
            blocks=frozenset({"light_0", "device"}),
            expect=_bulb,
            command=("light_0", {"turn": "off"}),
            commanded=lambda status: not status["lights"][0]["ison"],
            change=lambda host: host.world.power_cycle(),  # default_state on
            pushed=lambda d: block(d, "light_0").output == 1,
        ),
        id="SHBLB-1",
    ),
    pytest.param(
        Case(
            model="SHHT-1",
            blocks=frozenset({"sensor_0", "device"}),
            expect=_ht,
            change=lambda host: host.world.set_temperature(30.5),
            pushed=lambda d: block(d, "sensor_0").extTemp == 30.5,
            sleep=_press_twice,
            wake=lambda host: host.world.press(0),  # the button: setup mode, awake 3 min
        ),
        id="SHHT-1",
    ),
    pytest.param(
        Case(
            model="SHSM-01",
            blocks=frozenset({"sensor_0", "device"}),
            expect=_sleeper,
            change=lambda host: host.world.set_smoke(True),
            pushed=lambda d: block(d, "sensor_0").smoke == 1,
            sleep=_press_twice,
            wake=lambda host: host.world.press(0),
        ),
        id="SHSM-01",
    ),
]


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
    await push(updates, lambda: True, WAIT)  # the boot publish, 0.5 s after /reboot
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
