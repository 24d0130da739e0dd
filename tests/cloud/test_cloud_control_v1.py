"""Cloud Control API v1 over TLS with requests: every endpoint's success and each error, the
auth_key's life (account page, password change, server), and the one-call-a-second limit."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cloud.cc_client import CloudControl, light_status, relay_status, roller_status
from tests.cloud.conftest import SERVER_A, SERVER_B
from tests.cloud.support import TIMEOUT, FormReader


@pytest.fixture
def alice(cloud):
    return cloud.control.create_user("alice@example.com", "alice-pw", SERVER_A)


@pytest.fixture
def cc(cloud, http, alice):
    return CloudControl(cloud, http, alice.auth_key, SERVER_A)


@pytest.fixture
def plug(cloud, alice):
    return cloud.control.create_device("SHPLG-S", alice.id, "c0ffee", status=relay_status())


def errors_of(response, status=200):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["isok"] is False
    return body


def test_device_status_by_form_by_query_and_offline(cloud, cc, plug):
    answer = cc.v1("/device/status", id="c0ffee").json()
    assert answer["isok"] is True
    assert answer["data"]["online"] is True
    assert answer["data"]["device_status"]["relays"][0]["ison"] is False
    cloud.control.advance_clock(1)
    by_query = cc.http.get(f"{cc.url}/device/status", params={"id": "C0FFEE", "auth_key": cc.key})
    assert by_query.json()["data"]["device_status"] == answer["data"]["device_status"]
    cloud.control.set_online("c0ffee", False)
    offline = cc.v1("/device/status", id="c0ffee").json()
    assert offline["isok"] is True and offline["data"]["online"] is False


def test_all_status_with_auth_key_has_dev_info(cc, plug):
    devices = cc.v1("/device/all_status").json()["data"]["devices_status"]
    assert devices["c0ffee"]["_dev_info"] == {
        "id": "c0ffee",
        "gen": "G1",
        "code": "SHPLG-S",
        "online": True,
    }
    bare = cc.v1("/device/all_status", show_info="false").json()["data"]["devices_status"]
    assert "_dev_info" not in bare["c0ffee"]


def test_relay_control_moves_the_device(cloud, cc, plug):
    answer = cc.v1("/device/relay/control", id="c0ffee", channel=0, turn="on").json()
    assert answer == {"isok": True, "data": {"device_id": "c0ffee"}}
    assert cloud.backend.device("c0ffee").status["relays"][0]["ison"] is True
    cc.v1("/device/relay/control", id="c0ffee", channel=0, turn="toggle")
    assert cloud.backend.device("c0ffee").status["relays"][0]["ison"] is False


def test_relay_control_on_a_linked_device_is_a_call_on_its_link(cc, alice, make_device):
    device = make_device("b92cfa")
    assert cc.v1("/device/relay/control", id="b92cfa", channel=0, turn="on").json()["isok"]
    call = device.calls.get(timeout=TIMEOUT)
    assert (call["path"], call["params"]) == ("/relay/0", {"turn": "on"})
    assert device.status["relays"][0]["ison"] is True


def test_roller_control_direction_position_and_topos(cloud, cc, alice):
    cloud.control.create_device("SHSW-25", alice.id, "0110aa", status=roller_status())
    assert cc.v1("/device/relay/roller/control", id="0110aa", direction="open").json()["isok"]
    assert cloud.backend.device("0110aa").status["rollers"][0]["current_pos"] == 100
    assert cc.v1("/device/relay/roller/control", id="0110aa", pos=30).json()["isok"]
    assert cloud.backend.device("0110aa").status["rollers"][0]["current_pos"] == 30
    assert cc.v1("/device/relay/roller/control", id="0110aa", go_to_pos=40).json()["isok"]
    assert cc.v1("/device/relay/roller/settings/topos", id="0110aa", pos=55).json()["isok"]
    assert cloud.backend.device("0110aa").status["rollers"][0]["current_pos"] == 55
    both = cc.v1("/device/relay/roller/control", id="0110aa", direction="open", pos=3)
    assert "invalid_params" in errors_of(both)["errors"]
    assert (
        "invalid_params"
        in errors_of(cc.v1("/device/relay/roller/settings/topos", id="0110aa"))["errors"]
    )


def test_roller_position_needs_calibration(cloud, cc, alice):
    cloud.control.create_device("SHSW-25", alice.id, "0110ab", status=roller_status(False))
    refused = cc.v1("/device/relay/roller/control", id="0110ab", pos=30)
    assert "not_calibrated" in errors_of(refused)["errors"]


def test_light_control(cloud, cc, alice):
    cloud.control.create_device("SHBLB-1", alice.id, "11ee11", status=light_status())
    fields = {"turn": "on", "mode": "color", "red": 255, "gain": 40, "channel": 0}
    assert cc.v1("/device/light/control", id="11ee11", **fields).json()["isok"]
    light = cloud.backend.device("11ee11").status["lights"][0]
    assert (light["ison"], light["mode"], light["red"], light["gain"]) == (True, "color", 255, 40)
    too_bright = cc.v1("/device/light/control", id="11ee11", brightness=101)
    assert "invalid_params" in errors_of(too_bright)["errors"]


def test_bulk_control_reports_each_failure(cloud, cc, alice, plug):
    cloud.control.create_device("SHSW-1", alice.id, "0a0a0a", status=relay_status())
    cloud.control.create_device("SHSW-1", alice.id, "0b0b0b", status=relay_status(), online=False)
    ok = cc.v1(
        "/device/relay/bulk_control",
        turn="on",
        devices='[{"id": "c0ffee", "channel": "0"}, {"id": "0a0a0a", "channel": 0}]',
    ).json()
    assert ok == {"isok": True, "data": {"failed": {}}}
    assert all(cloud.backend.device(d).status["relays"][0]["ison"] for d in ("c0ffee", "0a0a0a"))
    mixed = cc.v1(
        "/device/relay/bulk_control",
        turn="off",
        devices='[{"id": "c0ffee", "channel": 0}, {"id": "0b0b0b", "channel": 0},'
        ' {"id": "c0ffee", "channel": 3}, {"id": "dddddd", "channel": 0}]',
    )
    body = errors_of(mixed)
    assert body["data"]["failed"] == {
        "0b0b0b_0": "device_offline",
        "c0ffee_3": "invalid_channel",
        "dddddd_0": "device_not_found",
    }
    assert cloud.backend.device("c0ffee").status["relays"][0]["ison"] is False
    assert "invalid_params" in errors_of(cc.v1("/device/relay/bulk_control", turn="on"))["errors"]


def test_light_and_roller_bulk_control(cloud, cc, alice):
    cloud.control.create_device("SHBLB-1", alice.id, "11ee11", status=light_status())
    cloud.control.create_device("SHSW-25", alice.id, "0110aa", status=roller_status())
    devices = '[{"id": "11ee11", "channel": 0}]'
    light = cc.v1("/device/light/bulk_control", devices=devices, turn="on", brightness=70).json()
    assert light["isok"] and cloud.backend.device("11ee11").status["lights"][0]["brightness"] == 70
    rollers = cc.v1("/device/roller/bulk_control", devices='[{"id": "0110aa"}]', pos=20).json()
    assert rollers["isok"]
    assert cloud.backend.device("0110aa").status["rollers"][0]["current_pos"] == 20


def test_credentials_are_refused(cloud, cc, http, alice, plug):
    missing = http.post(f"{cc.url}/device/status", data={"id": "c0ffee"}, timeout=TIMEOUT)
    assert "invalid_auth_key" in errors_of(missing, 401)["errors"]
    wrong = CloudControl(cloud, http, "0" * 64, SERVER_A).v1("/device/status", id="c0ffee")
    assert "invalid_auth_key" in errors_of(wrong, 401)["errors"]
    elsewhere = CloudControl(cloud, http, alice.auth_key, SERVER_B).v1("/device/status", id="1")
    body = errors_of(elsewhere, 401)
    assert body["errors"] == {"wrong_host": f"this account is served by {cloud.server_url()}"}
    assert body["data"] == {"host": cloud.server_url()}


def test_control_fields_only_from_the_body(cc, plug):
    """Support article: control parameters are "supplied ONLY via the request's body"."""
    in_query = cc.http.post(
        f"{cc.url}/device/relay/control",
        params={"auth_key": cc.key},
        data={"id": "c0ffee", "channel": 0, "turn": "on"},
        timeout=TIMEOUT,
    )
    assert "invalid_auth_key" in errors_of(in_query, 401)["errors"]
    assert cc.http.get(f"{cc.url}/device/relay/control", timeout=TIMEOUT).status_code == 405


def test_moved_account_is_sent_to_its_new_server(cloud, http, alice, plug):
    cloud.control.move_user(alice.id, SERVER_B)
    old = CloudControl(cloud, http, alice.auth_key, SERVER_A).v1("/device/status", id="c0ffee")
    assert errors_of(old, 401)["data"] == {"host": cloud.server_url(SERVER_B)}
    new = CloudControl(cloud, http, alice.auth_key, SERVER_B).v1("/device/status", id="c0ffee")
    assert new.json()["data"]["online"] is True


def test_device_errors(cloud, cc, alice, plug):
    bob = cloud.control.create_user("bob@example.com", "bob-pw", SERVER_A)
    cloud.control.create_device("SHSW-1", bob.id, "b0b0b0", status=relay_status())
    for device_id in ("dddddd", "b0b0b0", ""):
        body = errors_of(cc.v1("/device/relay/control", id=device_id, channel=0, turn="on"))
        assert "device_not_found" in body["errors"] and body["data"] is None
    assert (
        "invalid_params"
        in errors_of(cc.v1("/device/relay/control", id="c0ffee", channel=0, turn="sideways"))[
            "errors"
        ]
    )
    assert (
        "invalid_params"
        in errors_of(cc.v1("/device/relay/control", id="c0ffee", turn="on"))["errors"]
    )
    assert (
        "invalid_channel"
        in errors_of(cc.v1("/device/relay/control", id="c0ffee", channel=1, turn="on"))["errors"]
    )
    cloud.control.set_online("c0ffee", False)
    offline = cc.v1("/device/relay/control", id="c0ffee", channel=0, turn="on")
    assert "device_offline" in errors_of(offline)["errors"]


def test_a_silent_device_times_out_and_a_refusal_is_passed_on(cloud, cc, make_device):
    cloud.control.set_policies(command_timeout=0.2)
    device = make_device("d1d1d1", answer=False)
    silent = cc.v1("/device/relay/control", id="d1d1d1", channel=0, turn="on")
    assert "device_timeout" in errors_of(silent)["errors"]
    device.calls.get(timeout=TIMEOUT)
    cloud.control.set_policies(command_timeout=TIMEOUT)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(cc.v1, "/device/relay/control", id="d1d1d1", channel=0, turn="on")
        call = device.calls.get(timeout=TIMEOUT)
        device.send({"type": "result", "id": call["id"], "code": 400, "error": "Bad turn!"})
        refused = pending.result(TIMEOUT)
    assert errors_of(refused)["errors"] == {"device_error": "Bad turn!"}


def test_one_call_a_second_per_account(cloud, cc, plug):
    assert cc.v1("/device/status", id="c0ffee").json()["isok"]
    limited = cc.raw_v1("/device/status", id="c0ffee")
    assert errors_of(limited, 401)["errors"] == {"max_req": "Request limit reached"}
    limited_v2 = cc.raw_v2("/get", {"ids": ["c0ffee"]})  # v1 and v2 share the budget
    assert limited_v2.status_code == 401 and limited_v2.json()["error"] == "TOO_MANY_REQUESTS"
    cloud.control.set_policies(cc_rate_limit_status=429)
    assert cc.raw_v1("/device/status", id="c0ffee").status_code == 429
    cloud.control.advance_clock(1)
    assert cc.raw_v1("/device/status", id="c0ffee").json()["isok"]
    cloud.control.set_policies(cc_rate_limit=None)
    assert all(cc.raw_v1("/device/status", id="c0ffee").json()["isok"] for _ in range(5))


def test_password_change_changes_the_key(cloud, cc, http, alice, plug):
    old_key = alice.auth_key
    cloud.control.set_password(alice.id, "new-pw")
    new_key = cloud.backend.user(alice.id).auth_key
    assert new_key != old_key
    assert errors_of(cc.v1("/device/status", id="c0ffee"), 401)["errors"]
    fresh = CloudControl(cloud, http, new_key, SERVER_A).v1("/device/status", id="c0ffee")
    assert fresh.json()["isok"] is True
    state_users = cloud.control.state()["users"]
    assert [u["auth_key"] for u in state_users if u["id"] == alice.id] == [new_key]


def test_account_page_shows_key_and_server(cloud, http, alice):
    page = f"{cloud.my_url}/user_settings.html"
    login = FormReader(http.get(page, timeout=TIMEOUT).text)
    assert login.fields["op"] == "login"
    bad = http.post(page, data={"op": "login", "email": alice.email, "password": "x"})
    assert bad.status_code == 401
    shown = http.post(page, data={"op": "login", "email": alice.email, "password": "alice-pw"})
    assert shown.status_code == 200
    assert f'<code id="auth_key">{alice.auth_key}</code>' in shown.text
    assert f'<code id="server_uri">{cloud.server_url(SERVER_A)}</code>' in shown.text


def test_device_and_room_lists(cc, plug):
    devices = cc.v1("/interface/device/list").json()["data"]["devices"]
    assert devices["c0ffee"]["type"] == "SHPLG-S"
    assert devices["c0ffee"]["category"] == "relay"
    assert devices["c0ffee"]["cloud_online"] is True
    assert cc.v1("/interface/room/list").json() == {"isok": True, "data": {"rooms": {}}}


def test_concurrent_calls_are_each_answered(cloud, cc, plug):
    """Four calls at once: one passes the limit, the others are refused, none hangs."""
    cloud.control.advance_clock(1)
    barrier = threading.Barrier(4)

    def call(_: int) -> int:
        barrier.wait(TIMEOUT)
        return cc.raw_v1("/device/status", id="c0ffee").status_code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(call, range(4)))
    assert sorted(codes) == [200, 401, 401, 401]
