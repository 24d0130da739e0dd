"""The control API offers firmware: POST /_emu/devices/<id>/offer_firmware (JSON body), the
device's /status update block shows it, bad offers are 400 with nothing changed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from emulator.clock import ManualClock
from emulator.fleet import Fleet
from emulator.fleet.control import serve
from emulator.fleet.spec import parse_fleet
from emulator.transports.net import free_loopback_address, free_loopback_block

NEW = "20240101-120000/v1.15.0-g0000001"
BETA = "20231107-162940/v1.14.1-rc1-g0617c15"


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    spec = parse_fleet({"devices": [{"model": "SHSW-1", "address": free_loopback_block(1)}]})
    with Fleet(spec, clock=ManualClock()) as fleet:
        yield fleet


@pytest.fixture
def api(fleet: Fleet) -> Iterator[str]:
    base = serve(fleet.control, free_loopback_address(8080), 8080)
    yield f"{base}/_emu"
    fleet.control.close()


def test_offer_firmware_over_the_control_api(fleet: Fleet, api: str) -> None:
    device = fleet[0]
    answer = requests.post(
        f"{api}/devices/{device.ip}/offer_firmware",
        json={"stable": NEW, "beta": BETA, "download": 5, "reboot": 5},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "pending" and answer.json()["new_version"] == NEW
    update = requests.get(f"{device.url}/status", timeout=5).json()["update"]
    assert (update["has_update"], update["beta_version"]) == (True, BETA)


@pytest.mark.parametrize(
    "offer",
    [{"stable": "v1.15.0"}, {"stable": NEW, "fault": "explode"}, {"stable": NEW, "download": -1}],
)
def test_bad_offers_are_refused(fleet: Fleet, api: str, offer: dict) -> None:
    device = fleet[0]
    before = requests.get(f"{device.url}/status", timeout=5).json()["update"]
    answer = requests.post(f"{api}/devices/{device.ip}/offer_firmware", json=offer, timeout=5)
    assert answer.status_code == 400 and "error" in answer.json()
    assert requests.get(f"{device.url}/status", timeout=5).json()["update"] == before
