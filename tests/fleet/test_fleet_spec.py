"""Fleet files: address plans, names, MACs, logins and every error naming where it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator.fleet.spec import FleetError, load_fleet, parse_fleet


def _one(**group: object) -> dict[str, object]:
    return {"devices": [{"model": "SHSW-1", **group}]}


def test_address_plan_gives_each_device_its_own_address_on_80_and_5683() -> None:
    spec = parse_fleet(_one(count=3, address="127.20.0.254"))
    assert [(d.ip, d.http_port, d.coap_port) for d in spec.devices] == [
        ("127.20.0.254", 80, 5683),
        ("127.20.0.255", 80, 5683),
        ("127.20.1.0", 80, 5683),
    ]


def test_port_plan_gives_one_address_a_port_per_device() -> None:
    spec = parse_fleet(_one(count=2, address="127.0.0.1:8001", coap_port=9001))
    assert [(d.ip, d.http_port, d.coap_port) for d in spec.devices] == [
        ("127.0.0.1", 8001, 9001),
        ("127.0.0.1", 8002, 9002),
    ]


def test_names_macs_login_and_state_are_resolved_per_device() -> None:
    spec = parse_fleet(
        {
            "defaults": {"login": "admin:pw", "coiot_peer": "127.0.0.1:5683"},
            "devices": [
                {
                    "model": "shellyplug-s",
                    "count": 2,
                    "address": "127.21.0.1",
                    "name": "Plug {n} at {ip}",
                    "mac": "40:22:D8:FF:FF:FF",
                    "relays": [True],
                    "world": {"loads": {0: 60}},
                    "settings": {"led_status_disable": True},
                }
            ],
        }
    )
    first, second = spec.devices
    assert first.model == "SHPLG-S"
    assert (first.name, second.name) == ("Plug 1 at 127.21.0.1", "Plug 2 at 127.21.0.2")
    assert (first.mac, second.mac) == ("4022D8FFFFFF", "4022D8000000")  # wraps in the prefix
    assert first.login == ("admin", "pw")
    assert first.creation_settings() == {
        "led_status_disable": "true",
        "name": "Plug 1 at 127.21.0.1",
        "coiot_peer": "127.0.0.1:5683",
    }
    assert first.relays == {0: True}
    assert first.world == {"loads": {0: 60}}


def test_seeded_macs_are_sequential_so_a_large_group_never_collides() -> None:
    spec = parse_fleet(_one(count=5000, address="127.22.0.1", seed="lab"))
    macs = {d.mac for d in spec.devices}
    assert len(macs) == 5000
    assert parse_fleet(_one(count=1, address="127.22.0.1", seed="lab")).devices[0].mac in macs


def test_auto_address_picks_a_free_loopback_block() -> None:
    spec = parse_fleet(_one(count=3))
    ips = [d.ip for d in spec.devices]
    assert all(ip.startswith("127.") for ip in ips)
    assert len(set(ips)) == 3


def test_cloud_and_control_sections() -> None:
    spec = parse_fleet(
        {
            "control": "127.0.0.1:8080",
            "devices": [
                {
                    "model": "SHSW-1",
                    "address": "127.23.0.1",
                    "cloud": {"server": "wss://127.5.0.1:6113", "account": "a@example.com"},
                }
            ],
        }
    )
    assert spec.control == ("127.0.0.1", 8080)
    cloud = spec.devices[0].cloud
    assert cloud is not None and (cloud.server, cloud.account) == (
        "wss://127.5.0.1:6113",
        "a@example.com",
    )


def test_coiot_socket_is_per_device_unless_the_file_says_shared() -> None:
    assert parse_fleet(_one()).coiot_socket == "per-device"
    assert parse_fleet({**_one(), "coiot_socket": "shared"}).coiot_socket == "shared"


def test_state_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("state_dir: state\ndevices:\n  - {model: SHSW-1, address: 127.24.0.1}\n")
    assert load_fleet(path).state_dir == str(tmp_path / "state")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param([], "a mapping with a 'devices' list", id="not-a-mapping"),
        pytest.param({"devices": []}, "non-empty list", id="no-devices"),
        pytest.param({"devics": []}, "unknown key 'devics'", id="top-typo"),
        pytest.param(_one(colour="red"), "devices[0]: unknown key 'colour'", id="group-typo"),
        pytest.param({"devices": [{"count": 2}]}, "'model' is required", id="no-model"),
        pytest.param(_one(model="SHXX-9"), "unknown model 'SHXX-9'", id="bad-model"),
        pytest.param(_one(count=0), "count: 0 is out of range", id="zero-count"),
        pytest.param(_one(count="many"), "count: 'many' is not an integer", id="bad-count"),
        pytest.param(_one(address="kitchen"), "'kitchen' is not an IPv4 address", id="bad-ip"),
        pytest.param(_one(address="127.0.0.1:8001", http_port=80), "not both", id="port-twice"),
        pytest.param(_one(address="127.0.0.1:65535", count=2), "past 65535", id="ports-out"),
        pytest.param(
            _one(address="127.255.255.255", count=2), "run out of range", id="leaves-loopback"
        ),
        pytest.param(_one(login="admin"), "USER:PASSWORD", id="bad-login"),
        pytest.param(
            {**_one(), "coiot_socket": "one"}, "coiot_socket: 'one'", id="bad-coiot-socket"
        ),
        pytest.param(_one(mac="nope"), "MAC must be 12 hex digits", id="bad-mac"),
        pytest.param(_one(name="{x}"), "bad pattern", id="bad-name"),
        pytest.param(_one(cloud="http://x"), "not a ws:// or wss:// URL", id="bad-cloud"),
        pytest.param(
            {
                "devices": [
                    {"model": "SHSW-1", "address": "127.25.0.1", "mac": "349454000001"},
                    {"model": "SHSW-1", "address": "127.25.0.9", "mac": "349454000001"},
                ]
            },
            "used twice",
            id="same-mac",
        ),
        pytest.param(
            {
                "devices": [
                    {"model": "SHSW-1", "address": "127.25.0.1", "seed": "a"},
                    {"model": "SHSW-1", "address": "127.25.0.1", "seed": "b"},
                ]
            },
            "127.25.0.1:80 is used twice",
            id="same-address",
        ),
    ],
)
def test_bad_fleet_files_get_a_clear_error(data: object, message: str) -> None:
    with pytest.raises(FleetError, match=re.escape(message)):
        parse_fleet(data, "fleet.yaml")
