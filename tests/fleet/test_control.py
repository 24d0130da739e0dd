"""The control API over HTTP: devices, state, world actions, faults, reboot, reset, the request
log and the clock; every bad request gets a JSON error and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from emulator.clock import ManualClock
from emulator.fleet import Fleet
from emulator.fleet.control import serve
from emulator.fleet.spec import parse_fleet
from emulator.transports.net import free_loopback_address, free_loopback_block


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    first = free_loopback_block(3)
    spec = parse_fleet(
        {
            "devices": [
                {"model": "SHPLG-S", "count": 2, "address": first, "name": "Plug {n}"},
                {"model": "SHSW-1", "address": first.rsplit(".", 1)[0] + ".3"},
            ]
        }
    )
    with Fleet(spec, clock=ManualClock()) as fleet:
        yield fleet


@pytest.fixture
def api(fleet: Fleet) -> Iterator[str]:
    base = serve(fleet.control, free_loopback_address(8080), 8080)
    yield f"{base}/_emu"
    fleet.control.close()


def test_lists_devices_and_reads_full_state(fleet: Fleet, api: str) -> None:
    devices = requests.get(f"{api}/devices", timeout=5).json()
    assert [d["model"] for d in devices] == ["SHPLG-S", "SHPLG-S", "SHSW-1"]
    assert devices[0]["url"] == fleet[0].url
    state = requests.get(f"{api}/devices/{devices[1]['id']}", timeout=5).json()
    assert state["settings"]["name"] == "Plug 2"
    assert set(state) >= {"shelly", "status", "settings", "world", "faults", "actions"}
    assert "set_load" in state["actions"]


def test_world_actions_take_query_or_json_and_answer_the_new_status(fleet: Fleet, api: str) -> None:
    plug = fleet[0]
    plug.get("relay/0", turn="on")
    status = requests.post(
        f"{api}/devices/{plug.ip}/world/set_load?channel=0&watts=75", timeout=5
    ).json()
    assert status["meters"][0]["power"] == 75
    switch = fleet[2]
    requests.post(f"{api}/devices/{switch.ip}/world/long_press", json={"channel": 0}, timeout=5)
    assert switch.status()["inputs"][0]["event"] == "L"
    requests.post(f"{api}/devices/{switch.ip}/world/toggle", timeout=5)
    requests.post(f"{api}/devices/{switch.ip}/world/toggle", timeout=5)
    requests.post(f"{api}/devices/{switch.ip}/world/toggle", timeout=5)
    assert switch.status()["inputs"][0]["input"] == 1


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        pytest.param("devices/nope/power_cycle", None, 404, "no device 'nope'", id="no-device"),
        pytest.param("devices/{ip}/world/fly", {}, 404, "no world action 'fly'", id="no-action"),
        pytest.param(
            "devices/{ip}/world/set_humidity",
            {"value": 50},
            404,
            "no world action 'set_humidity'",
            id="no-sensor",
        ),
        pytest.param(
            "devices/{ip}/world/set_load",
            {"channel": 0, "watts": "lots"},
            400,
            "watts must be float",
            id="bad-type",
        ),
        pytest.param(
            "devices/{ip}/world/set_load", {"channel": 0}, 400, "missing parameter", id="missing"
        ),
        pytest.param(
            "devices/{ip}/world/set_load",
            {"channel": 0, "watts": -1},
            400,
            "load must be >= 0 W",
            id="core-refuses",
        ),
        pytest.param(
            "devices/{ip}/world/set_load",
            {"channel": 7, "watts": 1, "colour": "red"},
            400,
            "unknown parameter 'colour'",
            id="unknown-param",
        ),
        pytest.param("devices/{ip}/wake", {}, 409, "not a battery device", id="wake-mains"),
        pytest.param("devices/{ip}/faults", {"offline": "maybe"}, 400, "true or false", id="f1"),
        pytest.param("devices/{ip}/faults", {"latency": -1}, 400, "latency must", id="f2"),
        pytest.param("devices/{ip}/faults", {"loss": 1}, 400, "unknown fault 'loss'", id="f3"),
        pytest.param("devices/{ip}/dance", {}, 404, "no device action 'dance'", id="no-verb"),
        pytest.param("devices/{ip}/reboot", {"offline_seconds": 1e9}, 400, "0..3600", id="rb"),
        pytest.param("clock/advance", {"seconds": "soon"}, 400, "must be a number", id="adv"),
    ],
)
def test_bad_requests_get_a_json_error_and_change_nothing(
    fleet: Fleet, api: str, path: str, body: object, status: int, message: str
) -> None:
    plug = fleet[0]
    before = plug.status()
    reply = requests.post(f"{api}/{path.format(ip=plug.ip)}", json=body, timeout=5)
    assert reply.status_code == status
    assert message in reply.json()["error"]
    after = plug.status()
    assert after["meters"] == before["meters"] and after["relays"] == before["relays"]
    assert not plug.faults.offline and not plug.faults.latency


def test_a_body_that_is_not_a_json_object_is_refused(fleet: Fleet, api: str) -> None:
    reply = requests.post(f"{api}/devices/{fleet[0].ip}/world/press", data="[1]", timeout=5)
    assert reply.status_code == 400
    assert "JSON object" in reply.json()["error"]


def test_faults_offline_flaky_slow_and_cleared(fleet: Fleet, api: str) -> None:
    plug = fleet[0]
    faults = f"{api}/devices/{plug.ip}/faults"
    assert requests.put(faults, json={"offline": True}, timeout=5).json()["offline"] is True
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{plug.url}/status", timeout=5)
    requests.put(faults, json={"offline": False, "error_rate": 1}, timeout=5)
    reply = requests.get(f"{plug.url}/status", timeout=5)
    assert reply.status_code == 500
    requests.put(faults, json={"error_rate": 0, "latency": 0.05}, timeout=5)
    reply = requests.get(f"{plug.url}/status", timeout=5)
    assert reply.status_code == 200 and reply.elapsed.total_seconds() >= 0.05
    assert requests.get(faults, timeout=5).json()["latency"] == 0.05
    requests.delete(faults, timeout=5)
    assert requests.get(f"{plug.url}/status", timeout=5).status_code == 200
    assert requests.get(f"{fleet[1].url}/status", timeout=5).status_code == 200


def test_power_cycle_reboot_and_reset(fleet: Fleet, api: str) -> None:
    plug = fleet[0]
    plug.get("settings", name="Changed")
    fleet.runtime.advance(100)
    assert requests.post(f"{api}/devices/{plug.ip}/power_cycle", timeout=5).ok
    assert plug.status()["uptime"] == 0
    fleet.runtime.advance(10)
    assert requests.post(f"{api}/devices/{plug.ip}/reboot", timeout=5).ok
    assert plug.status()["uptime"] == 0
    assert plug.settings()["name"] == "Changed"
    assert requests.post(f"{api}/reset", timeout=5).json() == {"ok": True, "devices": 3}
    assert plug.settings()["name"] == "Plug 1"


def test_request_log_lists_and_downloads_what_devices_answered(fleet: Fleet, api: str) -> None:
    plug = fleet[1]
    requests.get(f"{plug.url}/relay/0?turn=on", timeout=5)
    requests.get(f"{plug.url}/relay/9", timeout=5)
    requests.get(f"{fleet[0].url}/shelly", timeout=5)
    log = requests.get(f"{api}/log", params={"device": plug.ip}, timeout=5).json()
    assert [(r["path"], r["query"], r["status"]) for r in log] == [
        ("/relay/0", "turn=on", 200),
        ("/relay/9", "", 404),
    ]
    assert all(r["proto"] == "http" and r["ms"] >= 0 for r in log)
    download = requests.get(f"{api}/log", params={"format": "ndjson", "limit": 1}, timeout=5)
    assert download.headers["Content-Type"] == "application/x-ndjson"
    assert download.text.count("\n") == 1 and '"/shelly"' in download.text
    assert requests.get(f"{api}/log?limit=x", timeout=5).status_code == 400
    requests.delete(f"{api}/log", timeout=5)
    assert requests.get(f"{api}/log", timeout=5).json() == []


def test_advancing_the_clock_fires_timers_across_the_fleet(fleet: Fleet, api: str) -> None:
    for i in range(3):
        fleet[i].get("relay/0", turn="on", timer=300)
    reply = requests.post(f"{api}/clock/advance", json={"seconds": 300}, timeout=5)
    assert reply.ok
    assert all(fleet[i].status()["relays"][0]["ison"] is False for i in range(3))


def test_unknown_routes_answer_json(api: str) -> None:
    reply = requests.get(f"{api}/nothing", timeout=5)
    assert reply.status_code == 404
    assert "Not Found" in reply.json()["error"]
