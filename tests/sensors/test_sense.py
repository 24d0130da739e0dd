"""Shelly Sense (SHSEN-1) over real HTTP: sensors, motion, settings and its weekly IR schedule,
/ir/list, /ir/add, /ir/remove, /ir/emit, what was sent, and persistence of stored codes."""

from __future__ import annotations

import base64

import pytest

from emulator.runtime import Runtime

from .helpers import get, get_json, state

#: A real pronto code (NEC, 38 kHz carrier word 006D), 2 + 0 burst pairs.
PRONTO_HEX = "0000 006D 0002 0000 0157 00AC 0015 0689"
PRONTO_B64 = base64.b64encode(bytes.fromhex(PRONTO_HEX.replace(" ", ""))).decode()
OTHER_HEX = "0000 0073 0001 0001 0020 0040 0020 0C00"


@pytest.fixture
def sense(make_device):
    return make_device("SHSEN-1")


def add(host, code_id: str, name: str = "tv - Power", pronto: str = PRONTO_B64):
    return get_json(host, "ir/add", id=code_id, name=name, pronto=pronto)


def test_status_reports_what_the_world_measures(sense):
    sense.world.set_temperature(24.249284)
    sense.world.set_humidity(44.250477)
    sense.world.set_lux(12.987013)
    sense.world.set_battery(40)
    sense.world.set_charger(True)
    status = get_json(sense, "status")
    assert status["tmp"] == {"value": 24.249284, "is_valid": True, "units": "C"}
    assert status["hum"] == {"value": 44.250477, "is_valid": True}
    assert status["lux"] == {"value": 12.987013, "is_valid": True}
    assert status["bat"] == {"value": 40} and status["charger"] is True
    get_json(sense, "settings", temperature_units="F")
    assert get_json(sense, "status")["tmp"]["value"] == pytest.approx(75.648711)


def test_motion_lingers_for_motion_duration(sense, runtime):
    """The flag rises with movement and falls pir_motion_duration_time s after it stops."""
    get_json(sense, "settings", pir_motion_duration_time=30)
    sense.world.set_motion(True)
    assert get_json(sense, "status")["motion"] is True
    runtime.advance(100)
    sense.world.set_motion(False)
    runtime.advance(29)
    assert get_json(sense, "status")["motion"] is True
    runtime.advance(1)
    assert get_json(sense, "status")["motion"] is False


def test_sensor_settings_parameters(sense):
    """Seed 003 Sense /settings: pir_motion_duration_time, motion_led, temperature_units."""
    settings = get_json(
        sense, "settings", pir_motion_duration_time=45, motion_led=1, temperature_units="F"
    )
    assert settings["sensors"] == {
        "motion_duration": 45,
        "motion_led": True,
        "temperature_unit": "F",
    }


def test_ir_add_list_remove(sense):
    add(sense, "1_231_pwr", "tv(231) - Power")
    add(sense, "1_231_mute", "tv(231) - Mute")
    add(sense, "6_546_pwr", "receiver(546) - Power")
    assert get_json(sense, "ir/list") == [
        ["1_231_pwr", "tv(231) - Power"],
        ["1_231_mute", "tv(231) - Mute"],
        ["6_546_pwr", "receiver(546) - Power"],
    ]
    assert get_json(sense, "ir/remove", prefix="1_231") == [["6_546_pwr", "receiver(546) - Power"]]
    add(sense, "1_231_pwr")
    assert get_json(sense, "ir/remove", id="6_546_pwr") == [["1_231_pwr", "tv - Power"]]
    assert get_json(sense, "ir/remove", all=1) == []
    assert get_json(sense, "status")["cfg_changed_cnt"] == 7  # stored codes are configuration


def test_ir_emit_is_recorded_for_assertions(sense, runtime):
    """Stored by id, base64 pronto or hex pronto: the world sees the same hex words."""
    add(sense, "1_231_pwr")
    assert get_json(sense, "ir/emit", type="stored", id="1_231_pwr") == {}
    runtime.advance(1)
    get_json(sense, "ir/emit", type="pronto", pronto=PRONTO_B64)
    get_json(sense, "ir/emit", type="pronto", pronto_hex=OTHER_HEX.replace(" ", "").lower())
    sent = sense.world.ir_received()
    assert [(e.source, e.code_id, e.pronto) for e in sent] == [
        ("http", "1_231_pwr", PRONTO_HEX),
        ("http", None, PRONTO_HEX),
        ("http", None, OTHER_HEX),
    ]
    assert sent[1].unix == sent[0].unix + 1


