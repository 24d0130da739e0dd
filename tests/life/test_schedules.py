"""Weekly schedules and sun events of relays and rollers on the device's clock, over real HTTP
(core/schedule.py, core/localtime.py). The ManualClock starts where each test says, in UTC."""

from __future__ import annotations

import pytest

from emulator.core.events import StatusChanged

from ..sensors.helpers import get, get_json, state
from .conftest import unix


def advance_to(runtime, iso: str) -> None:
    runtime.advance(unix(iso) - runtime.clock.now().unix)


def relay(host) -> dict:
    return get_json(host, "status")["relays"][0]


@pytest.fixture
def berlin_switch(make_device):
    host = make_device("SHSW-1")
    settings = get_json(host, "settings", tzautodetect=0, timezone="Europe/Berlin")
    assert settings["tz_utc_offset"] == 3600  # the zone brought its standard offset
    return host


def test_a_fixed_rule_switches_at_its_local_minute(berlin_switch, runtime):
    """Monday 2024-01-01, Berlin (UTC+1 in winter): 07:00 local is 06:00 UTC."""
    seen = []
    runtime.listeners.append(lambda host, events: seen.extend(events))
    settings = get_json(
        berlin_switch, "settings/relay/0", schedule=1, schedule_rules="0700-0123456-on,2200-01-off"
    )
    assert settings["schedule_rules"] == ["0700-0123456-on", "2200-01-off"]
    advance_to(runtime, "2024-01-01T05:59:59+00:00")
    assert relay(berlin_switch)["ison"] is False
    assert get_json(berlin_switch, "status")["time"] == "06:59"
    seen.clear()
    advance_to(runtime, "2024-01-01T06:00:00+00:00")
    assert relay(berlin_switch)["ison"] is True
    assert relay(berlin_switch)["source"] == "schedule"  # as a real SHUNI-1 reports it
    assert any(isinstance(event, StatusChanged) for event in seen)  # pushed like any change
    advance_to(runtime, "2024-01-01T21:00:00+00:00")  # 22:00 Monday: off
    assert relay(berlin_switch)["ison"] is False


def test_rules_wait_while_the_schedule_is_off(berlin_switch, runtime):
    get_json(berlin_switch, "settings/relay/0", schedule=0, schedule_rules="0700-0123456-on")
    advance_to(runtime, "2024-01-01T06:00:00+00:00")
    assert relay(berlin_switch)["ison"] is False
    get_json(berlin_switch, "settings/relay/0", schedule=1)
    advance_to(runtime, "2024-01-02T06:00:00+00:00")
    assert relay(berlin_switch)["ison"] is True


def test_days_count_from_monday(berlin_switch, runtime):
    get_json(berlin_switch, "settings/relay/0", schedule=1, schedule_rules="0700-6-on")
    advance_to(runtime, "2024-01-06T06:00:00+00:00")  # Saturday
    assert relay(berlin_switch)["ison"] is False
    advance_to(runtime, "2024-01-07T06:00:00+00:00")  # Sunday = 6
    assert relay(berlin_switch)["ison"] is True


@pytest.mark.parametrize("start_at", ["2024-03-30T12:00:00+00:00"])
def test_a_rule_follows_the_dst_change(berlin_switch, runtime):
    """Berlin springs forward on Sunday 2024-03-31: 07:00 local is 06:00 UTC on Saturday and
    05:00 UTC on Sunday."""
    get_json(berlin_switch, "settings/relay/0", schedule=1, schedule_rules="0700-56-on")
    get_json(berlin_switch, "relay/0", turn="off")
    advance_to(runtime, "2024-03-31T04:59:59+00:00")
    assert relay(berlin_switch)["ison"] is False
    assert get_json(berlin_switch, "status")["time"] == "06:59"
    advance_to(runtime, "2024-03-31T05:00:00+00:00")
    assert relay(berlin_switch)["ison"] is True


@pytest.mark.parametrize("start_at", ["2024-03-30T12:00:00+00:00"])
def test_a_fixed_offset_without_dst_auto_does_not_move(make_device, runtime):
    host = make_device("SHSW-1")
    get_json(host, "settings", tzautodetect=0, tz_dst_auto=0, tz_utc_offset=3600, tz_dst=0)
    get_json(host, "settings/relay/0", schedule=1, schedule_rules="0700-6-on")
    advance_to(runtime, "2024-03-31T05:00:00+00:00")
    assert relay(host)["ison"] is False
    advance_to(runtime, "2024-03-31T06:00:00+00:00")
    assert relay(host)["ison"] is True


@pytest.mark.parametrize("start_at", ["2024-06-21T00:00:00+00:00"])
def test_sunrise_and_sunset_in_sofia(make_device, runtime):
    """Sofia (42.6977 N, 23.3219 E) on Friday 2024-06-21: sunrise 05:49 EEST (02:49 UTC),
    sunset 21:08 EEST (18:08 UTC): a day of 15 h 19 min, as almanacs give it to the minute."""
    host = make_device("SHSW-1")
    get_json(host, "settings", tzautodetect=0, timezone="Europe/Sofia", lat=42.6977, lng=23.3219)
    get_json(host, "settings/relay/0", schedule=1, schedule_rules="0000asr-4-on,0030bss-4-off")
    advance_to(runtime, "2024-06-21T02:48:00+00:00")
    assert relay(host)["ison"] is False
    advance_to(runtime, "2024-06-21T02:50:00+00:00")
    assert relay(host)["ison"] is True
    assert relay(host)["source"] == "schedule"
    advance_to(runtime, "2024-06-21T17:37:00+00:00")  # 30 min before sunset, one minute early
    assert relay(host)["ison"] is True
    advance_to(runtime, "2024-06-21T17:39:00+00:00")
    assert relay(host)["ison"] is False


def test_a_roller_opens_on_schedule(make_device, runtime):
    host = make_device("SHSW-21")
    get_json(host, "settings", mode="roller", tzautodetect=0, timezone="UTC")
    get_json(host, "settings/roller/0", schedule=1, schedule_rules="0700-0-open")
    advance_to(runtime, "2024-01-01T07:00:00+00:00")
    roller = get_json(host, "status")["rollers"][0]
    assert roller["state"] == "open" and roller["source"] == "schedule"


@pytest.mark.parametrize(
    "rules",
    ["2400-0-on", "0760-0-on", "0700-7-on", "0700--on", "0700-0-open", "0700bxx-0-on", "0700-0"],
)
def test_bad_rules_are_refused_with_nothing_changed(berlin_switch, rules):
    before = state(berlin_switch)
    response = get(berlin_switch, "settings/relay/0", schedule=1, schedule_rules=rules)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    assert state(berlin_switch) == before


def test_the_sense_keeps_to_fixed_times(make_device):
    sense = make_device("SHSEN-1")
    response = get(sense, "settings", schedule_rules="0000asr-0-x")
    assert response.status_code == 400
