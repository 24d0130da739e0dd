"""Shelly Bulb (SHBLB-1) over real HTTP: /light/0 and its aliases, modes, light settings, the
flip-back timer and auto_off on the manual clock, the power model, and rejected input."""

from __future__ import annotations

import pytest

from .helpers import get, get_json, state


@pytest.fixture
def bulb(make_device):
    return make_device("SHBLB-1")


def test_light_turns_on_with_colour_and_reports_it_everywhere(bulb):
    """/light/0 sets the colour and turns on; /status and /settings show the same values."""
    body = get_json(bulb, "light/0", turn="on", red=10, green=20, blue=30, white=40, gain=50)
    assert body["ison"] is True and body["source"] == "http" and body["mode"] == "color"
    assert [body[k] for k in ("red", "green", "blue", "white", "gain")] == [10, 20, 30, 40, 50]
    light = get_json(bulb, "status")["lights"][0]
    assert light == body
    assert get_json(bulb, "settings")["lights"][0]["red"] == 10


@pytest.mark.parametrize("alias", ["color/0", "white/0"])
def test_color_and_white_are_aliases_of_light(bulb, alias):
    """Clients (ioBroker, openHAB) call /color/0 and /white/0: same resource, mode untouched."""
    body = get_json(bulb, alias, turn="on", brightness=30, temp=3000)
    assert body["ison"] is True and body["brightness"] == 30 and body["temp"] == 3000
    assert body["mode"] == "color"


def test_mode_switch_keeps_the_light_and_status_follows(bulb):
    """mode= on /light/0 or /settings switches color <-> white; the light stays on."""
    get_json(bulb, "light/0", turn="on")
    assert get_json(bulb, "light/0", mode="white", brightness=40)["mode"] == "white"
    status = get_json(bulb, "status")
    assert status["lights"][0]["mode"] == "white" and status["lights"][0]["ison"] is True
    settings = get_json(bulb, "settings", mode="color")
    assert settings["mode"] == "color" and settings["lights"][0]["ison"] is True
    assert get_json(bulb, "status")["cfg_changed_cnt"] == 2  # a mode change is configuration


def test_colour_changes_are_not_configuration(bulb):
    """HA reloads on cfg_changed_cnt: colour, brightness and effect must not bump it."""
    get_json(bulb, "light/0", turn="on", red=1, brightness=2, effect=3)
    assert get_json(bulb, "status")["cfg_changed_cnt"] == 0


def test_power_follows_the_light_state(bulb):
    """The meter reads a model of the 9 W bulb: off 0, white mode by brightness, color mode by
    gain and the mean of the four channels. Powered up it is on (default_state on), red."""
    assert get_json(bulb, "status")["meters"][0]["power"] == 2.25
    get_json(bulb, "light/0", turn="off")
    assert get_json(bulb, "status")["meters"][0]["power"] == 0
    get_json(bulb, "light/0", turn="on", mode="white", brightness=50)
    assert get_json(bulb, "status")["meters"][0] == {"power": 4.5, "is_valid": True}
    get_json(bulb, "light/0", mode="color", red=255, green=255, blue=255, white=255, gain=100)
    assert get_json(bulb, "status")["meters"][0]["power"] == 9.0
    get_json(bulb, "light/0", red=255, green=0, blue=0, white=0, gain=40)
    assert get_json(bulb, "status")["meters"][0]["power"] == 0.9
    get_json(bulb, "light/0", turn="off")
    assert get_json(bulb, "status")["meters"][0]["power"] == 0


def test_timer_flips_back_on_the_manual_clock(bulb, runtime):
    """turn=on&timer=10: on now, off after exactly 10 s."""
    body = get_json(bulb, "light/0", turn="on", timer=10)
    assert body["has_timer"] is True and body["timer_duration"] == 10
    runtime.advance(9.9)
    assert get_json(bulb, "light/0")["ison"] is True
    runtime.advance(0.1)
    light = get_json(bulb, "light/0")
    assert light["ison"] is False and light["source"] == "timer" and light["has_timer"] is False


def test_light_settings_auto_off_default_state_effect_reset(bulb, runtime):
    """/settings/light/0: auto_off applies to every on; default_state at power-up; effect at
    once; reset restores the profile's defaults."""
    settings = get_json(bulb, "settings/light/0", auto_off=30, default_state="off", effect=4)
    assert settings["auto_off"] == 30 and settings["default_state"] == "off"
    assert settings["effect"] == 4
    get_json(bulb, "light/0", turn="on")
    runtime.advance(30)
    assert get_json(bulb, "light/0")["ison"] is False
    get_json(bulb, "light/0", turn="on")
    bulb.world.power_cycle()
    assert get_json(bulb, "light/0")["ison"] is False  # default_state off
    reset = get_json(bulb, "settings/light/0", reset=1)
    assert reset["auto_off"] == 0 and reset["default_state"] == "on" and reset["effect"] == 0


def test_default_state_last_and_settings_survive_a_restart(make_device, runtime, tmp_path):
    """Colour, settings and (default_state last) the on state come back after a restart."""
    from emulator.runtime import Runtime

    with Runtime(clock=runtime.clock, state_dir=tmp_path) as first:
        host = first.add_device("SHBLB-1", mac="68C63A000001")
        host.get("settings/light/0", default_state="last")
        host.get("light/0", turn="on", blue=77)
    with Runtime(clock=runtime.clock, state_dir=tmp_path) as second:
        light = second.add_device("SHBLB-1", mac="68C63A000001").get("light/0")
    assert light["ison"] is True and light["blue"] == 77


BAD_LIGHT = [
    {"turn": "maybe"},
    {"red": "256"},
    {"green": "-1"},
    {"blue": "x"},
    {"white": "300"},
    {"gain": "101"},
    {"temp": "2999"},
    {"temp": "6501"},
    {"brightness": "101"},
    {"brightness": "12.5"},
    {"effect": "7"},
    {"mode": "rgb"},
    {"timer": "10"},
    {"turn": "on", "timer": "-1"},
    {"transition": "5001"},
    {"turn": "on", "red": "10", "gain": "200"},  # one bad value spoils the whole request
]


@pytest.mark.parametrize("path", ["light/0", "color/0", "white/0"])
@pytest.mark.parametrize(
    "params", BAD_LIGHT, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_bad_light_input_is_a_4xx_and_changes_nothing(bulb, path, params):
    before = state(bulb)
    response = get(bulb, path, **params)
    assert 400 <= response.status_code < 500
    assert response.headers["Content-Type"].startswith("text/plain")
    assert state(bulb) == before


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("settings/light/0", {"default_state": "switch"}),
        ("settings/light/0", {"auto_off": "-5"}),
        ("settings/light/0", {"effect": "9"}),
        ("settings/light/0", {"effect": "2", "auto_on": "x"}),
        ("settings", {"mode": "rgbw"}),
        ("light/1", {"turn": "on"}),
        ("settings/light/1", {}),
    ],
)
def test_bad_settings_input_is_a_4xx_and_changes_nothing(bulb, path, params):
    before = state(bulb)
    assert 400 <= get(bulb, path, **params).status_code < 500
    assert state(bulb) == before
