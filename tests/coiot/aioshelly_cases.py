"""The models aioshelly is run against (test_aioshelly.py): one ``Case`` per model and mode,
with what aioshelly must read, a command, a physical change and, for sleepers, sleep and wake."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from aioshelly.block_device.device import BlockDevice

from emulator.runtime import DeviceHost

type Status = Mapping[str, Any]
type Expected = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """One model (and mode) as Home Assistant would use it."""

    model: str
    #: Block descriptions aioshelly must build.
    blocks: frozenset[str]
    #: {block: {sensor: value}} that aioshelly must read, from the device's /status and /settings.
    expect: Callable[[Status, Status], Expected]
    #: A physical change on the device, and how aioshelly's blocks show it once pushed.
    change: Callable[[DeviceHost], None]
    pushed: Callable[[BlockDevice], bool]
    #: A command through aioshelly's block API, (block, set_state arguments), and its effect on
    #: /status; None for models without outputs (H&T, Smoke).
    command: tuple[str, dict[str, str]] | None = None
    commanded: Callable[[Status], bool] = lambda status: True
    settings: dict[str, str] = field(default_factory=dict)
    #: Sleeping devices: world actions that send them to sleep after the config flow's
    #: GET /shelly, and wake them; the wake-up publish is then what brings them ONLINE.
    sleep: Callable[[DeviceHost], None] | None = None
    wake: Callable[[DeviceHost], None] | None = None
    #: Hardware plugged in before the client opens the device (the Shelly 1's add-on).
    plug: Callable[[DeviceHost], None] | None = None


def block(device: BlockDevice, description: str) -> Any:
    return next(b for b in device.blocks if b.description == description)


def _inputs(status: Status, channel: int) -> dict[str, Any]:
    entry = status["inputs"][channel]
    return {
        "input": entry["input"],
        "inputEvent": entry["event"],
        "inputEventCnt": entry["event_cnt"],
    }


def _shelly1(status: Status, settings: Status) -> Expected:
    return {
        "relay_0": {"output": int(status["relays"][0]["ison"]), **_inputs(status, 0)},
        # No add-on attached: its sensors exist but have no value, so HA creates no entity.
        "sensor_0": {"extTemp": None, "humidity": None, "extInput": None},
        "device": {"cfgChanged": status["cfg_changed_cnt"]},
    }


def _shelly1_addon(status: Status, settings: Status) -> Expected:
    """A DHT22 on the add-on, its input enabled: sensor_0 carries 3101/3102, 3103 and 3117
    (profiles/coiot/SHSW-1.yaml); probes 2 and 3 (sensor_1, sensor_2) stay without values."""
    probe = status["ext_temperature"]["0"]
    return {
        "relay_0": {"output": int(status["relays"][0]["ison"]), **_inputs(status, 0)},
        "sensor_0": {
            "extTemp": probe["tC"],
            "humidity": status["ext_humidity"]["0"]["hum"],
            "extInput": status["ext_switch"]["0"]["input"],
        },
        "sensor_1": {"extTemp": None},
        "device": {"cfgChanged": status["cfg_changed_cnt"]},
    }


def _plug_dht22(host: DeviceHost) -> None:
    host.world.plug_addon("dht22")
    host.world.set_ext_temperature(0, 21.5)
    host.world.set_ext_humidity(48.3)
    host.world.set_ext_input(True)


def _shelly2_relay(status: Status, settings: Status) -> Expected:
    relays = status["relays"]
    return {
        f"relay_{ch}": {
            "output": int(relays[ch]["ison"]),
            "overpower": int(relays[ch]["overpower"]),
            **_inputs(status, ch),
        }
        for ch in (0, 1)
    } | {
        "device": {
            "power": status["meters"][0]["power"],
            "energy": status["meters"][0]["total"],
            "mode": settings["mode"],
            "cfgChanged": status["cfg_changed_cnt"],
        }
    }


def _shelly2_roller(status: Status, settings: Status) -> Expected:
    roller = status["rollers"][0]
    position = roller["current_pos"]
    return {
        "relay_0": _inputs(status, 0),
        "relay_1": _inputs(status, 1),
        "roller_0": {
            "roller": roller["state"],
            "rollerPos": -1 if position == 101 else position,
            "rollerPower": roller["power"],
            "rollerEnergy": status["meters"][0]["total"],
            "rollerStopReason": roller["stop_reason"],
        },
        "device": {"mode": settings["mode"], "cfgChanged": status["cfg_changed_cnt"]},
    }


def _plug(status: Status, settings: Status) -> Expected:
    meter = status["meters"][0]
    return {
        "relay_0": {
            "output": int(status["relays"][0]["ison"]),
            "power": meter["power"],
            "energy": meter["total"],
            "overpower": int(status["relays"][0]["overpower"]),
            "overpowerValue": meter["overpower"],
        },
        "device": {"cfgChanged": status["cfg_changed_cnt"]},
    }


def _plug_s(status: Status, settings: Status) -> Expected:
    expected = _plug(status, settings)
    expected["device"].update(
        deviceTemp=status["tmp"]["tC"], overtemp=int(status["overtemperature"])
    )
    return expected


def _bulb(status: Status, settings: Status) -> Expected:
    light = status["lights"][0]
    keys = ("red", "green", "blue", "white", "gain", "brightness", "mode")
    return {
        "light_0": {
            "output": int(light["ison"]),
            "colorTemp": light["temp"],
            **{key: light[key] for key in keys},
        },
        "device": {"cfgChanged": status["cfg_changed_cnt"]},
    }


def _press_twice(host: DeviceHost) -> None:
    """H&T and Smoke: a press starts setup mode, the next one sends the device to sleep."""
    host.world.press(0)
    host.world.press(0)


def _sleeper(status: Status, settings: Status) -> Expected:
    return {
        "sensor_0": {"extTemp": status["tmp"]["tC"], "sensorError": int(not status["is_valid"])},
        "device": {"battery": status["bat"]["value"], "wakeupEvent": status["act_reasons"]},
    }


def _ht(status: Status, settings: Status) -> Expected:
    expected = _sleeper(status, settings)
    expected["sensor_0"]["humidity"] = status["hum"]["value"]
    return expected


CASES = [
    pytest.param(
        Case(
            model="SHSW-1",
            blocks=frozenset({"relay_0", "sensor_0", "sensor_1", "sensor_2", "device"}),
            expect=_shelly1,
            command=("relay_0", {"turn": "on"}),
            commanded=lambda status: status["relays"][0]["ison"],
            change=lambda host: host.world.press(0, long=True),
            pushed=lambda d: (
                (block(d, "relay_0").inputEvent, block(d, "relay_0").inputEventCnt) == ("L", 1)
            ),
        ),
        id="SHSW-1",
    ),
    pytest.param(
        Case(
            model="SHSW-1",
            settings={"ext_switch_enable": "true"},
            plug=_plug_dht22,
            blocks=frozenset({"relay_0", "sensor_0", "sensor_1", "sensor_2", "device"}),
            expect=_shelly1_addon,
            change=lambda host: host.world.set_ext_temperature(0, 23.75),
            pushed=lambda d: block(d, "sensor_0").extTemp == 23.75,
        ),
        id="SHSW-1-addon",
    ),
    pytest.param(
        Case(
            model="SHSW-21",
            blocks=frozenset({"relay_0", "relay_1", "device"}),
            expect=_shelly2_relay,
            command=("relay_1", {"turn": "on"}),
            commanded=lambda status: status["relays"][1]["ison"],
            change=lambda host: host.world.set_load(1, 230),
            pushed=lambda d: block(d, "device").power == 230,
        ),
        id="SHSW-21-relay",
    ),
    pytest.param(
        Case(
            model="SHSW-21",
            settings={"mode": "roller"},
            blocks=frozenset({"relay_0", "relay_1", "roller_0", "device"}),
            expect=_shelly2_roller,
            command=("roller_0", {"go": "open"}),
            commanded=lambda status: status["rollers"][0]["state"] == "open",
            change=lambda host: host.world.set_motor_power(0, 150),
            pushed=lambda d: block(d, "roller_0").rollerPower == 150,
        ),
        id="SHSW-21-roller",
    ),
    pytest.param(
        Case(
            model="SHPLG-1",
            blocks=frozenset({"relay_0", "device"}),
            expect=_plug,
            command=("relay_0", {"turn": "off"}),
            commanded=lambda status: not status["relays"][0]["ison"],
            change=lambda host: host.world.press(0),
            pushed=lambda d: block(d, "relay_0").output == 1,
        ),
        id="SHPLG-1",
    ),
    pytest.param(
        Case(
            model="SHPLG-S",
            blocks=frozenset({"relay_0", "device"}),
            expect=_plug_s,
            command=("relay_0", {"turn": "off"}),
            commanded=lambda status: not status["relays"][0]["ison"],
            change=lambda host: host.world.set_device_temperature(51.5),
            pushed=lambda d: block(d, "device").deviceTemp == 51.5,
        ),
        id="SHPLG-S",
    ),
    pytest.param(
        Case(
            model="SHBLB-1",
            blocks=frozenset({"light_0", "device"}),
            expect=_bulb,
            command=("light_0", {"turn": "off"}),
            commanded=lambda status: not status["lights"][0]["ison"],
            change=lambda host: host.world.power_cycle(),  # default_state on
            pushed=lambda d: block(d, "light_0").output == 1,
        ),
        id="SHBLB-1",
    ),
    pytest.param(
        Case(
            model="SHHT-1",
            blocks=frozenset({"sensor_0", "device"}),
            expect=_ht,
            change=lambda host: host.world.set_temperature(30.5),
            pushed=lambda d: block(d, "sensor_0").extTemp == 30.5,
            sleep=_press_twice,
            wake=lambda host: host.world.press(0),  # the button: setup mode, awake 3 min
        ),
        id="SHHT-1",
    ),
    pytest.param(
        Case(
            model="SHSM-01",
            blocks=frozenset({"sensor_0", "device"}),
            expect=_sleeper,
            change=lambda host: host.world.set_smoke(True),
            pushed=lambda d: block(d, "sensor_0").smoke == 1,
            sleep=_press_twice,
            wake=lambda host: host.world.press(0),
        ),
        id="SHSM-01",
    ),
]
