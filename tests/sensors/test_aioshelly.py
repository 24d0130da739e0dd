"""aioshelly (what Home Assistant runs) reads the Bulb, H&T and Smoke over HTTP, and treats the
Sense as unsupported.

``BlockDevice`` needs port 80, so each device gets its own random 127.x address. CoIoT is not
part of this suite: the device is built with ``BlockDevice(...)`` rather than ``create()``
(which sends a CoAP GET /cit/s), and runs a firmware older than 20201124, for which
``initialize()`` skips CoAP altogether (aioshelly block_device/device.py: ``if
self.firmware_supported``). Those builds are the models' real ones from shared/captures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aioshelly.block_device import COAP, BlockDevice
from aioshelly.common import ConnectionOptions, is_firmware_supported
from aioshelly.exceptions import DeviceConnectionError

from emulator.runtime.profiles import load_profile

#: Real pre-20201124 builds (captures SHBLB-1 settings__3, SHHT-1 settings__1, SHSM-01 status__1).
CAPTURED_FW = {
    "SHBLB-1": "20200228-153004/v1.6.0-rc4@a7a0b9f1",
    "SHHT-1": "20200306-151016/v1.6.0-rc6@43056d58",
    "SHSM-01": "20190122-162311/v1.4.5@5cbc6229",
}


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def initialized(session, host) -> BlockDevice:
    options = ConnectionOptions(host.ip, device_mac=host.device.identity.mac)
    device = BlockDevice(COAP(), session, options)
    await device.initialize()
    return device


@pytest.mark.parametrize("model", [*CAPTURED_FW, "SHSEN-1"])
def test_profile_firmware_support_as_aioshelly_sees_it(model):
    """The profiles' 1.14 defaults are supported for HA's models; the Sense never is."""
    assert is_firmware_supported(1, model, load_profile(model).fw) is (model != "SHSEN-1")


@pytest.mark.asyncio
async def test_bulb(make_device, session):
    host = make_device("SHBLB-1", http_port=80, fw=CAPTURED_FW["SHBLB-1"])
    host.get("light/0", turn="on", mode="white", brightness=60, temp=3500)
    device = await initialized(session, host)
    assert device.model == "SHBLB-1" and device.requires_auth is False
    assert device.settings["mode"] == "white" and len(device.settings["lights"]) == 1
    light = device.status["lights"][0]
    assert light["ison"] is True and light["brightness"] == 60 and light["temp"] == 3500
    assert device.status["meters"][0]["power"] == 5.4
    # what HA's light entity sends (homeassistant/components/shelly light.py)
    answer = await device.http_request("get", "light/0", {"turn": "off", "transition": 500})
    assert answer["ison"] is False
    assert (await device.switch_light_mode("color"))["mode"] == "color"
    await device.shutdown()


@pytest.mark.asyncio
@pytest.mark.parametrize("model", ["SHHT-1", "SHSM-01"])
async def test_sleeping_sensor_is_read_after_a_button_press(make_device, session, runtime, model):
    """Asleep, initialize() fails like with a real device; after a press it reads the sensor
    and HA learns the sleep period from settings.sleep_mode."""
    host = make_device(model, http_port=80, fw=CAPTURED_FW[model])
    host.while_asleep = "refuse"  # a timeout would cost aioshelly's 10 s
    host.world.set_temperature(19.5)
    runtime.advance(5)
    with pytest.raises(DeviceConnectionError):
        await initialized(session, host)
    host.world.press()
    device = await initialized(session, host)
    assert device.shelly["sleep_mode"] is True and device.firmware_supported is False
    assert device.settings["sleep_mode"] == {"period": 12, "unit": "h"}
    assert device.status["tmp"]["tC"] == 19.5 and device.status["act_reasons"] == ["button"]
    assert device.status["bat"]["value"] == 100
    assert ("hum" in device.status) is (model == "SHHT-1")
    assert device.status.get("smoke", False) is False
    await device.shutdown()


@pytest.mark.asyncio
async def test_sense_is_unsupported(make_device, session):
    """aioshelly marks SHSEN-1 unsupported (const.py): initialize() succeeds over HTTP alone,
    without blocks, and HA stops there (ConfigEntryNotReady, unsupported_firmware)."""
    host = make_device("SHSEN-1", http_port=80)
    device = await initialized(session, host)
    assert device.model == "SHSEN-1" and device.firmware_supported is False
    assert device.blocks == [] and device.status["motion"] is False
    await device.shutdown()
