"""``shelly-emu fleet`` as a user runs it: the table, the ready line, devices answering, the
control API, and a clean stop on Ctrl-C (SIGINT)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import requests

from emulator.conformance import coap
from emulator.transports.net import free_loopback_address, free_loopback_block


def test_fleet_command_starts_serves_and_stops_cleanly(tmp_path: Path) -> None:
    first = free_loopback_block(3)
    control = free_loopback_address(8080)
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(
        f"devices:\n  - {{model: SHPLG-S, count: 3, address: {first}, name: 'Plug {{n}}'}}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator.cli", "fleet", str(fleet_file), "--no-mdns",
         "--control", f"{control}:8080", "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].split() == ["model", "count", "first", "last", "login", "cloud"]
        assert lines[1].split()[:2] == ["SHPLG-S", "3"]
        assert lines[2].startswith("ready: 3 devices in ")
        assert f"control API http://{control}:8080/_emu/devices" in lines[2]
        status = requests.get(f"http://{first}/settings", timeout=5).json()
        assert status["name"] == "Plug 1"
        devices = requests.get(f"http://{control}:8080/_emu/devices", timeout=5).json()
        assert len(devices) == 3
        requests.get(f"http://{first}/settings?name=Kept", timeout=5)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "stopped: 3 devices, sockets closed, state saved." in out
    assert len(list((tmp_path / "state").glob("*.json"))) == 1


def test_fleet_command_refuses_a_bad_file(tmp_path: Path) -> None:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text("devices:\n  - {model: SHSW-1, colour: red}\n")
    done = subprocess.run(
        [sys.executable, "-m", "emulator.cli", "fleet", str(fleet_file)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "devices[0]: unknown key 'colour'" in done.stderr


def test_fleet_file_can_serve_coiot_from_one_shared_socket(tmp_path: Path) -> None:
    """``coiot_socket: shared``: every device answers CoAP on <its address>:5683 from there,
    through one wildcard socket (bound with SO_REUSEADDR beside other suites' devices)."""
    first = free_loopback_block(2)
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(
        f"coiot_socket: shared\ndevices:\n  - {{model: SHSW-1, count: 2, address: {first}}}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator.cli", "fleet", str(fleet_file), "--no-mdns",
         "--control", "off"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[2].startswith("ready: 2 devices in "), lines
        second = requests.get(f"http://{first}/shelly", timeout=5).json()
        assert second["type"] == "SHSW-1"
        packet = coap.request(first, 5683, "s", confirmable=False, tries=2)
        assert packet is not None and packet.source == (first, 5683)
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "cannot bind" not in err
