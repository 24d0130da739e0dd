"""Per-model descriptions and bindings: /cit/d equals the spec's payloads byte for byte, /cit/s
follows live state for the models in this branch and capture-shaped /status bodies for the
sensor models, and aioshelly's block parser reads both (spec/coiot.md §6-§8)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aioshelly.block_device.coap import COAP, CoapMessage
from aioshelly.block_device.device import BlockDevice
from aioshelly.common import ConnectionOptions

from emulator.core.clock import ManualClock
from emulator.core.errors import NotFound
from emulator.core.resources import serves_cit_d_over_http
from emulator.runtime import DeviceHost, Runtime
from emulator.runtime.profiles import ProfileError, all_profiles
from emulator.transports.coiot.codec import encode_publish
from emulator.transports.coiot.description import (
    MissingValue,
    load_model,
    model_of,
    parse_model,
    payload,
)
from emulator.transports.coiot.node import DeviceState
from tests.datafiles import CAPTURES
from tests.datafiles import COIOT_PAYLOADS as SPEC


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.mark.parametrize(
    ("model", "version", "mode", "spec_file"),
    [
        ("SHSW-1", 2, "relay", "SHSW-1_citd.json"),
        ("SHSW-21", 2, "relay", "SHSW-21_citd.json"),
        ("SHSW-21", 2, "roller", "SHSW-21_roller_citd.json"),
        ("SHSW-44", 1, None, "SHSW-44_citd.json"),
        ("SHPLG-1", 2, None, "SHPLG-1_citd.json"),
        ("SHPLG-S", 2, None, "SHPLG-S_citd.json"),
        ("SHBLB-1", 2, "color", "SHBLB-1_citd.json"),
        ("SHBLB-1", 2, "white", "SHBLB-1_citd.json"),
        ("SHSEN-1", 2, None, "SHSEN-1_citd.json"),
        ("SHHT-1", 2, None, "SHHT-1_citd.json"),
        ("SHSM-01", 2, None, "SHSM-01_citd.json"),
    ],
)
def test_description_is_the_real_one(
    model: str, version: int, mode: str | None, spec_file: str
) -> None:
    """Ids, types, units, ranges and links exactly as firmware sends them, key order included."""
    body = load_model(model, version).description(mode).cit_d()
    assert payload(body) == payload(_json(SPEC / spec_file))


# --- the sensor models, whose profiles are not in this branch: /status shaped like captures ---


def _capture(model: str, name: str, **v2_keys: Any) -> dict[str, Any]:
    """A captured /status plus the keys CoIoT-v2 firmware (>= 1.8) adds when the capture is
    older: ``cfg_changed_cnt`` (present in capture SHHT-1 status__3, fw 1.9)."""
    return {**_json(CAPTURES / model / name), **v2_keys}


def _g(*pairs: tuple[int, Any]) -> list[list[Any]]:
    return [[0, sensor, value] for sensor, value in pairs]


def _aioshelly_blocks(model: str, citd: dict[str, Any], cits: bytes) -> dict[str, Any]:
    """What aioshelly makes of a description and a publish: {block D: {sensor D: value}}."""
    device = BlockDevice(COAP(), None, ConnectionOptions("127.0.0.1"))  # type: ignore[arg-type]
    device._update_d(citd)
    device._coap_message_received(CoapMessage(("127.0.0.1", 5683), cits))
    return {block.description: block.current_values() for block in device.blocks}


SENSOR_CASES = [
    pytest.param(
        "SHBLB-1",
        _capture("SHBLB-1", "status__3.json", cfg_changed_cnt=0),
        _g(
            (9103, 0),
            (1101, 0),
            (5105, 255),
            (5106, 0),
            (5107, 0),
            (5108, 0),
            (5102, 100),
            (5101, 100),
            (5103, 4750),
            (9101, "color"),
        ),
        {"light_0": {"output": 0, "red": 255, "gain": 100, "colorTemp": 4750, "mode": "color"}},
        id="SHBLB-1",
    ),
    pytest.param(
        "SHHT-1",
        _capture("SHHT-1", "status__3.json"),
        _g(
            (9103, 0),
            (3101, 26.12),
            (3102, 79.03),
            (3103, 49),
            (3115, 0),
            (3111, 86),
            (9102, ["poweron"]),
        ),
        {
            "sensor_0": {"extTemp": 26.12, "humidity": 49, "sensorError": 0},
            "device": {"cfgChanged": 0, "battery": 86, "wakeupEvent": ["poweron"]},
        },
        id="SHHT-1",
    ),
    pytest.param(
        "SHSM-01",
        _capture("SHSM-01", "status__1.json", cfg_changed_cnt=2),
        _g(
            (9103, 2),
            (3101, 25.0625),
            (3102, 77.112503),
            (6105, 0),
            (3115, 0),
            (3111, 71),
            (9102, ["button"]),
        ),
        {"sensor_0": {"extTemp": 25.0625, "smoke": 0, "sensorError": 0}},
        id="SHSM-01",
    ),
    pytest.param(
        "SHSEN-1",
        _capture("SHSEN-1", "status__3.json", cfg_changed_cnt=0),
        _g(
            (9103, 0),
            (3101, 26.11),
            (3102, 79),
            (3103, 76.7),
            (6107, 0),
            (3106, 40),
            (3112, 0),
            (3111, 100),
        ),
        {
            "sensor_0": {"extTemp": 26.11, "humidity": 76.7, "motion": 0, "luminosity": 40},
            "device": {"charger": 0, "battery": 100, "cfgChanged": 0},
        },
        id="SHSEN-1",
    ),
]


@pytest.mark.parametrize(("model", "status", "tuples", "blocks"), SENSOR_CASES)
def test_sensor_model_status_from_capture_shaped_body(
    model: str, status: dict[str, Any], tuples: list[list[Any]], blocks: dict[str, Any]
) -> None:
    description = load_model(model, 2).description(None)
    body = description.cit_s({"status": status})
    assert body == {"G": tuples}
    seen = _aioshelly_blocks(
        model, description.cit_d(), encode_publish("X#ABCDEF#2", 150, 1, 1, payload(body))
    )
    for block, values in blocks.items():
        assert values.items() <= seen[block].items()


def test_sensor_error_and_wakeup_follow_the_body() -> None:
    status = _capture("SHHT-1", "status__1.json", cfg_changed_cnt=1, is_valid=False)
    status["act_reasons"] = ["sensor", "periodic"]
    values = {
        i: v for _, i, v in load_model("SHHT-1", 2).description(None).cit_s({"status": status})["G"]
    }
    assert values[3115] == 1
    assert values[9102] == ["sensor", "periodic"]


# --- the models of this branch: live devices ------------------------------------------------


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    runtime = Runtime(clock=ManualClock()).start()
    yield runtime
    runtime.stop()


def status_tuples(host: DeviceHost) -> dict[int, Any]:
    device = host.device
    description = model_of(device.profile).description(device.mode)
    state = host.runtime.call(lambda: DeviceState(device, host.now()))
    body = host.runtime.call(lambda: description.cit_s(state))
    ids = [sensor.id for sensor in description.sensors]
    present = [entry[1] for entry in body["G"]]
    assert present == [i for i in ids if i in present], "tuples follow description order"
    return {entry[1]: entry[2] for entry in body["G"]}


def test_shelly1_relay_input_and_events(runtime: Runtime) -> None:
    host = runtime.add_device("SHSW-1")
    assert status_tuples(host) == {9103: 0, 1101: 0, 2101: 0, 2102: "", 2103: 0}
    host.get("relay/0", turn="on")
    host.world.press(0, long=True)
    assert status_tuples(host) == {9103: 0, 1101: 1, 2101: 0, 2102: "L", 2103: 1}
    host.world.flip(0)
    assert status_tuples(host)[2101] == 1


def test_shelly1_addon_sensors_join_the_status_when_present() -> None:
    description = load_model("SHSW-1", 2).description(None)
    status = _json(CAPTURES / "SHSW-1" / "status__3.json")
    assert [entry[1] for entry in description.cit_s({"status": status})["G"]] == [
        9103, 1101, 2101, 2102, 2103,
    ]  # fmt: skip
    status["ext_temperature"] = {"0": {"hwID": "28ff", "tC": 21.5, "tF": 70.7}}
    status["ext_switch"] = {"0": {"input": 1}}
    values = {i: v for _, i, v in description.cit_s({"status": status})["G"]}
    assert (values[3101], values[3102], values[3117]) == (21.5, 70.7, 1)
    assert 3201 not in values


def test_shelly2_relay_mode_power_energy_overpower(runtime: Runtime) -> None:
    host = runtime.add_device("SHSW-21", settings={"max_power": "500"})
    host.get("relay/1", turn="on")
    host.world.set_load(1, 120)
    runtime.advance(60)
    values = status_tuples(host)
    assert (values[1201], values[4101], values[4103], values[9101]) == (1, 120, 120, "relay")
    host.world.set_load(1, 700)
    values = status_tuples(host)
    assert (values[1201], values[6202], values[6109], values[6102]) == (0, 1, 700, 0)


def test_shelly2_roller_mode_state_position_and_stop_reason(runtime: Runtime) -> None:
    host = runtime.add_device("SHSW-21", settings={"mode": "roller"})
    host.world.set_motor_power(0, 90)
    values = status_tuples(host)
    assert (values[1102], values[1103], values[6103], values[9101]) == (
        "stop",
        -1,
        "normal",
        "roller",
    )
    assert 1101 not in values
    host.get("roller/0", go="open")
    values = status_tuples(host)
    assert (values[1102], values[4102]) == ("open", 90)
    host.world.set_travel_time(0, 10)
    host.get("roller/0/calibrate")
    runtime.advance(20)
    host.get("roller/0", go="to_pos", roller_pos="40")
    runtime.advance(10)
    values = status_tuples(host)
    assert (values[1102], values[1103]) == ("stop", 40)


def test_plug_s_power_temperature_overtemperature(runtime: Runtime) -> None:
    host = runtime.add_device("SHPLG-S")
    host.world.set_load(0, 60.5)
    host.world.set_device_temperature(44.2)
    values = status_tuples(host)
    assert (values[1101], values[4101], values[3104], values[3105], values[6101]) == (
        1, 60.5, 44.2, 111.56, 0,
    )  # fmt: skip
    host.world.set_device_temperature(96)
    values = status_tuples(host)
    assert (values[6101], values[1101]) == (1, 0)


def test_plug_overpower_value(runtime: Runtime) -> None:
    host = runtime.add_device("SHPLG-1", settings={"max_power": "1000"})
    host.world.set_load(0, 1500)
    values = status_tuples(host)
    assert (values[1101], values[6102], values[6109]) == (0, 1, 1500)


def test_4pro_v1_ids_with_inputs_from_the_channels(runtime: Runtime) -> None:
    host = runtime.add_device("SHSW-44")
    host.get("relay/2", turn="on")
    host.world.set_load(2, 75)
    host.world.set_input(3, True)
    values = status_tuples(host)
    assert (values[131], values[132], values[148], values[118]) == (75, 1, 1, 0)
    assert 9103 not in values


# --- HTTP /cit/d and loading -----------------------------------------------------------------


def test_http_cit_d_is_a_device_resource_from_fw_1_10(runtime: Runtime) -> None:
    host = runtime.add_device("SHSW-21", settings={"mode": "roller"})
    assert host.get("cit/d")["blk"][2] == {"I": 3, "D": "roller_0"}
    old = runtime.add_device("SHSW-1", fw="20201124-091217/v1.9.0@57ac4ad8")
    with pytest.raises(NotFound):
        old.get("cit/d")


@pytest.mark.parametrize(
    ("fw", "served"),
    [
        ("20210302-000000/v1.10.0@aaaaaaaa", True),
        ("20230913-112003/v1.14.0-gcb84623", True),
        ("20210226-000000/v1.10.0-rc1@aaaaaaa", False),
        ("20200306-150856/v1.6.0-rc6@43056d58", False),
        ("garbage", False),
    ],
)
def test_http_cit_d_firmware_gate(fw: str, served: bool) -> None:
    assert serves_cit_d_over_http(fw) is served


def test_missing_non_optional_value_is_an_error() -> None:
    description = load_model("SHPLG-1", 2).description(None)
    with pytest.raises(MissingValue):
        description.cit_s({"status": {"relays": [{"ison": True}]}})


SEN = {"I": 1101, "T": "S", "D": "output", "L": 1}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"model": "X"}, "no CoIoT v2"),
        ({"model": "X", "v2": {"sen": []}}, "no blk"),
        (
            {"model": "X", "v2": {"blk": [{"I": 1, "D": "relay_0"}], "sen": [SEN]}},
            "needs I and value",
        ),
        (
            {"model": "X", "v2": {"blk": [{"I": 1}], "sen": [{**SEN, "value": "world.x"}]}},
            "must start with",
        ),
        (
            {"model": "X", "v2": {"blk": [{"I": 1}], "sen": [{**SEN, "value": "status.a|nope"}]}},
            "unknown converter",
        ),
        (
            {"model": "X", "v2": {"blk": [{"I": 1}], "sen": [{**SEN, "value": "status.a"}] * 2}},
            "duplicate",
        ),
    ],
)
def test_malformed_description_files_are_rejected(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        parse_model(data, 2, "test.yaml")


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ProfileError, match="mode 'color'"):
        load_model("SHSW-21", 2).description("color")


@pytest.mark.parametrize("model", sorted(all_profiles()))
def test_every_profile_binds_to_its_own_status(runtime: Runtime, model: str) -> None:
    """Each bundled profile's /status carries every non-optional binding of its description."""
    host = runtime.add_device(model)
    description = model_of(host.device.profile).description(host.device.mode)
    required = [s.id for s in description.sensors if not s.binding.optional]
    assert list(status_tuples(host)) == required
