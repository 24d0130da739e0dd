"""MQTT against a real broker with a real client: state out, commands in, outages, bad input.
Each test runs against the embedded amqtt broker, and against mosquitto when it is installed."""

from __future__ import annotations

import json

import requests

from .watcher import WAIT


def test_connect_announces_and_publishes_state(shelly_device, shelly_mqtt_broker, watch) -> None:
    device = shelly_device("SHSW-1", settings={"name": "Hall"})
    watcher = watch()
    shelly_mqtt_broker.connect(device)
    mqtt_id = device.hostname
    assert watcher.wait_for(f"shellies/{mqtt_id}/online").payload == "true"
    announce = json.loads(watcher.wait_for("shellies/announce").payload)
    assert announce == {
        "id": mqtt_id,
        "model": "SHSW-1",
        "mac": device.mac,
        "ip": device.ip,
        "new_fw": False,
        "fw_ver": device.settings()["fw"],
    }
    assert json.loads(watcher.wait_for(f"shellies/{mqtt_id}/announce").payload) == announce
    assert watcher.wait_for(f"shellies/{mqtt_id}/relay/0").payload == "off"
    assert watcher.wait_for(f"shellies/{mqtt_id}/input/0").payload == "0"
    info = json.loads(watcher.wait_for(f"shellies/{mqtt_id}/info").payload)
    assert info["relays"] == requests.get(f"{device.url}/status", timeout=WAIT).json()["relays"]
    status = requests.get(f"{device.url}/status", timeout=WAIT).json()
    assert status["mqtt"] == {"connected": True}


def test_http_switch_publishes_and_command_switches(
    shelly_device, shelly_mqtt_broker, watch
) -> None:
    device = shelly_device("SHSW-1")
    watcher = watch()
    shelly_mqtt_broker.connect(device)
    prefix = f"shellies/{device.hostname}"
    watcher.wait_for(f"{prefix}/relay/0", "off")

    mark = watcher.mark()
    requests.get(f"{device.url}/relay/0?turn=on", timeout=WAIT).raise_for_status()
    watcher.wait_for(f"{prefix}/relay/0", "on", after=mark)

    mark = watcher.mark()
    watcher.publish(f"{prefix}/relay/0/command", "off")
    watcher.wait_for(f"{prefix}/relay/0", "off", after=mark)
    assert requests.get(f"{device.url}/relay/0", timeout=WAIT).json()["ison"] is False

    mark = watcher.mark()
    watcher.publish(f"{prefix}/relay/0/command", "toggle")
    watcher.wait_for(f"{prefix}/relay/0", "on", after=mark)
    assert requests.get(f"{device.url}/relay/0", timeout=WAIT).json()["ison"] is True


def test_bad_command_payloads_are_ignored(shelly_device, shelly_mqtt_broker, watch) -> None:
    device = shelly_device("SHSW-1")
    watcher = watch()
    shelly_mqtt_broker.connect(device)
    prefix = f"shellies/{device.hostname}"
    watcher.wait_for(f"{prefix}/relay/0", "off")
    before = requests.get(f"{device.url}/settings", timeout=WAIT).json()
    for topic, payload in [
        (f"{prefix}/relay/0/command", "ON"),
        (f"{prefix}/relay/0/command", ""),
        (f"{prefix}/relay/0/command", '{"turn": "on"}'),
        (f"{prefix}/relay/0/command", "\xff\xfe"),
        (f"{prefix}/relay/9/command", "on"),
        (f"{prefix}/command", "reboot"),
        ("shellies/command", "factory_reset"),
    ]:
        watcher.publish(topic, payload)
    # A good command sent after the bad ones is served: the bad ones came first and did nothing.
    mark = watcher.mark()
    watcher.publish(f"{prefix}/relay/0/command", "on")
    watcher.wait_for(f"{prefix}/relay/0", "on", after=mark)
    assert [m.payload for m in watcher.messages[mark:] if m.topic == f"{prefix}/relay/0"] == ["on"]
    after = requests.get(f"{device.url}/settings", timeout=WAIT).json()
    assert {k: v for k, v in after.items() if k not in ("time", "unixtime", "relays")} == {
        k: v for k, v in before.items() if k not in ("time", "unixtime", "relays")
    }
    assert device.status()["mqtt"]["connected"] is True


