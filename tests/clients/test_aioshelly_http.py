"""aioshelly (Home Assistant's client) reads every relay-family model over HTTP.

The CoAP half of aioshelly's initialize() is exercised in the CoIoT tests; here aioshelly's own
HTTP calls (get_info, update_settings, update_status, http_request) run against the emulator
on port 80 and must parse and understand every answer (spec/clients.md §2).
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aioshelly.block_device import COAP, BlockDevice
from aioshelly.common import ConnectionOptions, get_info
from aioshelly.exceptions import InvalidAuthError

RELAY_MODELS = ["SHSW-1", "SHSW-21", "SHSW-44", "SHPLG-1", "SHPLG-S"]


async def read_device(ip: str, mac: str, login: tuple[str, str] | None = None) -> BlockDevice:
    """A BlockDevice with /shelly, /settings and /status read through aioshelly's HTTP code.

    ``initialized`` is set by hand: the CoAP half of initialize() belongs to the CoIoT tests.
    """
    user, password = login or (None, None)
    options = ConnectionOptions(ip, user, password, device_mac=mac)
    session = aiohttp.ClientSession()
    device = BlockDevice(COAP(), session, options)
    await device.update_shelly()
    await device.update_settings()
    await device.update_status()
    device.initialized = True
    return device


@pytest.mark.parametrize("model", RELAY_MODELS)
def test_aioshelly_reads_and_commands(make_device, model: str) -> None:
    host = make_device(model)
    identity = host.device.identity

    async def scenario() -> None:
        device = await read_device(host.ip, identity.mac)
        try:
            assert device.model == model
            assert device.hostname == identity.hostname
            assert device.name == identity.hostname  # name null -> hostname, as HA shows it
            assert device.requires_auth is False
            assert device.firmware_version == identity.fw
            assert device.status["mac"] == identity.mac
            assert device.status["wifi_sta"]["ip"] == host.ip
            assert len(device.settings["relays"]) == host.device.profile.component("relay").count
            reply = await device.http_request("get", "relay/0", {"turn": "on"})
            assert reply["ison"] is True
        finally:
            await device.aiohttp_session.close()

    asyncio.run(scenario())
    assert host.status()["relays"][0]["ison"] is True


def test_firmware_support_as_aioshelly_sees_it(make_device) -> None:
    """1.14 firmware is supported; the 4Pro never is (aioshelly const: CoAP v1, unsupported)."""

    async def supported(host) -> bool:
        device = await read_device(host.ip, host.device.identity.mac)
        await device.aiohttp_session.close()
        return device.firmware_supported

    assert asyncio.run(supported(make_device("SHPLG-S"))) is True
    assert asyncio.run(supported(make_device("SHSW-44"))) is False


def test_unsupported_4pro_initializes_over_http_only(make_device) -> None:
    host = make_device("SHSW-44")

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            options = ConnectionOptions(host.ip, device_mac=host.device.identity.mac)
            device = BlockDevice(COAP(), session, options)
            await device.initialize()
            assert device.initialized is True
            assert device.blocks == []  # no CoAP for unsupported models

    asyncio.run(scenario())


def test_aioshelly_with_login(make_device) -> None:
    host = make_device("SHSW-1", login=("admin", "pw"))
    mac = host.device.identity.mac

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            info = await get_info(session, host.ip, mac)
            assert info["auth"] is True
            anonymous = BlockDevice(COAP(), session, ConnectionOptions(host.ip, device_mac=mac))
            await anonymous.update_shelly()
            with pytest.raises(InvalidAuthError):
                await anonymous.update_status()
            wrong = BlockDevice(
                COAP(), session, ConnectionOptions(host.ip, "admin", "x", device_mac=mac)
            )
            await wrong.update_shelly()
            with pytest.raises(InvalidAuthError):
                await wrong.update_status()
        device = await read_device(host.ip, mac, ("admin", "pw"))
        await device.aiohttp_session.close()
        assert device.status["relays"][0]["ison"] is False

    asyncio.run(scenario())


def test_aioshelly_switches_shelly2_to_roller_and_drives_it(make_device) -> None:
    host = make_device("SHSW-21")

    async def scenario() -> None:
        device = await read_device(host.ip, host.device.identity.mac)
        try:
            await device.http_request("get", "settings", {"mode": "roller"})
            await device.update_settings()
            assert device.settings["mode"] == "roller"
            assert device.settings["rollers"][0]["positioning"] is False
            reply = await device.http_request("get", "roller/0", {"go": "close"})
            assert reply["state"] == "close"
            assert "current_pos" in reply
        finally:
            await device.aiohttp_session.close()

    asyncio.run(scenario())
