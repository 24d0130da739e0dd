"""The Cloud Control API against live emulated devices: a command through v1 or v2 (requests
over TLS) moves the device, and the integrator and account sockets (a websockets client) see the
Shelly:StatusOnChange that follows — the cross-API effect. An asleep device is refused at once.
The loose ends of the sockets too: `ir_emit` reaches a Sense's IR emitter, and
`Shelly:JrpcRequest` to a Gen1 device is answered with an error instead of silence.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from emulator.transports.cloud_wiring import cloud_id, link_to_cloud, register_device
from fake_cloud import CloudConfig, FakeCloud, ManualClock
from tests.cloud.cc_client import CloudControl
from tests.cloud.support import CallbackServer, WsClient, browser, wait_online

TAG = "ITG_CC"
PRONTO_B64 = "AAAAbQACAAABVwCsABUGiQ=="  # 0000 006D 0002 0000 0157 00AC 0015 0689


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(CloudConfig(), ManualClock(time.time())) as cloud:
        yield cloud
        cloud.check()


@pytest.fixture
def alice(cloud):
    return cloud.control.create_user("alice@example.com", "alice-pw", cloud.server_names[0])


@pytest.fixture
def cc(cloud, alice):
    return CloudControl(cloud, browser(cloud), alice.auth_key, cloud.server_names[0])


@pytest.fixture
def linked(cloud, runtime, make_device, alice):
    """Link every device the test makes to alice's account; returns the maker. Links are
    closed with their handshake before the runtime stops (a link cut by the runtime's stop
    can leave the cloud's shutdown waiting out the WebSocket close timeout)."""
    link_to_cloud(runtime, cloud)
    made = []

    def make(model: str, **options):
        host = make_device(model, **options)
        register_device(cloud, host, alice.id)
        wait_online(cloud, cloud_id(host))
        made.append(host)
        return host

    yield make
    for host in made:
        host.get("settings/cloud", enabled="0")
        wait_online(cloud, cloud_id(host), online=False)


@pytest.fixture
def integrator(cloud, alice):
    """An integrator granted control of every device alice has, on her server's socket."""
    cloud.control.create_integrator(TAG, "secret")
    callbacks = CallbackServer()
    sockets: list[WsClient] = []

    def connect() -> WsClient:
        devices = [d.id for d in cloud.backend.devices_of(alice.id)]
        cloud.control.grant(TAG, alice.id, devices, callbacks.url)
        token = cloud.control.integrator_token(TAG)
        sockets.append(WsClient(cloud.ws_url(token, cloud.server_names[0]), cloud))
        return sockets[-1]

    yield connect
    for ws in sockets:
        ws.close()
    callbacks.stop()


def dec(host) -> str:
    return str(int(cloud_id(host), 16))


def account_socket(cloud, alice) -> WsClient:
    redirect = cloud.control.oauth_authorize(alice.email, "alice-pw", "http://127.0.0.1/cb")
    code = redirect.split("code=", 1)[1]
    token = (
        browser(cloud)
        .post(
            f"{cloud.server_url()}/oauth/auth",
            data={"client_id": "shelly-diy", "grant_type": "code", "code": code},
        )
        .json()["access_token"]
    )
    return WsClient(cloud.ws_url(token, cloud.server_names[0]), cloud)


def test_v1_relay_control_moves_the_device_and_the_sockets_hear_it(cloud, alice, cc, linked,
                                                                   integrator) -> None:  # fmt: skip
    relay = linked("SHSW-1")
    ws = integrator()
    rte = account_socket(cloud, alice)
    try:
        answer = cc.v1("/device/relay/control", id=cloud_id(relay), channel=0, turn="on")
        assert answer.json() == {"isok": True, "data": {"device_id": cloud_id(relay)}}
        assert relay.status()["relays"][0]["ison"] is True
        event = ws.next("Shelly:StatusOnChange", deviceId=dec(relay))
        assert event["status"]["relays"][0]["ison"] is True
        seen = rte.next("Shelly:StatusOnChange")
        assert seen["device"]["id"] == dec(relay) and seen["status"]["relays"][0]["ison"] is True
        status = cc.v1("/device/status", id=cloud_id(relay)).json()["data"]
        assert status["online"] is True and status["device_status"]["relays"][0]["ison"] is True
    finally:
        rte.close()


def test_v2_switch_and_cover_move_the_devices(cloud, cc, linked, integrator) -> None:
    relay = linked("SHSW-1")
    roller = linked("SHSW-21", settings={"mode": "roller"})
    ws = integrator()
    done = cc.v2("/set/switch", {"id": cloud_id(relay), "on": True, "toggle_after": 60})
    assert (done.status_code, done.text) == (200, "")
    output = relay.status()["relays"][0]
    assert (output["ison"], output["has_timer"]) == (True, True)
    assert ws.next("Shelly:StatusOnChange", deviceId=dec(relay))["status"]["relays"][0]["ison"]
    moving = cc.v2("/set/cover", {"id": cloud_id(roller), "position": "open"})
    assert moving.status_code == 200
    assert roller.status()["rollers"][0]["state"] == "open"
    event = ws.next("Shelly:StatusOnChange", deviceId=dec(roller))
    assert event["status"]["rollers"][0]["state"] == "open"
    listed = cc.v2("/get", {"ids": [cloud_id(roller)], "select": ["status"]}).json()
    assert listed[0]["type"] == "roller" and listed[0]["online"] == 1
    uncalibrated = cc.v2("/set/cover", {"id": cloud_id(roller), "position": 50})
    assert uncalibrated.json()["error"] == "DEVICE_FAILED_COMMAND"


def test_asleep_and_unlinked_devices_are_refused_at_once(cloud, cc, linked, runtime) -> None:
    relay = linked("SHSW-1")
    ht = linked("SHHT-1")  # awake after power-on; it links only in its awake windows
    runtime.advance(60)  # the power-on report is done: asleep
    assert ht.device.asleep is True
    wait_online(cloud, cloud_id(ht), online=False)
    assert cc.v1("/device/status", id=cloud_id(ht)).json()["data"]["online"] is False
    asleep = cc.v2("/set/switch", {"id": cloud_id(ht), "on": True})
    assert (asleep.status_code, asleep.json()["error"]) == (400, "DEVICE_OFFLINE")
    relay.get("settings/cloud", enabled="0")
    wait_online(cloud, cloud_id(relay), online=False)
    refused = cc.v1("/device/relay/control", id=cloud_id(relay), channel=0, turn="on").json()
    assert refused["errors"] == {"device_offline": "device is offline"}
    assert relay.status()["relays"][0]["ison"] is False


def test_ir_emit_reaches_the_sense_and_jrpc_is_answered(cloud, linked, integrator) -> None:
    sense = linked("SHSEN-1")
    sense.get("ir/add", id="1_231_pwr", name="tv - Power", pronto=PRONTO_B64)
    ws = integrator()
    ws.send(
        {
            "event": "Shelly:CommandRequest",
            "trid": 7,
            "deviceId": dec(sense),
            "data": {"cmd": "ir_emit", "params": {"data": "1_231_pwr", "type": "stored"}},
        }
    )
    assert ws.next("Shelly:CommandResponse", trid=7)["data"] == {"isok": True}
    assert [e.code_id for e in sense.world.ir_received()] == ["1_231_pwr"]
    ws.send(
        {
            "event": "Shelly:CommandRequest",
            "trid": 8,
            "deviceId": dec(sense),
            "data": {"cmd": "ir_emit", "params": {"data": "no_such_code", "type": "stored"}},
        }
    )
    refused = ws.next("Shelly:CommandResponse", trid=8)["data"]
    assert refused["isok"] is False and "no_such_code" in refused["res"]
    ws.send(
        {
            "event": "Shelly:JrpcRequest",
            "trid": "t-1",
            "deviceId": dec(sense),
            "method": "Shelly.GetStatus",
            "params": {},
        }
    )
    answer = ws.next("Shelly:JrpcResponse", trid="t-1")
    assert answer["deviceId"] == dec(sense)
    assert answer["response"] == {
        "error": {"code": 404, "message": "No handler for Shelly.GetStatus"}
    }
    ws.send({"event": "Shelly:JrpcRequest", "trid": 9, "deviceId": "1", "method": "Sys.Reboot"})
    assert ws.next("Shelly:JrpcResponse", trid=9)["response"] == {"error": "UNAUTHORIZED"}
