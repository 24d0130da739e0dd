"""The fake cloud wired to live emulated devices, walked by real clients: requests for REST,
a websockets client for the integrator and account sockets (seed 000, seed 002).

A relay switched on the device shows up as Shelly:StatusOnChange; a Shelly:CommandRequest
moves the device and comes back as Shelly:CommandResponse.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from emulator.transports.cloud_wiring import cloud_id, link_to_cloud, register_device
from fake_cloud import CloudConfig, FakeCloud
from tests.cloud.support import CallbackServer, WsClient, browser, wait_online

TAG, SECRET = "ITG_EMU", "itg-secret"


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(CloudConfig()) as cloud:
        yield cloud


@pytest.fixture
def linked(cloud, runtime, make_device):
    """A Shelly 1 and a Shelly 2 (roller) owned by alice, linked to the cloud."""
    alice = cloud.control.create_user("alice@example.com", "alice-pw", cloud.server_names[0])
    link_to_cloud(runtime, cloud)
    relay = make_device("SHSW-1")
    roller = make_device("SHSW-21", settings={"mode": "roller"})
    for host in (relay, roller):
        register_device(cloud, host, alice.id)
        wait_online(cloud, cloud_id(host))
    return alice, relay, roller


def dec(host) -> str:
    return str(int(cloud_id(host), 16))


def test_integrator_flow_end_to_end(cloud, linked, runtime) -> None:
    alice, relay, roller = linked
    cloud.control.create_integrator(TAG, SECRET)
    http = browser(cloud)
    token = http.post(
        f"{cloud.api_url}/integrator/get_access_token", data={"itg": TAG, "token": SECRET}
    ).json()["data"]
    callbacks = CallbackServer()
    try:
        cloud.control.grant(TAG, alice.id, [cloud_id(relay), cloud_id(roller)], callbacks.url)
        received = [callbacks.next(), callbacks.next()]
    finally:
        callbacks.stop()
    public_key = http.get(f"{cloud.api_url}/_fake/scl-trust-public-key").text
    for callback in received:
        trust = jwt.decode(callback.headers["SCL-Trust"], public_key, algorithms=["ES384"])
        assert trust["did"] == callback.body["deviceId"]
    assert {c.body["deviceCode"] for c in received} == {"SHSW-1", "SHSW-21"}

    ws = WsClient(cloud.ws_url(token, cloud.server_names[0]), cloud)
    try:
        requests.get(f"{relay.url}/relay/0", params={"turn": "on"}, timeout=5)
        event = ws.next("Shelly:StatusOnChange", deviceId=dec(relay))
        assert event["status"]["relays"][0]["ison"] is True
        first_serial = event["status"]["serial"]
        assert isinstance(first_serial, int)

        ws.send(
            {
                "event": "Shelly:CommandRequest",
                "trid": 41,
                "deviceId": dec(relay),
                "data": {"cmd": "relay", "params": {"id": 0, "turn": "off"}},
            }
        )
        response = ws.next("Shelly:CommandResponse", trid=41)
        assert response["deviceId"] == dec(relay)
        assert relay.status()["relays"][0]["ison"] is False
        event = ws.next("Shelly:StatusOnChange", deviceId=dec(relay))
        assert event["status"]["relays"][0]["ison"] is False
        assert event["status"]["serial"] != first_serial

        ws.send(
            {
                "event": "Shelly:CommandRequest",
                "trid": 42,
                "deviceId": dec(roller),
                "data": {"cmd": "roller", "params": {"id": 0, "go": "open"}},
            }
        )
        ws.next("Shelly:CommandResponse", trid=42)
        assert roller.status()["rollers"][0]["state"] == "open"

        ws.send(
            {
                "event": "Shelly:CommandRequest",
                "trid": 43,
                "deviceId": dec(roller),
                "data": {"cmd": "roller_to_pos", "params": {"id": 0, "pos": 50}},
            }
        )
        refused = ws.next("Shelly:CommandResponse", trid=43)
        assert refused["data"] == {"isok": False, "res": "not calibrated"}
        assert roller.status()["rollers"][0]["state"] == "open"  # untouched

        roller.world.set_travel_time(0, 20)
        roller.get("roller/0/calibrate")
        runtime.advance(40)  # close 20 s, open 20 s: calibrated, fully open
        for _ in range(20):  # the cloud learns of the calibration from the device's pushes
            event = ws.next("Shelly:StatusOnChange", deviceId=dec(roller))
            if event["status"]["rollers"][0]["positioning"]:
                break
        assert event["status"]["rollers"][0]["current_pos"] == 100
        ws.send(
            {
                "event": "Shelly:CommandRequest",
                "trid": 44,
                "deviceId": dec(roller),
                "data": {"cmd": "roller_to_pos", "params": {"id": 0, "pos": 50}},
            }
        )
        assert ws.next("Shelly:CommandResponse", trid=44)["data"]["isok"] is True
        runtime.advance(10)
        assert roller.status()["rollers"][0]["current_pos"] == 50

        relay.get("settings/cloud", enabled="0")  # the device drops its cloud link
        assert ws.next("Shelly:Online", deviceId=dec(relay))["online"] == 0
    finally:
        ws.close()


def test_real_time_events_flow_end_to_end(cloud, linked) -> None:
    _, relay, _ = linked
    session = browser(cloud)
    login = f"{cloud.my_url}/oauth_login.html"
    params = {"client_id": "shelly-diy", "state": "s1", "redirect_uri": "http://127.0.0.1/cb"}
    page = session.get(login, params=params)
    assert page.status_code == 200 and "<form" in page.text
    answer = session.post(
        login,
        params=params,
        data={"email": "alice@example.com", "password": "alice-pw"},
        allow_redirects=False,
    )
    assert answer.status_code in (302, 303)
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    claims = jwt.decode(code, options={"verify_signature": False})
    server_url = claims["user_api_url"]
    token = session.post(
        f"{server_url}/oauth/auth",
        data={"client_id": "shelly-diy", "grant_type": "code", "code": code},
    ).json()["access_token"]
    status = session.get(
        f"{server_url}/device/all_status",
        params={"show_info": "true", "no_shared": "true"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    devices = status["data"]["devices_status"]
    mine = next(d for d in devices.values() if d["_dev_info"]["id"] == cloud_id(relay))
    assert mine["_dev_info"]["online"] is True
    assert mine["_dev_info"]["code"] == "SHSW-1"

    host = urlsplit(server_url).hostname
    ws = WsClient(f"wss://{host}:6113/shelly/wss/hk_sock?t={token}", cloud)
    try:
        relay.world.set_input(0, True)  # the wall switch: btn_type toggle turns it on
        event = ws.next("Shelly:StatusOnChange")
        assert event["device"]["id"] == dec(relay)
        assert event["status"]["relays"][0]["ison"] is True
        ws.send(
            {
                "event": "Shelly:CommandRequest",
                "trid": 5,
                "deviceId": dec(relay),
                "data": {"cmd": "relay", "params": {"id": 0, "turn": "off"}},
            }
        )
        ws.next("Shelly:CommandResponse", trid=5)
        assert relay.status()["relays"][0]["ison"] is False
    finally:
        ws.close()
