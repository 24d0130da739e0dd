"""Cloud Control API v2 ("Communication v2.0-beta") over TLS with requests: get, set/switch,
set/cover, set/light and set/groups — success, each documented error, and the credentials."""

import pytest

from tests.cloud.cc_client import CloudControl, light_status, relay_status, roller_status
from tests.cloud.conftest import SERVER_A, SERVER_B
from tests.cloud.support import TIMEOUT


@pytest.fixture
def alice(cloud):
    return cloud.control.create_user("alice@example.com", "alice-pw", SERVER_A)


@pytest.fixture
def cc(cloud, http, alice):
    return CloudControl(cloud, http, alice.auth_key, SERVER_A)


@pytest.fixture
def devices(cloud, alice):
    make = cloud.control.create_device
    make("SHSW-25", alice.id, "5e1ec7", status=relay_status(2), settings={"name": "Hall"})
    make("SHSW-25", alice.id, "c0c0c0", status=roller_status(), settings={"mode": "roller"})
    make("SHBLB-1", alice.id, "11ee11", status=light_status())
    return cloud.backend


def error_of(response, status=400):
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["data"]["messages"], list) and body["data"]["messages"]
    return body["error"]


def test_get_identity_status_settings_and_pick(cloud, cc, devices):
    plain = cc.v2("/get", {"ids": ["5e1ec7", "c0c0c0", "ffffff"]})
    assert plain.status_code == 200
    assert plain.json() == [
        {"id": "5e1ec7", "type": "relay", "code": "SHSW-25", "gen": "G1", "online": 1},
        {"id": "c0c0c0", "type": "roller", "code": "SHSW-25", "gen": "G1", "online": 1},
    ]
    both = cc.v2("/get", {"ids": ["5e1ec7"], "select": ["status", "settings"]}).json()[0]
    assert both["status"]["relays"][1]["ison"] is False and both["settings"] == {"name": "Hall"}
    picked = cc.v2(
        "/get", {"ids": ["5e1ec7"], "select": ["status"], "pick": {"status": ["serial"]}}
    ).json()
    assert picked[0]["status"] == {"serial": 0}
    cloud.control.set_policies(cc_v2_default_select=["settings"])
    assert cc.v2("/get", {"ids": ["5e1ec7"]}).json()[0]["settings"] == {"name": "Hall"}
    cloud.control.set_online("5e1ec7", False)
    assert cc.v2("/get", {"ids": ["5e1ec7"]}).json()[0]["online"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"ids": []},
        {"ids": [f"{n:06x}" for n in range(11)]},
        {"ids": "5e1ec7"},
        {"ids": ["5e1ec7"], "select": ["everything"]},
        {"ids": ["5e1ec7"], "pick": {"status": "sys"}},
        ["not", "an", "object"],
    ],
)
def test_get_refuses_bad_requests(cc, devices, body):
    assert error_of(cc.v2("/get", body)) == "BAD_REQUEST"


def test_set_switch(cc, devices):
    done = cc.v2("/set/switch", {"id": "5e1ec7", "channel": 1, "on": True, "toggle_after": 30})
    assert (done.status_code, done.text) == (200, "")
    relay = devices.device("5e1ec7").status["relays"][1]
    assert relay["ison"] is True and relay["has_timer"] is True
    assert error_of(cc.v2("/set/switch", {"id": "5e1ec7", "on": "yes"})) == "BAD_REQUEST"
    assert error_of(cc.v2("/set/switch", {"id": "5e1ec7", "channel": 2, "on": True})) == (
        "DEVICE_INVALID_CHANNEL"
    )
    assert error_of(cc.v2("/set/switch", {"id": "c0c0c0", "on": True})) == "DEVICE_INVALID_MODE"
    assert error_of(cc.v2("/set/switch", {"id": "abcdef", "on": True}), 404) == "DEVICE_NOT_FOUND"


def test_set_cover(cc, devices):
    def roller():
        return devices.device("c0c0c0").status["rollers"][0]

    assert cc.v2("/set/cover", {"id": "c0c0c0", "position": "open"}).status_code == 200
    assert roller()["current_pos"] == 100
    assert cc.v2("/set/cover", {"id": "c0c0c0", "position": 25}).status_code == 200
    assert roller()["current_pos"] == 25
    assert cc.v2("/set/cover", {"id": "c0c0c0", "relative": -20}).status_code == 200
    assert roller()["current_pos"] == 5
    for body in (
        {"position": 10, "relative": 5},
        {"position": 10, "duration": 3},
        {"position": "open", "slatPosition": 50},
        {"slatRelative": 5},
        {},
    ):
        assert error_of(cc.v2("/set/cover", {"id": "c0c0c0", **body})) == "BAD_REQUEST", body
    devices.device("c0c0c0").status["rollers"][0]["positioning"] = False
    refused = cc.v2("/set/cover", {"id": "c0c0c0", "position": 50})
    assert error_of(refused) == "DEVICE_FAILED_COMMAND"
    assert error_of(cc.v2("/set/cover", {"id": "5e1ec7", "position": 50})) == (
        "DEVICE_INVALID_MODE"
    )


