"""Every model's topics against the broker, as the profiles/mqtt tables and their sources say,
and the models whose commands are not relays (roller, bulb), sleepers and the update period."""

from __future__ import annotations

import json

import pytest
import requests

from .watcher import WAIT

#: The state topics each model publishes on connect (DOC, CAP, IOB: profiles/mqtt/*.yaml).
EXPECTED = {
    "SHSW-1": ["relay/0", "input/0", "longpush/0", "input_event/0"],
    "SHSW-21": ["relay/0", "relay/1", "relay/power", "relay/energy", "input/0", "input/1",
                "longpush/0", "longpush/1", "input_event/0", "input_event/1"],
    "SHSW-44": [*(f"relay/{i}" for i in range(4)), *(f"relay/{i}/power" for i in range(4)),
                *(f"relay/{i}/energy" for i in range(4))],
    "SHPLG-1": ["relay/0", "relay/0/power", "relay/0/energy", "relay/0/overpower_value"],
    "SHPLG-S": ["relay/0", "relay/0/power", "relay/0/energy", "relay/0/overpower_value",
                "temperature", "temperature_f", "overtemperature"],
    "SHBLB-1": ["color/0", "color/0/status"],
    "SHSEN-1": ["sensor/motion", "sensor/charger", "sensor/temperature", "sensor/humidity",
                "sensor/lux", "sensor/battery"],
    "SHHT-1": ["sensor/temperature", "sensor/humidity", "sensor/battery", "sensor/error",
               "sensor/act_reasons", "sensor/ext_power"],
    "SHSM-01": ["sensor/temperature", "sensor/smoke", "sensor/battery"],
}  # fmt: skip
COMMON = {"online", "announce", "info"}


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_every_model_publishes_its_topics(model, shelly_device, shelly_mqtt_broker, watch) -> None:
    device = shelly_device(model)
    watcher = watch()
    shelly_mqtt_broker.connect(device)
    prefix = f"shellies/{device.hostname}/"
    wanted = set(EXPECTED[model]) | COMMON
    watcher.wait(
        lambda messages: wanted <= {m.topic.removeprefix(prefix) for m in messages},
        f"all of {sorted(wanted)}",
    )
    seen = {m.topic.removeprefix(prefix) for m in watcher.messages if m.topic.startswith(prefix)}
    assert seen == wanted
    status = requests.get(f"{device.url}/status", timeout=WAIT).json()
    announce = json.loads(watcher.latest("shellies/announce") or "{}")
    assert announce["model"] == model
    assert ("mode" in announce) == (model in ("SHSW-21", "SHBLB-1"))
    for i, relay in enumerate(status.get("relays") or []):
        assert watcher.latest(f"{prefix}relay/{i}") == ("on" if relay["ison"] else "off")
    if "value" in status.get("tmp", {}):
        assert float(watcher.latest(f"{prefix}sensor/temperature") or "nan") == pytest.approx(
            status["tmp"]["value"]
        )


def test_roller_topics_and_commands(shelly_device, shelly_mqtt_broker, watch) -> None:
    device = shelly_device("SHSW-21", settings={"mode": "roller"})
    watcher = watch()
    shelly_mqtt_broker.connect(device)
    prefix = f"shellies/{device.hostname}"
    watcher.wait_for(f"{prefix}/roller/0", "stop")
    assert watcher.wait_for(f"{prefix}/roller/0/pos").payload == "-1"  # not calibrated
    assert watcher.count(f"{prefix}/relay/0") == 0  # relay topics belong to relay mode

    mark = watcher.mark()
    watcher.publish(f"{prefix}/roller/0/command", "open")
    watcher.wait_for(f"{prefix}/roller/0", "open", after=mark)
    assert requests.get(f"{device.url}/roller/0", timeout=WAIT).json()["state"] == "open"
    mark = watcher.mark()
    watcher.publish(f"{prefix}/roller/0/command/pos", "150")  # out of range: ignored
    watcher.publish(f"{prefix}/roller/0/command", "stop")
    watcher.wait_for(f"{prefix}/roller/0", "stop", after=mark)
    assert requests.get(f"{device.url}/roller/0", timeout=WAIT).json()["state"] == "stop"