def test_schedule_rules_name_stored_codes_and_run_on_the_clock(sense, runtime):
    """HHMM-DAYS-ID, days from Monday = 0. ManualClock starts Monday 2024-01-01 00:00 UTC."""
    bad = get(sense, "settings", schedule_rules="0730-0123456-1_231_pwr")
    assert bad.status_code == 400  # not stored yet
    add(sense, "1_231_pwr")
    add(sense, "1_231_mute")
    settings = get_json(
        sense, "settings", schedule=1, schedule_rules="0730-01-1_231_pwr,2200-1-1_231_mute"
    )
    assert settings["schedule"] is True
    assert settings["schedule_rules"] == ["0730-01-1_231_pwr", "2200-1-1_231_mute"]
    runtime.advance(7.5 * 3600)  # Monday 07:30
    runtime.advance(24 * 3600)  # Tuesday 07:30
    runtime.advance(14.5 * 3600)  # Tuesday 22:00
    runtime.advance(5 * 24 * 3600)  # to Sunday 22:00: nothing (Monday and Tuesday only)
    sent = [(e.code_id, e.unix - 1_704_067_200) for e in sense.world.ir_received()]
    assert sent == [("1_231_pwr", 27000), ("1_231_pwr", 113400), ("1_231_mute", 165600)]
    assert all(e.source == "schedule" for e in sense.world.ir_received())


def test_schedule_follows_local_time(sense, runtime):
    add(sense, "1_231_pwr")
    get_json(sense, "settings", tz_utc_offset=3600, schedule=1, schedule_rules="0100-0-1_231_pwr")
    runtime.advance(1)  # 01:00 local on Monday is 00:00 UTC: just past
    runtime.advance(7 * 24 * 3600)
    assert [e.unix - 1_704_067_200 for e in sense.world.ir_received()] == [7 * 24 * 3600]


def test_stored_codes_survive_a_restart_and_a_factory_reset_clears_them(runtime, tmp_path):
    with Runtime(clock=runtime.clock, state_dir=tmp_path) as first:
        host = first.add_device("SHSEN-1", mac="D43639000001")
        host.get("ir/add", id="1_231_pwr", name="tv - Power", pronto=PRONTO_B64)
    with Runtime(clock=runtime.clock, state_dir=tmp_path) as second:
        host = second.add_device("SHSEN-1", mac="D43639000001")
        assert host.get("ir/list") == [["1_231_pwr", "tv - Power"]]
        host.get("ir/emit", type="stored", id="1_231_pwr")
        assert host.world.ir_received()[0].pronto == PRONTO_HEX
        host.get("settings", reset=1)
        assert host.get("ir/list") == []


BAD_IR = [
    ("ir/add", {"name": "x", "pronto": PRONTO_B64}),
    ("ir/add", {"id": "a", "pronto": PRONTO_B64}),
    ("ir/add", {"id": "a", "name": "x"}),
    ("ir/add", {"id": "a-b", "name": "x", "pronto": PRONTO_B64}),
    ("ir/add", {"id": "a,b", "name": "x", "pronto": PRONTO_B64}),
    ("ir/add", {"id": "", "name": "x", "pronto": PRONTO_B64}),
    ("ir/add", {"id": "a", "name": "", "pronto": PRONTO_B64}),
    ("ir/add", {"id": "a", "name": "x" * 101, "pronto": PRONTO_B64}),
    ("ir/add", {"id": "a", "name": "x", "pronto": "not base64!"}),
    ("ir/add", {"id": "a", "name": "x", "pronto": "AAAA"}),
    ("ir/add", {"id": "a", "name": "x", "pronto": PRONTO_B64[:-4]}),
    ("ir/remove", {}),
    ("ir/remove", {"id": "nope"}),
    ("ir/remove", {"id": "1_231_pwr", "all": "1"}),
    ("ir/remove", {"all": "0"}),
    ("ir/remove", {"prefix": ""}),
    ("ir/emit", {}),
    ("ir/emit", {"type": "stored"}),
    ("ir/emit", {"type": "stored", "id": "nope"}),
    ("ir/emit", {"type": "raw", "id": "1_231_pwr"}),
    ("ir/emit", {"type": "pronto"}),
    ("ir/emit", {"type": "pronto", "pronto": PRONTO_B64, "pronto_hex": PRONTO_HEX}),
    ("ir/emit", {"type": "pronto", "pronto_hex": "0000 006D 0002"}),
    ("ir/emit", {"type": "pronto", "pronto_hex": "zzzz 006D 0001 0000 0157 00AC"}),
    ("settings", {"schedule_rules": "0730-01-nope"}),
    ("settings", {"schedule_rules": "2400-01-1_231_pwr"}),
    ("settings", {"schedule_rules": "0730-7-1_231_pwr"}),
    ("settings", {"schedule_rules": "0730--1_231_pwr"}),
    ("settings", {"schedule_rules": "0730-01"}),
    ("settings", {"schedule": "1", "schedule_rules": "0730-01-1_231_pwr,x"}),
    ("settings", {"pir_motion_duration_time": "0"}),
    ("settings", {"temperature_units": "K"}),
]


@pytest.mark.parametrize(
    ("path", "params"), BAD_IR, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BAD_IR)]
)
def test_bad_input_is_a_4xx_and_changes_nothing(sense, path, params):
    add(sense, "1_231_pwr")
    before = state(sense), get_json(sense, "ir/list")
    response = get(sense, path, **params)
    assert 400 <= response.status_code < 500, response.text
    assert (state(sense), get_json(sense, "ir/list")) == before
    assert [e.code_id for e in sense.world.ir_received()] == []
