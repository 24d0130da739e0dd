"""Sleep and wake of the H&T (SHHT-1) and Smoke (SHSM-01) on the manual clock, seen over real
HTTP: what wakes them, how long they stay up, what clients meet while they sleep."""

from __future__ import annotations

import socket

import pytest
import requests

from emulator.core.events import StatusChanged

from .helpers import TIMEOUT, get_json

SLEEPERS = ["SHHT-1", "SHSM-01"]
AWAKE = 5  # profile sleep.awake_seconds
SETUP = 180  # seed 003: a button press keeps the device on for 3 minutes
PERIOD = 12 * 3600  # settings sleep_mode {period: 12, unit: h}


@pytest.fixture(params=SLEEPERS)
def sleeper(request, make_device):
    """A battery device that refuses connections while asleep (fast to assert)."""
    host = make_device(request.param)
    host.while_asleep = "refuse"
    return host


def asleep(host) -> bool:
    """Over HTTP, as a client sees it: the connection is refused."""
    try:
        requests.get(f"{host.url}/shelly", timeout=TIMEOUT)
    except requests.ConnectionError:
        return True
    return False


def reasons(host) -> list[str]:
    return get_json(host, "status")["act_reasons"]


def test_power_on_reports_then_sleeps_after_the_awake_period(sleeper, runtime):
    """Powered on, the device is reachable with act_reasons poweron, then falls asleep."""
    assert reasons(sleeper) == ["poweron"] and not sleeper.device.asleep
    runtime.advance(AWAKE - 0.1)
    assert not asleep(sleeper)
    runtime.advance(0.1)
    assert asleep(sleeper) and sleeper.device.asleep


def test_periodic_wake_up_follows_sleep_mode_period(sleeper, runtime):
    """Asleep for sleep_mode.period hours, then awake with act_reasons periodic; a new period
    set while awake applies to the next sleep."""
    get_json(sleeper, "settings", sleep_mode_period=2)
    runtime.advance(AWAKE)
    runtime.advance(2 * 3600 - 1)
    assert asleep(sleeper)
    runtime.advance(1)
    assert reasons(sleeper) == ["periodic"]
    assert get_json(sleeper, "status")["uptime"] == 0  # deep sleep ends in a reset


def test_button_setup_mode_lasts_three_minutes(sleeper, runtime):
    """A press wakes the device into setup mode for 180 s; then it sleeps again."""
    runtime.advance(AWAKE)
    sleeper.world.press()
    assert reasons(sleeper) == ["button"]
    runtime.advance(SETUP - 1)
    assert not asleep(sleeper)
    assert get_json(sleeper, "status")["uptime"] == SETUP - 1
    runtime.advance(1)
    assert asleep(sleeper)


def test_second_press_sends_it_back_to_sleep(sleeper, runtime):
    runtime.advance(AWAKE)
    sleeper.world.press()
    runtime.advance(60)
    sleeper.world.press()
    assert asleep(sleeper)


def test_press_during_a_report_extends_into_setup_mode(sleeper, runtime):
    """Awake for poweron, a press adds "button" and keeps it up for the full setup time."""
    runtime.advance(2)
    sleeper.world.press()
    assert reasons(sleeper) == ["poweron", "button"]
    runtime.advance(SETUP - 1)
    assert not asleep(sleeper)
    runtime.advance(1)
    assert asleep(sleeper)


def test_temperature_beyond_the_threshold_wakes_it(sleeper, runtime):
    """Changes up to the threshold (1 degC) since the last report do not wake; beyond, "sensor"."""
    runtime.advance(AWAKE)
    sleeper.world.set_temperature(22.6)
    sleeper.world.set_temperature(21.0)  # 1.0 from the reported 22.0: not greater
    assert asleep(sleeper)
    sleeper.world.set_temperature(23.1)
    assert reasons(sleeper) == ["sensor"]
    assert get_json(sleeper, "status")["tmp"]["tC"] == 23.1
    runtime.advance(AWAKE)
    sleeper.world.set_temperature(23.9)  # compared with the new report, 23.1
    assert asleep(sleeper)


def test_temperature_threshold_is_in_the_configured_unit(sleeper, runtime):
    """In F the threshold is in degF: 1 degF is 0.56 degC."""
    get_json(sleeper, "settings", temperature_units="F", temperature_threshold=1)
    runtime.advance(AWAKE)
    sleeper.world.set_temperature(22.6)
    assert reasons(sleeper) == ["sensor"]
    tmp = get_json(sleeper, "status")["tmp"]
    assert tmp["units"] == "F" and tmp["value"] == tmp["tF"] == 72.68