def test_bulb_set_json(shelly_device, shelly_mqtt_broker, watch) -> None:
    device = shelly_device("SHBLB-1")
    watcher = watch()
    shelly_mqtt_broker.connect(device)
    prefix = f"shellies/{device.hostname}"
    watcher.wait_for(f"{prefix}/color/0/status")

    mark = watcher.mark()
    watcher.publish(f"{prefix}/color/0/set", "not json")
    watcher.publish(f"{prefix}/color/0/set", '{"red": 300}')  # out of range: refused
    watcher.publish(f"{prefix}/color/0/set", '{"turn": "on", "red": 10, "green": 20, "blue": 30}')
    message = watcher.wait(
        lambda ms: any(
            m.topic == f"{prefix}/color/0/status" and json.loads(m.payload)["red"] == 10
            for m in ms[mark:]
        ),
        "color/0/status with red 10",
    )
    statuses = [json.loads(m.payload) for m in message[mark:] if m.topic.endswith("/status")]
    assert all(body["red"] != 300 for body in statuses)
    light = requests.get(f"{device.url}/light/0", timeout=WAIT).json()
    assert (light["red"], light["green"], light["blue"], light["ison"]) == (10, 20, 30, True)
    mark = watcher.mark()
    watcher.publish(f"{prefix}/color/0/command", "off")
    watcher.wait_for(f"{prefix}/color/0", "off", after=mark)


def test_sleeper_connects_only_while_awake(
    shelly_device, shelly_mqtt_broker, watch, manual_clock
) -> None:
    device = shelly_device("SHHT-1")
    watcher = watch()
    shelly_mqtt_broker.connect(device)  # the reboot wakes it (act_reasons poweron)
    prefix = f"shellies/{device.hostname}"
    watcher.wait_for(f"{prefix}/sensor/act_reasons", '["poweron"]')
    watcher.wait_for(f"{prefix}/sensor/humidity", "50.00")

    manual_clock.advance(60)  # the report is over: asleep, disconnected cleanly
    assert device.host.device.asleep
    shelly_mqtt_broker.wait_connected(device, False)
    device.world.set_humidity(70)  # beyond the threshold: wakes and reports
    shelly_mqtt_broker.wait_connected(device, True)
    watcher.wait_for(f"{prefix}/sensor/humidity", "70.00")
    watcher.wait_for(f"{prefix}/sensor/act_reasons", '["sensor"]')
    assert f"{prefix}/online" not in {m.topic for m in watcher.messages if m.payload == "false"}


def test_update_period_republishes_on_the_injected_clock(
    shelly_device, shelly_mqtt_broker, watch, manual_clock
) -> None:
    device = shelly_device("SHSW-1")
    watcher = watch()
    shelly_mqtt_broker.connect(device, mqtt_update_period="5")
    topic = f"shellies/{device.hostname}/relay/0"
    watcher.wait_for(f"shellies/{device.hostname}/info")  # the last message of the connect
    count = watcher.count(f"shellies/{device.hostname}/info")
    manual_clock.advance(5)
    watcher.wait(lambda ms: sum(m.topic == topic for m in ms) == 2, "a second relay/0")
    watcher.wait(
        lambda ms: sum(m.topic.endswith("/info") for m in ms) == count + 1, "a periodic info"
    )


def test_shelly1_addon_topics(shelly_device, shelly_mqtt_broker, watch) -> None:
    """DOC "Shelly1/1PM: MQTT": ext_temperature/<i>, ext_temperature_f/<i>, ext_humidity/<i>
    while sensors are plugged in; ext_switch/<i> while the add-on input is enabled."""
    device = shelly_device(
        "SHSW-1", addon={"sensors": "dht22"}, settings={"ext_switch_enable": "true"}
    )
    device.world.set_ext_temperature(0, 21.5)
    device.world.set_ext_humidity(48.3)
    watcher = watch()
    shelly_mqtt_broker.connect(device)
    prefix = f"shellies/{device.hostname}"
    watcher.wait_for(f"{prefix}/ext_temperature/0", "21.5")
    watcher.wait_for(f"{prefix}/ext_temperature_f/0", "70.7")
    watcher.wait_for(f"{prefix}/ext_humidity/0", "48.3")
    watcher.wait_for(f"{prefix}/ext_switch/0", "0")
    mark = watcher.mark()
    device.world.set_ext_temperature(0, 999)  # the probe stops answering
    watcher.wait_for(f"{prefix}/ext_temperature/0", "999", after=mark)