def test_common_commands_announce_and_update(shelly_device, shelly_mqtt_broker, watch) -> None:
    device = shelly_device("SHPLG-S")
    watcher = watch()
    shelly_mqtt_broker.connect(device)
    prefix = f"shellies/{device.hostname}"
    watcher.wait_for(f"{prefix}/relay/0/power")

    mark = watcher.mark()
    watcher.publish("shellies/command", "announce")
    watcher.wait_for("shellies/announce", after=mark)
    watcher.wait_for(f"{prefix}/announce", after=mark)
    watcher.wait_for(f"{prefix}/info", after=mark)

    mark = watcher.mark()
    watcher.publish(f"{prefix}/command", "update")
    for topic in ("relay/0", "relay/0/power", "relay/0/energy", "temperature", "overtemperature"):
        watcher.wait_for(f"{prefix}/{topic}", after=mark)


def test_broker_outage_reconnects_and_reannounces(shelly_device, shelly_mqtt_broker, watch) -> None:
    device = shelly_device("SHSW-1")
    shelly_mqtt_broker.connect(
        device, mqtt_reconnect_timeout_min="1", mqtt_reconnect_timeout_max="2"
    )
    shelly_mqtt_broker.stop()
    shelly_mqtt_broker.wait_connected(device, False)
    assert requests.get(f"{device.url}/status", timeout=WAIT).json()["mqtt"]["connected"] is False
    # The device keeps working without its broker.
    requests.get(f"{device.url}/relay/0?turn=on", timeout=WAIT).raise_for_status()

    shelly_mqtt_broker.start()
    watcher = watch()
    shelly_mqtt_broker.wait_connected(device, True, timeout=WAIT)
    prefix = f"shellies/{device.hostname}"
    # A client that subscribed before the device came back sees it come back: online, announce,
    # and the state it reached while away.
    watcher.wait_for(f"{prefix}/online", "true")
    watcher.wait_for("shellies/announce")
    watcher.wait_for(f"{prefix}/relay/0", "on")


def test_custom_mqtt_id_and_retain(shelly_device, shelly_mqtt_broker, watch) -> None:
    device = shelly_device("SHPLG-S")
    first = watch("shellies/kitchen-plug/#")
    shelly_mqtt_broker.connect(device, mqtt_id="kitchen-plug", mqtt_retain="1")
    assert first.wait_for("shellies/kitchen-plug/relay/0").retain is False  # delivered live
    # Retained state reaches a client that subscribes later, under the custom id.
    watcher = watch("shellies/kitchen-plug/#")
    message = watcher.wait_for("shellies/kitchen-plug/relay/0")
    assert message.retain is True
    assert message.payload == ("on" if device.status()["relays"][0]["ison"] else "off")


def test_enabling_mqtt_turns_the_cloud_off(shelly_device) -> None:
    device = shelly_device("SHSW-1")
    requests.get(f"{device.url}/settings/cloud?enabled=1", timeout=WAIT).raise_for_status()
    settings = requests.get(f"{device.url}/settings?mqtt_enable=1", timeout=WAIT).json()
    assert settings["mqtt"]["enable"] is True
    assert settings["cloud"]["enabled"] is False


def test_mqtt_password_is_kept_secret(shelly_device) -> None:
    device = shelly_device("SHSW-1")
    settings = requests.get(
        f"{device.url}/settings?mqtt_user=u1&mqtt_pass=s3cret", timeout=WAIT
    ).json()
    assert settings["mqtt"]["user"] == "u1"
    assert "s3cret" not in json.dumps(settings)


def test_reboot_reconnects_and_reannounces(shelly_device, shelly_mqtt_broker, watch) -> None:
    device = shelly_device("SHSW-1")
    shelly_mqtt_broker.connect(device)
    watcher = watch()
    requests.get(f"{device.url}/reboot", timeout=WAIT).raise_for_status()
    watcher.wait_for(f"shellies/{device.hostname}/online", "true")
    watcher.wait_for("shellies/announce")
    shelly_mqtt_broker.wait_connected(device, True)
