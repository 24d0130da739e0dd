"""Reboots every channel sees: HTTP drops for the boot time, uptime restarts, the cloud link
drops and dials in again (an account's WebSocket gets Shelly:Online 0, then 1), mDNS and CoIoT
announce the booted device again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from emulator.core.errors import BadRequest
from emulator.core.events import Rebooted, WentDown
from emulator.transports.cloud_wiring import cloud_id, link_to_cloud, register_device
from fake_cloud import CloudConfig, FakeCloud
from tests.cloud.support import WsClient, wait_online

from ..sensors.helpers import get_json


def unreachable(host) -> bool:
    try:
        requests.get(f"{host.url}/shelly", timeout=2)
    except requests.RequestException:
        return True
    return False


def test_reboot_keeps_the_device_down_for_its_boot_time(make_device, runtime):
    host = make_device("SHSW-1")
    seen = []
    host.listeners.append(lambda _, events: seen.extend(events))
    host.world.set_boot_time(8)
    runtime.advance(100)
    assert get_json(host, "status")["uptime"] == 100
    assert get_json(host, "reboot") == {}
    runtime.advance(0.5)
    assert unreachable(host)
    assert any(isinstance(event, WentDown) for event in seen)
    runtime.advance(8)
    assert get_json(host, "status")["uptime"] == 0
    assert any(isinstance(event, Rebooted) and not event.power_on for event in seen)


def test_boot_time_is_bounded(make_device):
    host = make_device("SHSW-1")
    with pytest.raises(BadRequest, match=r"0\.\.600"):
        host.world.set_boot_time(601)


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(CloudConfig()) as cloud:
        yield cloud


def test_the_cloud_sees_a_reboot_as_offline_then_online(cloud, runtime, make_device):
    user = cloud.control.create_user("alice@example.com", "alice-pw", cloud.server_names[0])
    link_to_cloud(runtime, cloud)
    host = make_device("SHSW-1")
    register_device(cloud, host, user.id)
    wait_online(cloud, cloud_id(host))
    url = cloud.control.oauth_authorize("alice@example.com", "alice-pw", "https://x.example/")
    code = url.split("code=")[1].split("&")[0]
    token = cloud.services.authority.exchange("code", code, "shelly-diy", user.server)
    ws = WsClient(cloud.ws_url(token["access_token"], user.server), cloud)
    try:
        get_json(host, "reboot")
        runtime.advance(0.5)
        ws.next("Shelly:Online", online=0)  # skips anything before the drop
        runtime.advance(host.device.boot_seconds)
        assert ws.next("Shelly:Online")["online"] == 1
    finally:
        ws.close()
    wait_online(cloud, cloud_id(host))
    assert get_json(host, "status")["cloud"]["connected"] is True