def test_set_light(cc, devices):
    body = {"id": "11ee11", "on": True, "mode": "white", "temperature": 3000, "brightness": 80}
    assert cc.v2("/set/light", body).status_code == 200
    light = devices.device("11ee11").status["lights"][0]
    assert (light["ison"], light["mode"], light["temp"], light["brightness"]) == (
        True,
        "white",
        3000,
        80,
    )
    assert error_of(cc.v2("/set/light", {"id": "11ee11", "effect": 9})) == "BAD_REQUEST"
    assert error_of(cc.v2("/set/light", {"id": "5e1ec7", "on": True})) == "DEVICE_INVALID_MODE"


def test_offline_and_silent_devices(cloud, cc, devices, make_device):
    cloud.control.set_online("5e1ec7", False)
    assert error_of(cc.v2("/set/switch", {"id": "5e1ec7", "on": True})) == "DEVICE_OFFLINE"
    cloud.control.set_policies(command_timeout=0.2)
    silent = make_device("d1d1d1", answer=False)
    assert error_of(cc.v2("/set/switch", {"id": "d1d1d1", "on": True})) == "DEVICE_FAILED_COMMAND"
    assert silent.calls.get(timeout=TIMEOUT)["path"] == "/relay/0"


def test_groups(cloud, cc, devices):
    owner = cloud.backend.device("5e1ec7").owner
    cloud.control.create_device("SHSW-1", owner, "0ff0ff", status=relay_status(), online=False)
    body = {
        "switch": {"ids": ["5e1ec7_0", "5e1ec7", "5e1ec7_1"], "command": {"on": True}},
        "cover": {"ids": ["c0c0c0_0"], "command": {"position": "close"}},
        "light": {"ids": ["11ee11_0"], "command": {"on": True, "gain": 30}},
    }
    done = cc.v2("/set/groups", body)
    assert (done.status_code, done.text) == (200, "")
    assert [r["ison"] for r in devices.device("5e1ec7").status["relays"]] == [True, True]
    assert devices.device("11ee11").status["lights"][0]["gain"] == 30
    partial = cc.v2(
        "/set/groups",
        {"switch": {"ids": ["5e1ec7_1", "c0c0c0_0", "5e1ec7_7", "0ff0ff_0", "abcdef_0"],
                    "command": {"on": False}}},
    )  # fmt: skip
    assert partial.status_code == 200
    assert partial.json() == {
        "failedCommands": {
            "c0c0c0_0": "DEVICE_UNSUPPORTED_COMMAND",
            "5e1ec7_7": "DEVICE_INVALID_CHANNEL",
            "0ff0ff_0": "DEVICE_OFFLINE",
            "abcdef_0": "DEVICE_NOT_FOUND",
        }
    }
    assert devices.device("5e1ec7").status["relays"][1]["ison"] is False
    for bad in (
        {},
        {"dimmer": {"ids": ["5e1ec7_0"], "command": {}}},
        {"switch": {"ids": "5e1ec7_0", "command": {"on": True}}},
        {"switch": {"ids": ["5e1ec7_0"], "command": {"on": "yes"}}},
        {"switch": {"ids": ["5e1ec7_x"], "command": {"on": True}}},
    ):
        assert error_of(cc.v2("/set/groups", bad)) == "BAD_REQUEST", bad


def test_credentials(cloud, cc, http, alice, devices):
    assert error_of(cc.v2("/get", {"ids": ["5e1ec7"]}, key=""), 401) == "UNAUTHORIZED"
    assert error_of(cc.v2("/get", {"ids": ["5e1ec7"]}, key="f" * 64), 401) == "UNAUTHORIZED"
    elsewhere = CloudControl(cloud, http, alice.auth_key, SERVER_B).v2("/get", {"ids": ["1"]})
    assert error_of(elsewhere, 401) == "WRONG_HOST"
    assert elsewhere.json()["data"]["host"] == cloud.server_url(SERVER_A)
    in_body = cc.v2("/get", {"ids": ["5e1ec7"], "auth_key": alice.auth_key}, key="")
    assert in_body.status_code == 200 and in_body.json()[0]["id"] == "5e1ec7"


def test_bearer_token_of_the_account(cloud, cc, http, alice, devices):
    redirect = cloud.control.oauth_authorize(alice.email, "alice-pw", "http://127.0.0.1/cb")
    code = redirect.split("code=", 1)[1]
    token = http.post(
        f"{cc.url}/oauth/auth",
        data={"client_id": "shelly-diy", "grant_type": "code", "code": code},
        timeout=TIMEOUT,
    ).json()["access_token"]
    cloud.control.advance_clock(1)
    answer = http.post(
        f"{cc.url}/v2/devices/api/get",
        json={"ids": ["5e1ec7"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200 and answer.json()[0]["id"] == "5e1ec7"
    cloud.control.advance_clock(1)
    refused = http.post(
        f"{cc.url}/v2/devices/api/get",
        json={"ids": ["5e1ec7"]},
        headers={"Authorization": "Bearer not-a-token"},
        timeout=TIMEOUT,
    )
    assert error_of(refused, 401) == "UNAUTHORIZED"
