"""A device on a non-loopback address is heard on its network with no ``--interface``.

Two network namespaces joined by a veth pair stand for a LAN: the device runs in one
(``shelly-emu run SHSW-1 --ip 10.77.0.2``, nothing else), Home Assistant's client side
(aioshelly's CoIoT listener, a zeroconf browser) and a node-shellies-style multicast GET run in
the other (lan_client.py). No address exists outside the namespaces; nothing is added to the
root namespace, and both namespaces (with the veth pair) are deleted afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("lan_client.py")
DEVICE_IP, CLIENT_IP = "10.77.0.2", "10.77.0.1"


@dataclass(frozen=True)
class Link:
    device_ns: str
    client_ns: str


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def link() -> Iterator[Link]:
    if os.geteuid() != 0:
        pytest.skip("creating network namespaces (ip netns add) needs root")
    if shutil.which("ip") is None:
        pytest.fail("the `ip` command (iproute2) is needed to create network namespaces")
    tag = secrets.token_hex(3)
    device_ns, client_ns = f"shemu-dev-{tag}", f"shemu-cli-{tag}"
    device_if, client_if = f"sed{tag}", f"sec{tag}"
    _ip("netns", "add", device_ns)
    try:
        _ip("netns", "add", client_ns)
        veth = ["type", "veth", "peer", "name", client_if, "netns", client_ns]
        _ip("link", "add", device_if, "netns", device_ns, *veth)
        for ns, interface, address in (
            (device_ns, device_if, DEVICE_IP),
            (client_ns, client_if, CLIENT_IP),
        ):
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", interface)
            _ip("-n", ns, "link", "set", interface, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield Link(device_ns, client_ns)
    finally:
        subprocess.run(["ip", "netns", "del", client_ns], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", device_ns], capture_output=True, timeout=10)


class Emulator:
    """``shelly-emu`` started in the device's namespace; ``lines`` is its output so far."""

    def __init__(self, namespace: str, *arguments: str) -> None:
        command = [sys.executable, "-m", "emulator.cli", *arguments]
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *command],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._ready.wait(60) and self.process.poll() is None, "\n".join(self.lines)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if "Ctrl-C stops" in line:
                self._ready.set()
        self._ready.set()

    def hostname(self, prefix: str) -> str:
        return next(w for line in self.lines for w in line.split() if w.startswith(prefix))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def client(namespace: str, device_ip: str, client_ip: str, prefix: str) -> dict[str, Any]:
    """What lan_client.py saw from ``client_ip`` in ``namespace``."""
    command = [sys.executable, str(CLIENT), device_ip, client_ip, prefix]
    run = subprocess.run(
        ["ip", "netns", "exec", namespace, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.splitlines()[-1])
    assert "timed out" not in seen.values(), seen
    return seen


def assert_discovered(seen: dict[str, Any], hostname: str, device_ip: str) -> None:
    """mDNS (address, port, TXT, firmware's TTLs), multicast
    CoIoT discovery, and aioshelly's initialize + a relay change pushed by multicast.
    ``hostname`` may be a prefix (a fleet's table does not show hostnames)."""
    mdns = seen["mdns"]
    assert mdns["name"].startswith(hostname) and mdns["name"].endswith("._http._tcp.local.")
    hostname = mdns["name"].removesuffix("._http._tcp.local.")
    assert (mdns["addresses"], mdns["port"]) == ([device_ip], 80)
    assert mdns["txt"]["id"] == hostname and mdns["txt"]["arch"] == "esp8266"
    assert mdns["ttls"] == {"PTR": 4500, "SRV": 120, "TXT": 120, "A": 120}
    assert mdns["name"] in mdns["instances"]

    assert seen["coiot_discovery"] == {"from": [device_ip, 5683], "code": 69, "has_G": True}

    aioshelly = seen["aioshelly"]
    assert aioshelly["initialized"]
    assert aioshelly["relay_pushed"] == 1 - aioshelly["relay_before"]
    assert aioshelly["group_publish_from"] == [device_ip, 5683]


def test_a_device_on_a_lan_address_is_discovered_and_pushes_without_interface_option(
    link: Link,
) -> None:
    emulator = Emulator(link.device_ns, "run", "SHSW-1", "--ip", DEVICE_IP)
    try:
        seen = client(link.client_ns, DEVICE_IP, CLIENT_IP, "shelly1-")
        assert_discovered(seen, emulator.hostname("shelly1-"), DEVICE_IP)
        assert seen["mdns"]["instances"] == [seen["mdns"]["name"]]
        assert seen["aioshelly"]["model"] == "SHSW-1"
    finally:
        emulator.stop()


def test_a_fleet_over_two_interfaces_speaks_on_each_and_leaks_nothing(
    link: Link, tmp_path: Path
) -> None:
    """One process, one device on the veth (LAN side) and one on loopback: each is heard on its
    own link, and the LAN hears nothing of the loopback device. (A client on the emulator's own
    host hears both: Linux loops a host's multicast back to all its listeners.)"""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "devices:\n"
        f"  - {{model: SHSW-1, count: 1, address: {DEVICE_IP}}}\n"
        "  - {model: SHSW-21, count: 1, address: 127.0.1.1}\n"
    )
    emulator = Emulator(link.device_ns, "fleet", str(fleet), "--control", "off")
    try:
        lan = client(link.client_ns, DEVICE_IP, CLIENT_IP, "shelly1-")
        assert_discovered(lan, "shelly1-", DEVICE_IP)
        assert lan["mdns"]["instances"] == [lan["mdns"]["name"]], lan["mdns"]
        loopback = client(link.device_ns, "127.0.1.1", "127.0.0.1", "shellyswitch-")
        assert_discovered(loopback, "shellyswitch-", "127.0.1.1")
    finally:
        emulator.stop()
