"""The emulator is held to the same definition as a real device: the conformance tester
(the CLI, in its own process, as a user runs it) passes against every emulated model, read-only
and mutating; and a captured emulated device, run from its capture, captures the same again."""

from __future__ import annotations

import filecmp
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emulator.clock import ManualClock
from emulator.conformance import capture_main
from emulator.runtime import Runtime
from emulator.runtime.override import load_capture
from emulator.runtime.profiles import all_profiles
from emulator.transports.coiot.udp import CoiotTransport
from emulator.transports.net import free_loopback_address

RUN_TIMEOUT = 120


@pytest.fixture
def coiot_runtime():
    runtime = Runtime(ManualClock()).start()
    CoiotTransport.attach(runtime, interface="127.0.0.1")
    yield runtime
    runtime.stop()


def conformance(url: str, junit: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "emulator.conformance", url, "--junit", str(junit)]
    return subprocess.run(
        [*command, "--no-mdns", *extra], capture_output=True, text=True, timeout=RUN_TIMEOUT
    )


def failures(junit: Path) -> list[str]:
    root = ET.parse(junit).getroot()
    return [
        case.get("name", "?")
        for case in root.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]


@pytest.mark.parametrize("model", sorted(all_profiles()))
@pytest.mark.parametrize("mode", ["read-only", "mutating"])
def test_conformance_passes_against_the_emulator(coiot_runtime, tmp_path, model, mode) -> None:
    host = coiot_runtime.add_device(model, ip=free_loopback_address(), http_port=80)
    if host.while_asleep is not None:
        host.world.press()  # setup mode: awake, as a user does before configuring it
    before = host.settings()
    junit = tmp_path / "junit.xml"
    proc = conformance(host.url, junit, *(["--mutating"] if mode == "mutating" else []))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert failures(junit) == []
    cases = len(list(ET.parse(junit).getroot().iter("testcase")))
    assert cases >= 10
    if mode == "mutating":  # the tester restores what it changed
        after = host.settings()
        for volatile in ("time", "unixtime"):
            before.pop(volatile), after.pop(volatile)
        assert after == before


def test_conformance_names_the_failing_check(coiot_runtime, tmp_path) -> None:
    """Break the emulated device (HTTP answers 404 for /status) and the tester says so."""
    host = coiot_runtime.add_device("SHSW-1", ip=free_loopback_address(), http_port=80)
    routes = host.device._routes
    routes.pop(("status",))
    junit = tmp_path / "junit.xml"
    proc = conformance(host.url, junit)
    assert proc.returncode != 0
    assert any("status" in name for name in failures(junit))


@pytest.mark.parametrize("model", ["SHSW-1", "SHSW-21", "SHPLG-S", "SHBLB-1"])
def test_capture_round_trip(tmp_path, model) -> None:
    """capture an emulated device -> run the capture -> capture again: the same files."""
    ip = free_loopback_address()
    first, second = tmp_path / "first", tmp_path / "second"
    with Runtime(ManualClock()) as runtime:
        CoiotTransport.attach(runtime, interface="127.0.0.1")
        host = runtime.add_device(
            model, ip=ip, http_port=80, seed="round-trip", settings={"name": "Round Trip"}
        )
        channel = host.device.components[0]
        host.get(f"settings/{channel.kind}/0", name="Channel A")
        assert capture_main([host.url, "--out", str(first)]) == 0
    captured = load_capture(first)
    assert captured.profile.fw == host.device.identity.fw
    with Runtime(ManualClock()) as runtime:
        CoiotTransport.attach(runtime, interface="127.0.0.1")
        again = runtime.add_device(
            captured.profile,
            ip=ip,
            http_port=80,
            mac=captured.mac,
            longid=captured.longid,
            restore=captured.restore,
        )
        assert again.settings()["name"] == "Round Trip"
        assert capture_main([again.url, "--out", str(second)]) == 0
    files = sorted(p.name for p in first.iterdir())
    assert files == sorted(p.name for p in second.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(first, second, files, shallow=False)
    assert (mismatch, errors) == ([], [])
