"""mDNS TXT per model, as firmware sends it: ``app`` is the stock firmware's app name (the
Shelly 1's from a capture, home-assistant/core#67759; the others from
mongoose-os-apps/shelly-homekit tools/flash-shelly.py), overridable per device; an update's
reboot announces the new ``fw_id``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from zeroconf import Zeroconf

from emulator.runtime import Runtime
from emulator.transports.mdns import SERVICE_TYPE, MdnsAnnouncer
from emulator.transports.net import free_loopback_address

APPS = {
    "SHSW-1": "switch1",
    "SHSW-21": "switch",
    "SHSW-44": "dinrelay4",
    "SHPLG-1": "shelly-plug",
    "SHPLG-S": "shelly-plug-s",
    "SHBLB-1": "bulb",
    "SHHT-1": "ht-sensor",
    "SHSEN-1": "smart-sensor",
    "SHSM-01": "smoke-sensor",
}
NEW = "20240101-120000/v1.15.0-g0000001"
ROUNDS = 100  # bounded waits: 100 x 0.05 s


@pytest.fixture
def zeroconf() -> Iterator[Zeroconf]:
    instance = Zeroconf(interfaces=["127.0.0.1"])
    yield instance
    instance.close()


@pytest.fixture
def announced() -> Iterator[Runtime]:
    runtime = Runtime().start()
    MdnsAnnouncer.attach(runtime)
    yield runtime
    runtime.stop()


def txt(zeroconf: Zeroconf, host) -> dict[str, str]:
    name = f"{host.device.identity.hostname}.{SERVICE_TYPE}"
    for _ in range(ROUNDS):
        info = zeroconf.get_service_info(SERVICE_TYPE, name, timeout=500)
        if info is not None:
            return {k.decode(): v.decode() for k, v in info.properties.items() if v is not None}
    raise AssertionError(f"{name} never answered")


def test_every_model_sends_its_stock_app_name(announced, zeroconf):
    hosts = {
        model: announced.add_device(model, ip=free_loopback_address(80), http_port=80)
        for model in APPS
    }
    assert {model: txt(zeroconf, host)["app"] for model, host in hosts.items()} == APPS


def test_app_is_overridable_per_device(announced, zeroconf):
    host = announced.add_device(
        "SHHT-1", ip=free_loopback_address(80), http_port=80, mdns_app="ht-sensor-custom"
    )
    assert txt(zeroconf, host)["app"] == "ht-sensor-custom"


def test_an_update_announces_the_new_fw_id(announced, zeroconf):
    host = announced.add_device("SHSW-1", ip=free_loopback_address(80), http_port=80)
    assert txt(zeroconf, host)["fw_id"] == host.device.identity.fw
    host.world.offer_firmware(stable=NEW, download=0, reboot=0)
    host.get("ota", update=1)
    for _ in range(ROUNDS):
        if txt(zeroconf, host)["fw_id"] == NEW:
            break
        threading.Event().wait(0.05)
    assert txt(zeroconf, host)["fw_id"] == NEW
