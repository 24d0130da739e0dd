"""Settings persist like flash: a restarted runtime with the same state directory brings the
device back as it was; a factory reset clears it (DESIGN.md principle 7)."""

from __future__ import annotations

import json

import requests

from emulator.core.clock import ManualClock
from emulator.runtime import Runtime
from emulator.transports.net import free_loopback_address


def test_settings_survive_a_restart(tmp_path) -> None:
    ip = free_loopback_address()
    with Runtime(ManualClock(), state_dir=tmp_path) as runtime:
        host = runtime.add_device("SHSW-21", ip=ip, http_port=80, seed="kitchen")
        requests.get(
            f"{host.url}/settings", params={"name": "Kitchen", "mode": "roller"}, timeout=5
        )
        requests.get(f"{host.url}/settings/relay/1", params={"auto_off": "42"}, timeout=5)
        requests.get(
            f"{host.url}/settings/login",
            params={"enabled": "1", "username": "u", "password": "p"},
            timeout=5,
        )
        mac = host.device.identity.mac
    saved = json.loads((tmp_path / f"{mac}.json").read_text())
    assert saved["config"]["name"] == "Kitchen"
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temp files
    with Runtime(ManualClock(), state_dir=tmp_path) as runtime:
        host = runtime.add_device("SHSW-21", ip=ip, http_port=80, seed="kitchen")
        settings = requests.get(f"{host.url}/settings", auth=("u", "p"), timeout=5).json()
        assert settings["name"] == "Kitchen"
        assert settings["mode"] == "roller"
        assert settings["relays"][1]["auto_off"] == 42
        assert requests.get(f"{host.url}/status", timeout=5).status_code == 401


def test_last_state_survives_a_restart(tmp_path) -> None:
    ip = free_loopback_address()
    with Runtime(ManualClock(), state_dir=tmp_path) as runtime:
        host = runtime.add_device("SHSW-1", ip=ip, http_port=80, seed="a")
        requests.get(f"{host.url}/settings/relay/0?default_state=last", timeout=5)
        requests.get(f"{host.url}/relay/0?turn=on", timeout=5)
    with Runtime(ManualClock(), state_dir=tmp_path) as runtime:
        host = runtime.add_device("SHSW-1", ip=ip, http_port=80, seed="a")
        assert host.status()["relays"][0]["ison"] is True
