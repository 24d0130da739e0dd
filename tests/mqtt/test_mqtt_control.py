"""The control API and fleet files expose MQTT: a group enables it with its settings, and
/_emu/devices/<id> and /_emu/log show the session and the messages."""

from __future__ import annotations

import requests

from emulator.fleet.control import serve
from emulator.transports.net import free_loopback_address

from .watcher import WAIT


def test_fleet_group_enables_mqtt_and_control_api_shows_it(
    shelly_fleet, shelly_mqtt_broker, watch
) -> None:
    watcher = watch()
    fleet = shelly_fleet(
        {
            "devices": [
                {"model": "SHPLG-S", "count": 2, "settings": {
                    "mqtt_enable": True, "mqtt_server": shelly_mqtt_broker.address}},
                {"model": "SHSW-1", "count": 1},
            ]
        }
    )  # fmt: skip
    plugs, relay = [fleet[0], fleet[1]], fleet[2]
    for plug in plugs:
        shelly_mqtt_broker.wait_connected(plug)
        watcher.wait_for(f"shellies/{plug.device.identity.hostname}/relay/0/power")
    assert relay.status()["mqtt"]["connected"] is False
    base = serve(fleet.control, free_loopback_address(8080), 8080)
    try:
        plug_id = plugs[0].device.identity.hostname
        state = requests.get(f"{base}/_emu/devices/{plug_id}", timeout=WAIT).json()
        assert state["mqtt"]["connected"] is True
        assert state["mqtt"]["server"] == shelly_mqtt_broker.address
        assert state["mqtt"]["published"]["relay/0"] == watcher.latest(
            f"shellies/{plug_id}/relay/0"
        )
        assert state["url_actions"] == {
            "btn_on_url": [{"index": 0, "urls": [], "enabled": False}],
            "out_on_url": [{"index": 0, "urls": [], "enabled": False}],
            "out_off_url": [{"index": 0, "urls": [], "enabled": False}],
        }
        relay_id = relay.device.identity.hostname
        assert requests.get(f"{base}/_emu/devices/{relay_id}", timeout=WAIT).json()["mqtt"] is None
        log = requests.get(
            f"{base}/_emu/log", params={"proto": "mqtt", "device": plug_id}, timeout=WAIT
        ).json()
        assert ("PUBLISH", f"shellies/{plug_id}/online", "true") in {
            (entry["method"], entry["path"], entry["query"]) for entry in log
        }
    finally:
        fleet.control.close()
