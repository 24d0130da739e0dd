"""H&T (SHHT-1) and Smoke (SHSM-01) while awake: /status fields, the documented /settings
parameters, rejected input, and the world API's own checks."""

from __future__ import annotations

import pytest

from emulator.core.errors import BadRequest

from .helpers import get, get_json, state


@pytest.fixture
def ht(make_device):
    return make_device("SHHT-1")


@pytest.fixture
def smoke(make_device):
    return make_device("SHSM-01")


def test_h_and_t_status_follows_the_world(ht):
    ht.world.set_temperature(24.617)
    ht.world.set_humidity(39.04)
    ht.world.set_battery(97)
    status = get_json(ht, "status")
    assert status["is_valid"] is True
    assert status["tmp"] == {
        "value": 24.62,
        "units": "C",
        "tC": 24.62,
        "tF": 76.31,
        "is_valid": True,
    }
    assert status["hum"] == {"value": 39.0, "is_valid": True}
    assert status["bat"] == {"value": 97, "voltage": 2.93}  # capture SHHT-1 status__1
    assert status["act_reasons"] == ["poweron"] and status["connect_retries"] == 0


def test_smoke_status_follows_the_world(smoke):
    smoke.world.set_temperature(25.0625)
    smoke.world.set_battery(71)
    status = get_json(smoke, "status")
    assert status["smoke"] is False
    assert status["tmp"]["tC"] == 25.06 and status["tmp"]["tF"] == 77.11
    assert status["bat"] == {"value": 71, "voltage": 2.74}  # capture SHSM-01 status__1


def test_h_and_t_settings_parameters(ht):
    """Seed 003 H&T: temperature_units, temperature_threshold, humidity_threshold,
    sleep_mode_period (1..24 h); shown under sensors and sleep_mode."""
    settings = get_json(
        ht,
        "settings",
        temperature_units="F",
        temperature_threshold=0.5,
        humidity_threshold=10,
        sleep_mode_period=24,
    )
    assert settings["sensors"] == {
        "temperature_threshold": 0.5,
        "temperature_unit": "F",
        "humidity_threshold": 10,
    }
    assert settings["sleep_mode"] == {"period": 24, "unit": "h"}
    assert get_json(ht, "status")["tmp"]["units"] == "F"


def test_smoke_settings_parameters(smoke):
    settings = get_json(smoke, "settings", temperature_threshold=2, sleep_mode_period=1)
    assert settings["sensors"] == {"temperature_threshold": 2, "temperature_unit": "C"}
    assert settings["sleep_mode"] == {"period": 1, "unit": "h"}


BAD_SETTINGS = [
    {"sleep_mode_period": "0"},
    {"sleep_mode_period": "25"},
    {"sleep_mode_period": "1.5"},
    {"sleep_mode_period": "x"},
    {"temperature_threshold": "0"},
    {"temperature_threshold": "11"},
    {"temperature_threshold": "nan"},
    {"temperature_units": "K"},
    {"temperature_units": "F", "sleep_mode_period": "48"},
]


@pytest.mark.parametrize("model", ["SHHT-1", "SHSM-01"])
@pytest.mark.parametrize(
    "params", BAD_SETTINGS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_bad_settings_are_a_4xx_and_change_nothing(make_device, model, params):
    host = make_device(model)
    before = state(host)
    response = get(host, "settings", **params)
    assert 400 <= response.status_code < 500
    assert state(host) == before


@pytest.mark.parametrize("value", ["0.5", "51"])
def test_bad_humidity_threshold(ht, value):
    before = state(ht)
    assert get(ht, "settings", humidity_threshold=value).status_code == 400
    assert state(ht) == before


@pytest.mark.parametrize(
    ("model", "action"),
    [
        ("SHSM-01", lambda w: w.set_humidity(40)),  # the Smoke has no humidity sensor
        ("SHHT-1", lambda w: w.set_smoke(True)),
        ("SHHT-1", lambda w: w.set_temperature(126)),
        ("SHHT-1", lambda w: w.set_humidity(-1)),
        ("SHHT-1", lambda w: w.set_battery(101)),
        ("SHHT-1", lambda w: w.set_temperature(True)),
        ("SHSM-01", lambda w: w.set_smoke(1)),
        ("SHBLB-1", lambda w: w.set_temperature(20)),
    ],
)
def test_world_rejects_what_the_model_cannot_sense(make_device, model, action):
    host = make_device(model)
    before = state(host)
    with pytest.raises(BadRequest):
        action(host.world)
    assert state(host) == before
