"""The Gen1 HTTP dialect over real sockets: every resource of every model, auth, the boolean
dialect, GET and POST alike, and bad input answered 4xx text/plain with nothing changed."""

from __future__ import annotations

import pytest
import requests

from emulator.runtime.profiles import all_profiles

VOLATILE = {"time", "unixtime", "uptime"}


def resources(host) -> list[str]:
    """Every resource path the device serves, channel resources for each channel."""
    paths = ["/".join(key) for key in host.device._routes]
    for component in host.device.components:
        if component.kind == "addon":
            continue  # answer only with sensors plugged in: tests/life/test_addon.py
        for pattern in type(component).ROUTES:
            if component.active:
                paths.append(pattern.replace("{i}", str(component.channel)))
    # /ir/add, /ir/remove, /ir/emit are actions that need parameters (tests/sensors/test_sense.py)
    return sorted(set(paths) - {"reboot", "ir/add", "ir/remove", "ir/emit"})


@pytest.mark.parametrize("model", sorted(all_profiles()))
def test_every_resource_answers_json(make_device, model: str) -> None:
    host = make_device(model)
    for path in resources(host):
        response = requests.get(f"{host.url}/{path}", timeout=5)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["Content-Type"] == "application/json", path
        assert isinstance(response.json(), dict | list), path  # /ir/list is an array


def test_reboot_answers_empty_object(make_device) -> None:
    host = make_device("SHSW-1")
    response = requests.post(f"{host.url}/reboot", timeout=5)
    assert (response.status_code, response.json()) == (200, {})


def test_unknown_resource_and_channel_are_404(make_device) -> None:
    host = make_device("SHSW-1")
    for path in ("nope", "relay/1", "settings/relay/9", "roller/0", "relay/x"):
        response = requests.get(f"{host.url}/{path}", timeout=5)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"].startswith("text/plain")


def test_login_protects_all_but_shelly(make_device) -> None:
    host = make_device("SHPLG-S", login=("admin", "s3cret"))
    shelly = requests.get(f"{host.url}/shelly", timeout=5).json()
    assert shelly["auth"] is True
    denied = requests.get(f"{host.url}/status", timeout=5)
    assert denied.status_code == 401
    assert denied.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert requests.get(f"{host.url}/status", auth=("admin", "bad"), timeout=5).status_code == 401
    assert requests.get(f"{host.url}/relay/0?turn=off", timeout=5).status_code == 401
    assert host.status()["relays"][0]["ison"] is True  # refused request changed nothing
    ok = requests.get(f"{host.url}/status", auth=("admin", "s3cret"), timeout=5)
    assert ok.status_code == 200
    login = requests.get(
        f"{host.url}/settings/login", params={"enabled": "0"}, auth=("admin", "s3cret"), timeout=5
    ).json()
    assert login == {"enabled": False, "unprotected": False, "username": "admin"}
    assert requests.get(f"{host.url}/status", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("y", True),
        ("Y", True),
        ("t", True),
        ("T", True),
        ("true", True),
        ("TRUE", True),
        ("tRuE", True),
        ("0", False),
        ("yes", False),
        ("on", False),
        ("false", False),
        ("", False),
        ("2", False),
    ],
)
def test_boolean_dialect(make_device, value: str, expected: bool) -> None:
    host = make_device("SHSW-1")
    body = requests.get(
        f"{host.url}/settings",
        params={"led_status_disable": "x", "eco_mode_enabled": value},
        timeout=5,
    ).json()
    assert body["eco_mode_enabled"] is expected


def test_post_form_body_and_query_are_alike(make_device) -> None:
    host = make_device("SHSW-1")
    assert requests.post(f"{host.url}/relay/0", data={"turn": "on"}, timeout=5).json()["ison"]
    assert not requests.post(f"{host.url}/relay/0?turn=off", timeout=5).json()["ison"]
    assert (
        requests.put(f"{host.url}/settings", data={"name": "Porch"}, timeout=5).json()["name"]
        == "Porch"
    )