def test_humidity_threshold_wakes_the_h_and_t(make_device, runtime):
    host = make_device("SHHT-1")
    get_json(host, "settings", humidity_threshold=10)
    runtime.advance(AWAKE)
    host.world.set_humidity(60)
    assert host.device.asleep
    host.world.set_humidity(60.5)
    assert not host.device.asleep and reasons(host) == ["sensor"]
    assert get_json(host, "status")["hum"]["value"] == 60.5


def test_low_battery_wakes_it_once(sleeper, runtime):
    """Falling to the profile's low level (10 %) wakes with "battery"; staying low does not."""
    runtime.advance(AWAKE)
    sleeper.world.set_battery(11)
    assert asleep(sleeper)
    sleeper.world.set_battery(10)
    status = get_json(sleeper, "status")
    assert status["act_reasons"] == ["battery"] and status["bat"]["value"] == 10
    runtime.advance(AWAKE)
    sleeper.world.set_battery(9)
    assert asleep(sleeper)


def test_smoke_alarm_keeps_it_awake_until_the_smoke_clears(make_device, runtime):
    host = make_device("SHSM-01")
    runtime.advance(AWAKE)
    host.world.set_smoke(True)
    status = get_json(host, "status")
    assert status["smoke"] is True and status["act_reasons"] == ["alarm"]
    runtime.advance(PERIOD * 3)  # however long it lasts
    assert not host.device.asleep and get_json(host, "status")["smoke"] is True
    host.world.set_smoke(False)
    assert get_json(host, "status")["smoke"] is False  # the all-clear is reported
    runtime.advance(AWAKE)
    assert host.device.asleep


def test_button_does_not_silence_an_alarm(make_device, runtime):
    """A press during an alarm enters setup mode; pressing again cannot send it to sleep."""
    host = make_device("SHSM-01")
    host.world.set_smoke(True)
    host.world.press()
    host.world.press()
    runtime.advance(SETUP)
    assert not host.device.asleep and reasons(host) == ["poweron", "alarm", "button"]


def test_wake_up_emits_status_changed(sleeper, runtime):
    """The CoIoT transport publishes on StatusChanged while device.asleep is False."""
    seen: list[tuple[bool, object]] = []
    runtime.call(
        lambda: sleeper.listeners.append(
            lambda h, events: seen.extend((h.device.asleep, e) for e in events)
        )
    )
    runtime.advance(AWAKE)
    seen.clear()
    sleeper.world.press()
    assert any(isinstance(e, StatusChanged) and not was_asleep for was_asleep, e in seen)
    sleeper.world.press()
    seen.clear()
    runtime.advance(PERIOD)
    assert any(isinstance(e, StatusChanged) and not was_asleep for was_asleep, e in seen)


def test_timeout_policy_never_answers_while_asleep(make_device, runtime):
    """The profiles' default: the kernel accepts, nothing answers (a client times out); the
    request left hanging is dropped when the device wakes, and the next one is answered."""
    host = make_device("SHHT-1")
    assert host.while_asleep == "timeout"
    runtime.advance(AWAKE)
    with socket.create_connection((host.ip, host.http_port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /status HTTP/1.1\r\nHost: ht\r\n\r\n")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1024)
        host.world.press()
        sock.settimeout(TIMEOUT)
        try:
            dropped = sock.recv(1024) == b""
        except ConnectionResetError:
            dropped = True
        assert dropped
    assert get_json(host, "status")["act_reasons"] == ["button"]


def test_keep_alive_connection_from_before_sleep_is_dropped(make_device, runtime):
    """A connection opened while awake gets no answer once the device sleeps (reset, refuse)."""
    host = make_device("SHSM-01")
    host.while_asleep = "refuse"
    with requests.Session() as session:
        assert session.get(f"{host.url}/shelly", timeout=TIMEOUT).status_code == 200
        runtime.advance(AWAKE)
        with pytest.raises(requests.ConnectionError):
            session.get(f"{host.url}/shelly", timeout=TIMEOUT)


def test_long_press_resets_to_factory_settings(sleeper, runtime):
    """Seed 003: holding the button resets the settings; the device restarts (poweron)."""
    get_json(sleeper, "settings", temperature_threshold=3, name="attic")
    sleeper.world.press(long=True)
    settings = get_json(sleeper, "settings")
    assert settings["name"] is None and settings["sensors"]["temperature_threshold"] == 1.0
    assert reasons(sleeper) == ["poweron"]


def test_cli_puts_battery_devices_in_setup_mode(make_device):
    """`shelly-emu run|demo` press a sleeper's button so it answers for 3 minutes."""
    from emulator.cli import _setup_mode, _table

    host = _setup_mode(make_device("SHHT-1"))
    assert "button" in reasons(host)
    assert "setup mode" in _table([host])
