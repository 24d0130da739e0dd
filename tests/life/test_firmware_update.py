"""Firmware updates end to end (core/update.py, runtime/lifecycle.py): offered by the world,
seen in /status ``update``, installed through /ota, the device down while it flashes, back on
the new build with its settings. aioshelly drives it as Home Assistant's update entity does."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import pytest
import requests
from aioshelly.block_device import COAP, BlockDevice
from aioshelly.common import ConnectionOptions
from aioshelly.exceptions import DeviceConnectionError

from emulator.transports.net import free_loopback_address

from ..sensors.helpers import get, get_json, state

OLD = "20230913-112003/v1.14.0-gcb84623"
NEW = "20240101-120000/v1.15.0-g0000001"
BETA = "20231107-162940/v1.14.1-rc1-g0617c15"


def unreachable(host) -> bool:
    try:
        requests.get(f"{host.url}/shelly", timeout=2)
    except requests.RequestException:
        return True
    return False


def test_aioshelly_sees_an_offer_installs_it_and_the_device_comes_back_on_it(make_device, runtime):
    host = make_device("SHSW-1")
    get_json(host, "settings", name="Hall light")
    host.world.offer_firmware(stable=NEW, beta=BETA)

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            options = ConnectionOptions(host.ip, device_mac=host.device.identity.mac)
            device = BlockDevice(COAP(), session, options)
            await device.update_shelly()
            await device.update_settings()
            await device.update_status()
            device.initialized = True  # the CoAP half of initialize() is the CoIoT suite's
            update = device.status["update"]
            assert update == {
                "status": "pending",
                "has_update": True,
                "new_version": NEW,
                "old_version": OLD,
                "beta_version": BETA,
            }
            assert device.status["has_update"] is True
            await device.trigger_ota_update()  # GET /ota?update=true
            await device.update_status()
            assert device.status["update"]["status"] == "updating"  # downloading, still answers
            await asyncio.to_thread(runtime.advance, 20)  # downloaded: flashing
            with pytest.raises(DeviceConnectionError):
                await device.update_status()
            await asyncio.to_thread(runtime.advance, 10)  # booted
            await device.update_shelly()
            await device.update_settings()
            await device.update_status()
            assert device.firmware_version == NEW
            assert device.settings["fw"] == NEW and device.settings["name"] == "Hall light"
            assert device.status["update"]["status"] == "idle"
            assert device.status["update"]["old_version"] == NEW
            assert device.status["uptime"] == 0

    asyncio.run(scenario())
    assert host.device.identity.fw == NEW


def test_the_timeline_seconds_per_state(make_device, runtime):
    """Defaults: 20 s updating (answers), 10 s down, then idle on the new build."""
    host = make_device("SHSW-1")
    host.world.offer_firmware(stable=NEW)
    assert get_json(host, "ota")["status"] == "pending"
    assert get_json(host, "ota", update=1)["status"] == "updating"
    runtime.advance(19.9)
    assert get_json(host, "status")["update"]["status"] == "updating"
    runtime.advance(0.1)
    assert unreachable(host)
    runtime.advance(9.9)
    assert unreachable(host)
    runtime.advance(0.1)
    assert get_json(host, "shelly")["fw"] == NEW


def test_a_beta_installs_on_request(make_device, runtime):
    host = make_device("SHPLG-S")
    host.world.offer_firmware(beta=BETA, download=1, reboot=1)
    assert get_json(host, "ota")["status"] == "idle"  # nothing stable newer
    get_json(host, "ota", beta=1)
    runtime.advance(2)
    assert get_json(host, "shelly")["fw"] == BETA


def test_an_update_that_fails_comes_back_on_the_old_firmware(make_device, runtime):
    host = make_device("SHSW-1")
    host.world.offer_firmware(stable=NEW, download=5, reboot=5, fault="fail")
    get_json(host, "ota", update=1)
    runtime.advance(5)
    assert unreachable(host)
    runtime.advance(5)
    assert get_json(host, "shelly")["fw"] == OLD
    assert get_json(host, "status")["update"]["status"] == "pending"  # still on offer


def test_a_hung_device_stays_down_until_its_power_is_cycled(make_device, runtime):
    host = make_device("SHSW-1")
    host.world.offer_firmware(stable=NEW, download=5, reboot=5, fault="hang")
    get_json(host, "ota", update=1)
    runtime.advance(3600)
    assert unreachable(host)
    host.world.power_cycle()
    assert get_json(host, "shelly")["fw"] == OLD


def package(name: str = "switch1", platform: str = "esp8266", build_id: str = NEW) -> bytes:
    manifest = {"name": name, "platform": platform, "version": "1.0", "build_id": build_id}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("shelly1/manifest.json", json.dumps(manifest))
        archive.writestr("shelly1/fw.bin", b"\xe9" * 1024)
    return buffer.getvalue()


@pytest.fixture
def firmware_server():
    """A local web server of firmware zips, as the tools that mass-update fleets run."""
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((free_loopback_address(0), 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://{server.server_address[0]}:{server.server_address[1]}"
    yield base, files
    server.shutdown()
    server.server_close()


def wait_until(check, rounds: int = 100) -> None:
    """Poll a real-time fetch (bounded: ``rounds`` x 0.05 s)."""
    for _ in range(rounds):
        if check():
            return
        threading.Event().wait(0.05)
    raise AssertionError("condition never held")


def test_ota_url_fetches_the_package_and_installs_its_build(make_device, runtime, firmware_server):
    base, files = firmware_server
    files["/SHSW-1.zip"] = package()
    host = make_device("SHSW-1")
    assert get_json(host, "ota", url=f"{base}/SHSW-1.zip")["status"] == "updating"
    wait_until(lambda: host.device.updater.installing is not None)
    runtime.advance(10)
    assert get_json(host, "shelly")["fw"] == NEW


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/plug.zip", package(name="plug-s")),
        ("/esp32.zip", package(platform="esp32")),
        ("/not-a-zip.zip", b"<html>nope</html>"),
        ("/missing.zip", None),
    ],
)
def test_ota_url_refuses_what_firmware_refuses(make_device, runtime, firmware_server, path, body):
    base, files = firmware_server
    if body is not None:
        files[path] = body
    host = make_device("SHSW-1")
    get_json(host, "ota", url=f"{base}{path}")
    wait_until(lambda: host.device.updater.status != "updating")
    runtime.advance(60)
    assert get_json(host, "shelly")["fw"] == OLD
    assert get_json(host, "status")["update"]["status"] == "idle"


def test_ota_refuses_a_url_that_is_not_http(make_device):
    host = make_device("SHSW-1")
    before = state(host)
    response = get(host, "ota", url="ftp://example/fw.zip")
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/plain")
    assert state(host)[1] == before[1]


def test_the_installed_firmware_survives_a_restart(runtime, tmp_path):
    from emulator.runtime import Runtime

    with Runtime(clock=runtime.clock, state_dir=tmp_path) as first:
        host = first.add_device("SHSW-1", mac="349454000001", ip=free_loopback_address(0))
        host.world.offer_firmware(stable=NEW, download=0, reboot=0)
        host.get("ota", update=1)
        first.advance(0)
        assert host.get("shelly")["fw"] == NEW
    with Runtime(clock=runtime.clock, state_dir=tmp_path) as second:
        host = second.add_device("SHSW-1", mac="349454000001", ip=free_loopback_address(0))
        assert host.get("shelly")["fw"] == NEW