BAD_INPUT = [
    ("SHSW-1", "relay/0", {"turn": "bogus"}),
    ("SHSW-1", "relay/0", {"turn": "on", "timer": "-1"}),
    ("SHSW-1", "relay/0", {"turn": "on", "timer": "abc"}),
    ("SHSW-1", "relay/0", {"turn": "on", "timer": "nan"}),
    ("SHSW-1", "relay/0", {"timer": "5"}),
    ("SHSW-1", "settings/relay/0", {"default_state": "maybe"}),
    ("SHSW-1", "settings/relay/0", {"btn_type": "rocker"}),
    ("SHSW-1", "settings/relay/0", {"auto_off": "-5"}),
    ("SHSW-1", "settings/relay/0", {"auto_off": "1e99"}),
    ("SHSW-1", "settings/relay/0", {"schedule_rules": "2500-0123-on"}),
    ("SHSW-1", "settings/relay/0", {"schedule_rules": "1200-0189-on"}),
    ("SHSW-1", "settings/relay/0", {"schedule_rules": "1200-01-explode"}),
    ("SHSW-1", "settings/relay/0", {"auto_off": "10", "btn_type": "rocker"}),
    ("SHSW-1", "settings", {"lat": "91"}),
    ("SHSW-1", "settings", {"lng": "east"}),
    ("SHSW-1", "settings", {"coiot_peer": "not-an-ip"}),
    ("SHSW-1", "settings", {"coiot_update_period": "0"}),
    ("SHSW-1", "settings", {"coiot_update_period": "14"}),  # 15..65535 (spec/coiot.md)
    ("SHSW-1", "settings", {"mqtt_max_qos": "3"}),
    ("SHSW-1", "settings", {"name": "x" * 65}),
    ("SHSW-1", "settings", {"name": "ok", "lat": "-100"}),
    ("SHSW-1", "settings/advanced", {"coiot_peer": "1.2.3.4:99999"}),
    ("SHSW-1", "settings/login", {"username": ""}),
    ("SHSW-1", "settings/login", {"password": "p" * 51}),
    ("SHSW-1", "settings/sta", {"ipv4_method": "bootp"}),
    ("SHSW-1", "settings/sta", {"ipv4_method": "static"}),
    ("SHSW-1", "settings/sta", {"ip": "300.1.1.1"}),
    ("SHSW-1", "settings/ap", {"key": "short"}),
    ("SHSW-1", "ota", {"url": "ftp://example.invalid/fw.zip"}),
    ("SHPLG-S", "settings", {"max_power": "99999"}),
    ("SHPLG-S", "settings", {"max_power": "-5"}),
    ("SHSW-44", "settings/relay/0", {"max_power": "5000"}),
    ("SHSW-21", "settings", {"mode": "blinds"}),
    ("SHSW-21", "settings", {"mode": "roller", "max_power": "-1"}),
]


@pytest.mark.parametrize(("model", "path", "params"), BAD_INPUT)
def test_bad_input_is_4xx_text_and_changes_nothing(make_device, model, path, params) -> None:
    host = make_device(model)
    before = {k: v for k, v in host.settings().items() if k not in VOLATILE}
    status_before = {k: v for k, v in host.status().items() if k not in VOLATILE}
    response = requests.get(f"{host.url}/{path}", params=params, timeout=5)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text
    assert {k: v for k, v in host.settings().items() if k not in VOLATILE} == before
    assert {k: v for k, v in host.status().items() if k not in VOLATILE} == status_before


def test_malformed_http_gets_400_and_server_keeps_working(make_device) -> None:
    import socket

    host = make_device("SHSW-1")
    with socket.create_connection((host.ip, host.http_port), timeout=5) as sock:
        sock.sendall(b"GARBAGE\x00\x01 / HTTP/9.9\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400")
    assert requests.get(f"{host.url}/shelly", timeout=5).status_code == 200


def test_wifi_settings(make_device) -> None:
    host = make_device("SHSW-1")
    sta = requests.get(
        f"{host.url}/settings/sta",
        params={
            "ssid": "Castle",
            "key": "secretkey",
            "ipv4_method": "static",
            "ip": "192.168.2.65",
            "mask": "255.255.255.0",
            "gw": "192.168.2.1",
        },
        timeout=5,
    ).json()
    assert sta["ssid"] == "Castle" and sta["ip"] == "192.168.2.65"
    assert "key" not in sta  # 1.14 never shows the station key
    ap = requests.get(
        f"{host.url}/settings/ap", params={"enabled": "1", "key": "apkey1234"}, timeout=5
    ).json()
    assert ap["enabled"] is True
    assert host.settings()["wifi_sta"]["enabled"] is False  # AP mode disables STA (seed 003)
    assert host.status()["wifi_sta"]["ssid"] == "Castle"


def test_coiot_settings_via_advanced(make_device) -> None:
    host = make_device("SHSW-1")
    body = requests.post(
        f"{host.url}/settings/advanced",
        params={"coiot_enable": "true", "coiot_peer": "127.0.0.1:5684"},
        timeout=5,
    ).json()
    assert body == {"coiot": {"enabled": True, "update_period": 15, "peer": "127.0.0.1:5684"}}
    assert host.settings()["coiot"]["peer"] == "127.0.0.1:5684"
    assert host.device.active_coiot["peer"] == ""  # takes effect after reboot


def test_cloud_setting(make_device) -> None:
    host = make_device("SHSW-1")
    assert requests.get(f"{host.url}/settings/cloud?enabled=1", timeout=5).json() == {
        "enabled": True
    }
    assert host.status()["cloud"] == {"enabled": True, "connected": False}
