"""The Shelly 1 add-on over real sockets: DS18B20 probes and the DHT22 in /status and /settings
as real firmware shows them (sources: emulator/core/addon.py), 999 for a probe that does not
answer, its input, threshold URL actions, MQTT, the world API, the fleet key and ``run --addon``,
and the refusal on models without an add-on port."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from emulator.fleet.spec import FleetError, parse_fleet
from emulator.transports.net import free_loopback_address

from ..actions.test_url_actions import Receiver

WAIT = 15.0

_PROBE_SETTINGS = {
    "overtemp_threshold_tC": 0.0, "overtemp_threshold_tF": 32.0,
    "undertemp_threshold_tC": 0.0, "undertemp_threshold_tF": 32.0,
    "overtemp_act": "disabled", "undertemp_act": "disabled", "offset_tC": 0.0, "offset_tF": 0.0,
}  # fmt: skip


def _get(device, path: str, **params) -> requests.Response:
    return requests.get(f"{device.url}/{path}", params=params, timeout=WAIT)


def test_without_addon_every_block_is_empty_as_captured(shelly_device) -> None:
    device = shelly_device("SHSW-1")
    status, settings = _get(device, "status").json(), _get(device, "settings").json()
    for body in (status, settings):
        assert (body["ext_sensors"], body["ext_temperature"], body["ext_humidity"]) == ({}, {}, {})
    assert "ext_switch" not in status  # ext_switch_enable false (captures SHSW-1 fw 1.14)
    assert settings["ext_switch"] == {"0": {"relay_num": -1}}


def test_three_ds18b20_probes_from_a_fleet_file(shelly_device) -> None:
    device = shelly_device("SHSW-1", addon={"sensors": "ds18b20", "count": 3})
    device.world.set_ext_temperature(0, 22.5)
    device.world.set_ext_temperature(2, 999)  # the third probe does not answer
    status = _get(device, "status").json()
    assert status["ext_sensors"] == {"temperature_unit": "C"}
    probes = status["ext_temperature"]
    assert list(probes) == ["0", "1", "2"]
    assert [list(probe) for probe in probes.values()] == [["hwID", "tC", "tF"]] * 3
    assert (probes["0"]["tC"], probes["0"]["tF"]) == (22.5, 72.5)
    assert (probes["2"]["tC"], probes["2"]["tF"]) == (999, 999)
    hwids = {probe["hwID"] for probe in probes.values()}
    assert len(hwids) == 3 and all(len(h) == 16 and h.startswith("28") for h in hwids)
    assert status["ext_humidity"] == {}
    assert list(status).index("ext_temperature") == list(status).index("ext_sensors") + 1
    settings = _get(device, "settings").json()
    assert settings["ext_temperature"] == {str(i): _PROBE_SETTINGS for i in range(3)}
    assert settings["ext_humidity"] == {}


def test_dht22_temperature_humidity_and_settings(shelly_device) -> None:
    device = shelly_device("SHSW-1", addon={"sensors": "dht22"})
    device.world.set_ext_temperature(0, 12.8)
    device.world.set_ext_humidity(58.7)
    status = _get(device, "status").json()
    assert status["ext_temperature"] == {"0": {"hwID": "0505", "tC": 12.8, "tF": 55.04}}
    assert status["ext_humidity"] == {"0": {"hwID": "0505", "hum": 58.7}}
    assert _get(device, "settings").json()["ext_humidity"] == {
        "0": {
            "overhum_threshold": 0.0,
            "underhum_threshold": 0.0,
            "overhum_act": "disabled",
            "underhum_act": "disabled",
            "offset": 0.0,
        }
    }
    device.world.set_ext_humidity(999)
    assert _get(device, "status").json()["ext_humidity"]["0"]["hum"] == 999


def test_probe_settings_offsets_and_unit(shelly_device) -> None:
    device = shelly_device("SHSW-1", addon={"sensors": "ds18b20", "count": 2})
    device.world.set_ext_temperature(1, 20.0)
    answer = _get(device, "settings/ext_temperature/1", overtemp_threshold_tC=30, offset_tC=0.5)
    assert answer.status_code == 200
    assert answer.json()["overtemp_threshold_tC"] == 30.0
    assert answer.json()["overtemp_threshold_tF"] == 86.0  # kept in step
    assert _get(device, "status").json()["ext_temperature"]["1"]["tC"] == 20.5
    _get(device, "settings", ext_sensors_temperature_unit="F").raise_for_status()
    assert _get(device, "settings").json()["ext_sensors"] == {"temperature_unit": "F"}
    before = _get(device, "settings").json()
    for path, params in (
        ("settings/ext_temperature/0", {"overtemp_act": "explode"}),
        ("settings/ext_temperature/0", {"overtemp_threshold_tC": "hot"}),
        ("settings", {"ext_sensors_temperature_unit": "K"}),
    ):
        bad = _get(device, path, **params)
        assert bad.status_code == 400 and bad.headers["Content-Type"].startswith("text/plain")
    assert _get(device, "settings/ext_temperature/2").status_code == 404  # not plugged in
    assert _get(device, "settings/ext_humidity/0").status_code == 404  # no DHT22
    assert _get(device, "settings").json() == before


def test_addon_input_shows_while_enabled(shelly_device) -> None:
    device = shelly_device("SHSW-1")
    device.world.set_ext_input(True)
    assert "ext_switch" not in _get(device, "status").json()
    _get(device, "settings", ext_switch_enable="true").raise_for_status()
    status = _get(device, "status").json()
    assert status["ext_switch"] == {"0": {"input": 1}}
    assert list(status).index("ext_switch") == list(status).index("ext_humidity") + 1
    assert _get(device, "settings/ext_switch/0", relay_num=0).json() == {"relay_num": 0}
    assert _get(device, "settings/ext_switch/0", relay_num=1).status_code == 400


def test_threshold_actions_cross_once_and_ignore_invalid(shelly_device) -> None:
    receiver = Receiver()
    try:
        device = shelly_device("SHSW-1", addon={"sensors": "ds18b20", "count": 2})
        device.world.set_ext_temperature(1, 20.0)
        actions = f"{device.url}/settings/actions"
        for name, path in (("ext_temp_over_url", "/hot"), ("ext_temp_under_url", "/cold")):
            requests.get(
                actions,
                params={"name": name, "index": 1, "enabled": 1, "urls[]": receiver.url(path)},
                timeout=WAIT,
            ).raise_for_status()
        device.world.set_ext_temperature(1, 999)  # invalid: crosses nothing, either way
        device.world.set_ext_temperature(1, 20.0)
        device.world.set_ext_temperature(1, 25.0)  # over 24.0 (DOC default)
        device.world.set_ext_temperature(1, 26.0)  # still over: nothing
        device.world.set_ext_temperature(1, 21.0)  # under 22.5
        device.world.set_ext_temperature(0, 30.0)  # probe 0: its own, disabled actions
        assert receiver.wait(2) == ["/hot", "/cold"]
    finally:
        receiver.close()


def test_world_api_checks_values(shelly_device) -> None:
    device = shelly_device("SHSW-1", addon={"sensors": "ds18b20"})
    with pytest.raises(Exception, match=r"-55\.\.125"):
        device.world.set_ext_temperature(0, 130)
    with pytest.raises(Exception, match="not plugged in"):
        device.world.set_ext_temperature(1, 20)
    device.world.plug_addon("none")
    assert _get(device, "status").json()["ext_temperature"] == {}
    plug = shelly_device("SHPLG-S")
    with pytest.raises(Exception, match="no add-on port"):
        plug.world.plug_addon("dht22")


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ({"model": "SHPLG-S", "addon": {"sensors": "dht22"}}, "SHPLG-S has no add-on port"),
        ({"model": "SHSW-1", "addon": {"sensors": "pt100"}}, "want one of ds18b20, dht22"),
        ({"model": "SHSW-1", "addon": {"sensors": "ds18b20", "count": 4}}, "takes 1..3"),
        ({"model": "SHSW-1", "addon": {"sensors": "dht22", "count": 2}}, "takes 1..1"),
        ({"model": "SHSW-1", "addon": {"sensors": "dht22", "cnt": 1}}, "unknown key 'cnt'"),
        ({"model": "SHSW-1", "addon": "dht22"}, "want {sensors:"),
    ],
)
def test_fleet_addon_key_errors_name_file_and_key(group, message) -> None:
    with pytest.raises(FleetError) as error:
        parse_fleet({"devices": [group]}, "lab.yaml")
    assert str(error.value).startswith("lab.yaml: devices[0].addon")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_run_command_addon_option(tmp_path: Path) -> None:
    ip = free_loopback_address(8000)
    command = [sys.executable, "-m", "emulator.cli", "run", "--ip", ip, "--http-port", "8000",
               "--no-mdns", "--no-coiot"]  # fmt: skip
    refused = subprocess.run(
        [*command, "SHPLG-S", "--addon", "dht22"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "--addon: SHPLG-S has no add-on port" in refused.stderr
    process = subprocess.Popen(
        [*command, "SHSW-1", "--addon", "ds18b20:2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        while "Ctrl-C stops." not in process.stdout.readline():
            assert process.poll() is None, process.stderr and process.stderr.read()
        status = requests.get(f"http://{ip}:8000/status", timeout=WAIT).json()
        assert list(status["ext_temperature"]) == ["0", "1"]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
