"""Every value of a fleet file is checked (issue 18): a wrong one is a one-line error naming the
file, the key and what is allowed, never silently defaulted; ``control: off`` works unquoted;
HTTP limits and the per-device connection limit come from the file."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.fleet.spec import FleetError, load_fleet, parse_fleet
from emulator.transports.net import free_loopback_block


def _one(**group: object) -> dict[str, object]:
    return {"devices": [{"model": "SHSW-1", "address": "127.26.0.1", **group}]}


def test_control_off_unquoted_is_off(tmp_path: Path) -> None:
    """YAML reads ``off`` as false: that used to mean "not given" and serve the default."""
    path = tmp_path / "fleet.yaml"
    path.write_text("control: off\ndevices:\n  - {model: SHSW-1, address: 127.26.0.1}\n")
    spec = load_fleet(path)
    assert (spec.control_off, spec.control) == (True, None)
    assert parse_fleet({**_one(), "control": "off"}).control_off is True
    assert parse_fleet(_one()).control_off is False


def test_fleet_command_with_control_off_serves_no_control_api(tmp_path: Path) -> None:
    first = free_loopback_block(1)
    path = tmp_path / "fleet.yaml"
    path.write_text(f"control: off\ndevices:\n  - {{model: SHSW-1, address: {first}}}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator.cli", "fleet", str(path), "--no-mdns", "--no-coiot"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = [process.stdout.readline() for _ in range(3)][2]
        assert ready.startswith("ready: 1 devices in ")
        assert "control API" not in ready
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 0


def test_limits_and_connection_limit_are_read() -> None:
    spec = parse_fleet(
        {
            "limits": {"keep_alive_timeout": 5, "max_body": 1024, "connection_budget": 500},
            "defaults": {"max_connections": 4},
            "devices": [
                {"model": "SHSW-1", "address": "127.26.0.1"},
                {"model": "SHSW-1", "address": "127.26.0.2", "max_connections": 0},
            ],
        }
    )
    assert spec.limits is not None
    assert (spec.limits.keep_alive_timeout, spec.limits.max_body) == (5.0, 1024)
    assert spec.limits.connection_budget == 500
    assert [d.max_connections for d in spec.devices] == [4, 0]
    assert parse_fleet(_one()).limits is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({**_one(), "control": True}, "control: True; want ADDRESS:PORT or off"),
        pytest.param({**_one(), "control": "kitchen"}, "control: 'kitchen' is not an IPv4"),
        pytest.param({**_one(), "state_dir": ["a"]}, "state_dir: ['a']; want a directory path"),
        pytest.param({**_one(), "coiot_socket": True}, "coiot_socket: True; want one of"),
        pytest.param({**_one(), "limits": [1]}, "limits: want a mapping of limits"),
        pytest.param(
            {**_one(), "limits": {"keep_alive": 5}}, "limits: unknown limit 'keep_alive'; known:"
        ),
        pytest.param(
            {**_one(), "limits": {"max_body": "big"}}, "limits: max_body: 'big' is not an integer"
        ),
        pytest.param(
            {**_one(), "limits": {"header_timeout": -1}}, "header_timeout: -1.0 is out of range"
        ),
        pytest.param(_one(longid="no"), "devices[0].longid: 'no'; want true or false"),
        pytest.param(_one(relays={0: "off"}), "devices[0].relays.0: 'off'; want true or false"),
        pytest.param(_one(relays={0: None}), "devices[0].relays.0: None; want true or false"),
        pytest.param(_one(settings={"name": ["a"]}), "settings.name: ['a']; want a string"),
        pytest.param(_one(name=["a"]), "devices[0].name: ['a']; want a name pattern"),
        pytest.param(_one(fw={"v": 1}), "devices[0].fw: {'v': 1}; want a firmware string"),
        pytest.param(_one(seed=[1]), "devices[0].seed: [1]; want a string"),
        pytest.param(_one(coiot_peer="here"), "coiot_peer: 'here' is not an IPv4 address"),
        pytest.param(_one(coiot_peer="127.0.0.1:x"), "coiot_peer: 'x' is not an integer"),
        pytest.param(_one(max_connections=-1), "max_connections: -1 is out of range 0..65535"),
        pytest.param(_one(max_connections="few"), "'few' is not an integer; want 0..65535"),
        pytest.param(_one(count=1.5), "count: 1.5 is not an integer; want 1..100000"),
        pytest.param(_one(address=True), "address: True; want IP, IP:PORT or auto"),
        pytest.param(
            _one(cloud={"server": "ws://x", "account": ["a"]}), "cloud.account: ['a']; want"
        ),
    ],
)
def test_every_wrong_value_is_a_one_line_error_naming_file_and_key(
    data: object, message: str
) -> None:
    with pytest.raises(FleetError, match=re.escape(message)) as caught:
        parse_fleet(data, "fleet.yaml")
    text = str(caught.value)
    assert text.startswith("fleet.yaml: ") and "\n" not in text
