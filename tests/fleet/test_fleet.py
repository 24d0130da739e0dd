"""A running fleet: every device on its own address, initial state applied, found by any key,
reset to its file, settings surviving a restart and a kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from emulator.clock import ManualClock
from emulator.fleet import Fleet
from emulator.fleet.spec import FleetError, parse_fleet
from emulator.runtime import Runtime
from emulator.transports.net import free_loopback_block


def _spec(count: int = 5, **group: object) -> dict[str, object]:
    first = free_loopback_block(count)
    return {"devices": [{"model": "SHPLG-S", "count": count, "address": first, **group}]}


def test_every_device_answers_on_its_own_address_with_its_initial_state() -> None:
    spec = parse_fleet(
        _spec(
            4,
            name="Plug {n}",
            login="admin:pw",
            relays={0: True},
            world={"loads": {0: 60}, "device_temperature": 40},
        )
    )
    with Fleet(spec, clock=ManualClock()) as fleet:
        assert len(fleet) == 4
        for n, member in enumerate(fleet, 1):
            url = member.host.url
            assert requests.get(f"{url}/status", timeout=5).status_code == 401
            status = requests.get(f"{url}/status", auth=("admin", "pw"), timeout=5).json()
            assert status["relays"][0]["ison"] is True
            assert status["meters"][0]["power"] == 60
            assert status["temperature"] == 40
            settings = requests.get(f"{url}/settings", auth=("admin", "pw"), timeout=5).json()
            assert settings["name"] == f"Plug {n}"


def test_devices_are_found_by_hostname_mac_ip_and_ip_port() -> None:
    with Fleet(parse_fleet(_spec(3)), clock=ManualClock()) as fleet:
        member = list(fleet)[1]
        mac = member.host.device.identity.mac
        colon_mac = ":".join(mac[i : i + 2] for i in range(0, 12, 2))
        for key in (member.id, mac, colon_mac.lower(), member.host.ip, f"{member.host.ip}:80"):
            assert fleet.find(key) is member
        assert fleet[1] is member.host
        with pytest.raises(KeyError, match="no device 'nope'"):
            fleet.find("nope")


def test_an_unknown_world_key_stops_the_start_with_the_device_named() -> None:
    spec = parse_fleet(_spec(1, world={"humidity": 40}))
    with pytest.raises(FleetError, match=r"shellyplug-s-\w+: .*no world action 'set_humidity'"):
        Fleet(spec, clock=ManualClock()).start()


def test_reset_brings_every_device_back_to_the_file(tmp_path: Path) -> None:
    spec = parse_fleet(_spec(2, name="Plug {n}", relays={0: True}))
    with Fleet(spec, clock=ManualClock(), state_dir=tmp_path) as fleet:
        host = fleet[0]
        requests.get(f"{host.url}/settings?name=Renamed", timeout=5)
        requests.get(f"{host.url}/relay/0?turn=off", timeout=5)
        host.world.set_load(0, 500)
        fleet.control.set_faults(host.ip, {"latency": 1})
        fleet.reset()
        status = host.status()
        assert host.settings()["name"] == "Plug 1"
        assert status["relays"][0]["ison"] is True
        assert status["meters"][0]["power"] == 0
        assert not host.faults.latency
        assert len(fleet.runtime.request_log) == 0
        assert not (tmp_path / f"{host.device.identity.mac}.json").exists()  # the file's state
    with Fleet(spec, clock=ManualClock(), state_dir=tmp_path) as fleet:
        assert fleet[0].settings()["name"] == "Plug 1"


def test_creation_state_is_not_written_only_later_changes_are(tmp_path: Path) -> None:
    """The fleet file reproduces creation state; 10,000 file creations at start are saved."""
    spec = parse_fleet(_spec(3, name="Plug {n}", login="admin:pw"))
    with Fleet(spec, clock=ManualClock(), state_dir=tmp_path) as fleet:
        assert list(tmp_path.iterdir()) == []
        fleet[1].get("settings", name="Changed")
        assert [p.name for p in tmp_path.iterdir()] == [f"{fleet[1].device.identity.mac}.json"]


def test_settings_survive_a_restart_of_the_fleet(tmp_path: Path) -> None:
    spec = parse_fleet(_spec(3, name="Plug {n}"))
    with Fleet(spec, state_dir=tmp_path) as fleet:
        url = fleet[2].url
        requests.get(f"{url}/settings?name=Garage", timeout=5)
        requests.get(f"{url}/settings/relay/0?default_state=last", timeout=5)
        requests.get(f"{url}/relay/0?turn=on", timeout=5)
    with Fleet(spec, state_dir=tmp_path) as fleet:
        assert fleet[2].settings()["name"] == "Garage"
        assert fleet[2].status()["relays"][0]["ison"] is True  # flushed at stop
        assert fleet[1].settings()["name"] == "Plug 2"


_KILLED_FLEET = textwrap.dedent(
    """
    import sys, threading
    from emulator.fleet import Fleet
    from emulator.fleet.spec import parse_fleet
    spec = parse_fleet({"devices": [{"model": "SHSW-1", "count": 3, "address": sys.argv[1]}]})
    fleet = Fleet(spec, state_dir=sys.argv[2]).start()
    print("ready", flush=True)
    threading.Event().wait(60)
    """
)


def test_an_acknowledged_settings_change_survives_kill_9(tmp_path: Path) -> None:
    first = free_loopback_block(3)
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_FLEET, first, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        reply = requests.get(f"http://{first}/settings?name=Acknowledged", timeout=5)
        assert reply.json()["name"] == "Acknowledged"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    spec = parse_fleet({"devices": [{"model": "SHSW-1", "count": 3, "address": first}]})
    with Fleet(spec, state_dir=tmp_path) as fleet:
        assert fleet[0].settings()["name"] == "Acknowledged"


def test_status_only_changes_are_debounced_and_settings_written_at_once(tmp_path: Path) -> None:
    spec = parse_fleet(_spec(1))
    runtime = Runtime(ManualClock(), state_dir=tmp_path).start()
    try:
        fleet = Fleet(spec, runtime).start()
        host, store = fleet[0], runtime.store
        assert store is not None
        writes = store.writes
        for _ in range(20):
            host.get("relay/0", turn="toggle")
        assert store.writes == writes  # waiting for the debounce
        host.get("settings/relay/0", default_state="last")
        assert store.writes == writes + 1  # before the answer left
        runtime.call(store.flush)
        saved = json.loads(store.path(host.device.identity.mac).read_text())
        assert saved["components"]["relay0"]["config"]["default_state"] == "last"
    finally:
        runtime.stop()
