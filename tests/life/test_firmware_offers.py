"""Firmware offers from a fleet file and ``run --offer-firmware``, and sleeping devices (H&T,
Smoke), which apply an update only while awake: an install pushed while one sleeps waits for
its next wake-up, and a device that is installing stays awake until it reboots on the build."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests

from emulator.fleet.spec import FleetError, parse_fleet
from emulator.transports.net import free_loopback_address

from .test_firmware_update import NEW

WAIT = 15.0


@pytest.mark.parametrize("model", ["SHHT-1", "SHSM-01"])
def test_sleeper_installs_a_pushed_update_only_once_awake(model, make_device, runtime) -> None:
    host = make_device(model)
    old = host.device.identity.fw
    runtime.advance(60)  # the power-on report is over: asleep
    assert host.device.asleep
    host.world.offer_firmware(stable=NEW, download=5, reboot=5, install=True)
    runtime.advance(30)
    assert host.device.identity.fw == old
    assert host.device.updater.status == "pending"  # waits: the radio is off
    host.world.press(0)  # the button wakes it (setup mode)
    assert not host.device.asleep
    assert host.status()["update"]["status"] == "updating"
    host.world.press(0)  # back to sleep, the user says; the install keeps it up
    assert not host.device.asleep
    runtime.advance(5)  # downloaded: flashing, down
    assert host.device.down
    runtime.advance(5)  # boots the new build
    assert host.device.identity.fw == NEW
    status = host.status()
    assert status["update"]["status"] == "idle"
    assert status["update"]["old_version"] == NEW


def test_awake_device_installs_a_pushed_update_at_once(make_device, runtime) -> None:
    host = make_device("SHSW-1")
    host.world.offer_firmware(stable=NEW, download=5, reboot=5, install=True)
    assert host.status()["update"]["status"] == "updating"
    runtime.advance(10)
    assert host.device.identity.fw == NEW


def test_fleet_file_offers_firmware_per_group(shelly_device) -> None:
    device = shelly_device("SHPLG-S", firmware_offer={"stable": NEW, "beta": NEW})
    update = requests.get(f"{device.url}/status", timeout=WAIT).json()["update"]
    assert (update["status"], update["has_update"], update["new_version"]) == (
        "pending",
        True,
        NEW,
    )
    assert update["beta_version"] == NEW


@pytest.mark.parametrize(
    ("offer", "message"),
    [
        ({"stable": "1.15.0"}, "firmware_offer.stable: '1.15.0'; want a build string"),
        ({"latest": NEW}, "unknown key 'latest'"),
        ({"download": 5}, "give stable or beta"),
        ({"stable": NEW, "reboot": 900}, "firmware_offer.reboot: 900; want seconds 0..600"),
        ({"stable": NEW, "install": "yes"}, "firmware_offer.install: 'yes'; want true or false"),
        (NEW, "want {stable: FW, beta: FW}"),
    ],
)
def test_fleet_firmware_offer_errors(offer, message) -> None:
    with pytest.raises(FleetError) as error:
        parse_fleet({"devices": [{"model": "SHSW-1", "firmware_offer": offer}]}, "lab.yaml")
    assert str(error.value).startswith("lab.yaml: devices[0].firmware_offer")
    assert message in str(error.value)


def test_run_command_offer_firmware_option() -> None:
    ip = free_loopback_address(8000)
    command = [sys.executable, "-m", "emulator.cli", "run", "SHSW-1", "--ip", ip,
               "--http-port", "8000", "--no-mdns", "--no-coiot"]  # fmt: skip
    refused = subprocess.run(
        [*command, "--offer-firmware", "v1.15"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "--offer-firmware.stable: 'v1.15'" in refused.stderr
    process = subprocess.Popen(
        [*command, "--offer-firmware", NEW],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        while "Ctrl-C stops." not in process.stdout.readline():
            assert process.poll() is None
        update = requests.get(f"http://{ip}:8000/status", timeout=WAIT).json()["update"]
        assert (update["status"], update["new_version"]) == ("pending", NEW)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
