"""Relay behaviour on a ManualClock, over real HTTP: timers, auto_on/off, overpower, inputs,
default_state at power-on and reboot (seed 003 Shelly1/Shelly2/Plug chapters)."""

from __future__ import annotations

import pytest
import requests


def get(host, path: str, **params) -> dict:
    response = requests.get(f"{host.url}/{path}", params=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_turn_on_off_toggle(make_device) -> None:
    host = make_device("SHSW-1")
    assert get(host, "relay/0", turn="on")["ison"] is True
    assert get(host, "relay/0", turn="toggle")["ison"] is False
    assert get(host, "relay/0", turn="toggle")["ison"] is True
    assert get(host, "relay/0", turn="off")["ison"] is False
    assert get(host, "status")["relays"][0]["source"] == "http"


def test_one_shot_timer_flips_back_exactly_on_time(make_device, runtime) -> None:
    host = make_device("SHSW-1")
    body = get(host, "relay/0", turn="on", timer=30)
    assert body["has_timer"] is True
    assert body["timer_duration"] == 30
    assert body["timer_started"] == int(runtime.clock.now().unix)
    runtime.advance(29.9)
    assert get(host, "relay/0")["ison"] is True
    assert get(host, "relay/0")["timer_remaining"] == 0  # 0.1 s left, rounded
    runtime.advance(0.1)
    relay = get(host, "relay/0")
    assert relay["ison"] is False
    assert relay["has_timer"] is False
    assert relay["source"] == "timer"


def test_auto_off_after_auto_on(make_device, runtime) -> None:
    host = make_device("SHPLG-S")
    get(host, "settings/relay/0", auto_on=10, auto_off=300)
    get(host, "relay/0", turn="off")
    runtime.advance(10)
    assert get(host, "relay/0")["ison"] is True
    runtime.advance(299)
    assert get(host, "relay/0")["ison"] is True
    runtime.advance(1)
    assert get(host, "relay/0")["ison"] is False
    assert get(host, "relay/0")["has_timer"] is True  # auto_on armed again


def test_overpower_trips_and_clears_on_next_on(make_device) -> None:
    host = make_device("SHPLG-S")
    get(host, "settings", max_power=1000)
    get(host, "relay/0", turn="on")
    host.world.set_load(0, 999)
    assert get(host, "relay/0")["ison"] is True
    host.world.set_load(0, 1500)
    status = get(host, "status")
    assert status["relays"][0]["ison"] is False
    assert status["relays"][0]["overpower"] is True
    assert status["meters"][0]["overpower"] == 1500
    host.world.set_load(0, 100)
    relay = get(host, "relay/0", turn="on")
    assert relay["ison"] is True
    assert relay["overpower"] is False


def test_per_channel_max_power_on_4pro(make_device) -> None:
    host = make_device("SHSW-44")
    get(host, "settings/relay/2", max_power=500)
    get(host, "relay/2", turn="on")
    get(host, "relay/1", turn="on")
    host.world.set_load(1, 600)
    host.world.set_load(2, 600)
    relays = get(host, "status")["relays"]
    assert [r["ison"] for r in relays] == [False, True, False, False]
    assert relays[2]["overpower"] is True


@pytest.mark.parametrize(
    ("btn_type", "actions", "expected"),
    [
        ("toggle", ["on", "off", "on"], True),
        ("toggle", ["on", "off"], False),
        ("edge", ["on", "off"], False),
        ("edge", ["on"], True),
        ("detached", ["on", "press"], False),
        ("momentary", ["press"], True),
        ("momentary", ["press", "press"], False),
        ("momentary", ["long"], False),
    ],
)
def test_input_drives_relay_by_btn_type(make_device, btn_type, actions, expected) -> None:
    host = make_device("SHSW-1")
    get(host, "settings/relay/0", btn_type=btn_type)
    for action in actions:
        if action in ("on", "off"):
            host.world.set_input(0, action == "on")
        else:
            host.world.press(0, long=action == "long")
    assert get(host, "relay/0")["ison"] is expected


def test_press_reports_event_and_counter(make_device) -> None:
    host = make_device("SHSW-1")
    get(host, "settings/relay/0", btn_type="detached")
    host.world.press(0)
    host.world.press(0, long=True)
    assert get(host, "status")["inputs"] == [{"input": 0, "event": "L", "event_cnt": 2}]


def test_plug_button_toggles(make_device) -> None:
    host = make_device("SHPLG-1")
    get(host, "relay/0", turn="off")
    host.world.press(0)
    assert get(host, "relay/0")["ison"] is True


@pytest.mark.parametrize(
    ("default_state", "before", "expected"),
    [("off", True, False), ("on", False, True), ("last", True, True), ("last", False, False)],
)
def test_default_state_at_power_on_and_reboot(
    make_device, runtime, default_state, before, expected
) -> None:
    host = make_device("SHSW-1")
    get(host, "settings/relay/0", default_state=default_state)
    get(host, "relay/0", turn="on" if before else "off")
    host.world.power_cycle()
    assert get(host, "relay/0")["ison"] is expected
    get(host, "relay/0", turn="on" if before else "off")
    assert get(host, "reboot") == {}
    runtime.advance(host.device.boot_seconds + 1)
    assert get(host, "relay/0")["ison"] is expected


def test_default_state_switch_follows_input(make_device) -> None:
    host = make_device("SHSW-1")
    get(host, "settings/relay/0", default_state="switch", btn_type="detached")
    host.world.set_input(0, True)
    host.world.power_cycle()
    assert get(host, "relay/0")["ison"] is True


def test_reboot_resets_uptime_and_keeps_settings(make_device, runtime) -> None:
    host = make_device("SHSW-1")
    get(host, "settings", name="Hall")
    runtime.advance(3600)
    assert get(host, "status")["uptime"] == 3600
    get(host, "reboot")
    runtime.advance(host.device.boot_seconds + 0.5)  # the reboot starts 0.5 s after the answer
    assert get(host, "status")["uptime"] == 0
    assert get(host, "settings")["name"] == "Hall"


def test_factory_reset_restores_defaults(make_device) -> None:
    host = make_device("SHSW-1")
    get(host, "settings", name="Hall", max_power=5)
    get(host, "settings/relay/0", auto_off=5, btn_type="edge")
    settings = get(host, "settings", reset=1)
    assert settings["name"] is None
    assert settings["relays"][0]["auto_off"] == 0
    assert settings["relays"][0]["btn_type"] == "toggle"


def test_relay_settings_reset_only_that_channel(make_device) -> None:
    host = make_device("SHSW-21")
    get(host, "settings/relay/0", auto_off=5)
    get(host, "settings/relay/1", auto_off=7)
    assert get(host, "settings/relay/0", reset=1)["auto_off"] == 0
    assert get(host, "settings/relay/1")["auto_off"] == 7


def test_cfg_changed_cnt_counts_configuration_not_state(make_device) -> None:
    host = make_device("SHSW-1")
    before = get(host, "status")["cfg_changed_cnt"]
    get(host, "relay/0", turn="on")
    get(host, "settings", name="Hall")
    get(host, "settings", name="Hall")  # unchanged: not a change
    assert get(host, "status")["cfg_changed_cnt"] == before + 1
