"""Meters follow the simulated load; energy integrates exactly on the injected clock."""

from __future__ import annotations

import requests


def get(host, path: str, **params) -> dict:
    response = requests.get(f"{host.url}/{path}", params=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_power_and_energy_follow_load(make_device, runtime) -> None:
    host = make_device("SHPLG-S")
    get(host, "relay/0", turn="on")
    runtime.advance(60 - runtime.clock.now().unix % 60)  # start on a whole minute
    host.world.set_load(0, 120)
    assert get(host, "meter/0")["power"] == 120
    runtime.advance(90)
    get(host, "relay/0", turn="off")
    runtime.advance(150)
    meter = get(host, "meter/0")
    assert meter["power"] == 0
    assert meter["total"] == 180  # 120 W for 1.5 min = 180 W-min
    assert meter["counters"] == [0, 0, 60]  # minute 2-3 had 30 s at 120 W; then idle
    assert meter["timestamp"] == int(runtime.clock.now().unix)


def test_counters_are_the_last_three_whole_minutes(make_device, runtime) -> None:
    host = make_device("SHPLG-1")
    get(host, "relay/0", turn="on")
    runtime.advance(60 - runtime.clock.now().unix % 60)
    host.world.set_load(0, 60)
    runtime.advance(60)
    host.world.set_load(0, 30)
    runtime.advance(60)
    host.world.set_load(0, 0)
    runtime.advance(60)
    assert get(host, "meter/0")["counters"] == [0, 30, 60]


def test_shelly2_meter_sums_both_channels(make_device) -> None:
    host = make_device("SHSW-21")
    host.world.set_load(0, 100)
    host.world.set_load(1, 50)
    get(host, "relay/0", turn="on")
    get(host, "relay/1", turn="on")
    assert get(host, "status")["meters"][0]["power"] == 150


def test_shelly1_reports_the_declared_power(make_device) -> None:
    """Shelly 1 has no meter: it reports relays[0].power (user-declared) while on."""
    host = make_device("SHSW-1")
    host.world.set_load(0, 500)
    get(host, "settings/relay/0", power=60)
    get(host, "relay/0", turn="on")
    assert get(host, "status")["meters"][0] == {"power": 60, "is_valid": True}


def test_reboot_starts_total_from_zero(make_device, runtime) -> None:
    host = make_device("SHPLG-S")
    get(host, "relay/0", turn="on")
    host.world.set_load(0, 60)
    runtime.advance(120)
    assert get(host, "meter/0")["total"] == 120
    host.world.power_cycle()
    assert get(host, "meter/0")["total"] == 0
