"""Integrator API end to end: token, consent page and callbacks, integrator socket, commands,
actions, revocation, second connections, WRONG_HOST (seed 000, spec/cloud.md §2)."""

from urllib.parse import urljoin

import jwt
import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus

from fake_cloud import FakeCloud
from tests.cloud.conftest import SERVER_A, SERVER_B
from tests.cloud.support import TIMEOUT, CallbackServer, FormReader, wait_online
from tests.cloud.support import browser as make_browser

TAG, SECRET = "ITG_TEST", "itg-secret"
DEVICE = "b92cfa"
DEVICE_DEC = str(int(DEVICE, 16))  # "12135674"


def integrator_token(http: requests.Session, cloud: FakeCloud) -> str:
    answer = http.post(
        f"{cloud.api_url}/integrator/get_access_token", data={"itg": TAG, "token": SECRET}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["isok"] is True
    return body["data"]


@pytest.fixture
def alice(cloud: FakeCloud):
    """A user on server A with one registered (not yet linked) relay, and the integrator."""
    user = cloud.control.create_user("alice@example.com", "alice-pw", SERVER_A)
    relay = {"relays": [{"ison": False, "has_timer": False}]}
    cloud.control.create_device("SHSW-1", user.id, DEVICE, status=relay, online=False)
    cloud.control.create_integrator(TAG, SECRET)
    return user


def test_full_flow_token_consent_socket_status_command(
    cloud, http, alice, callbacks, make_device, make_ws
):
    """Token → consent page → signed callback → WS → device change → command → response."""
    token = integrator_token(http, cloud)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["itg"] == TAG and claims["exp"] - claims["iat"] == 86400

    browser = make_browser(cloud)
    page = browser.get(f"{cloud.my_url}/integrator.html", params={"itg": TAG, "cb": callbacks.url})
    login = FormReader(page.text)
    fields = {**login.fields, "email": "alice@example.com", "password": "alice-pw"}
    page = browser.post(urljoin(page.url, login.action), data=fields)
    consent = FormReader(page.text)
    assert consent.checkboxes == [DEVICE]
    fields = {**consent.fields, "device": DEVICE, f"access_{DEVICE}": "01"}
    page = browser.post(urljoin(page.url, consent.action), data=fields)
    assert page.status_code == 200 and "Saved" in page.text

    callback = callbacks.next()
    assert callback.query == "homey=abc123"  # the cb's own query string survives
    host = cloud.endpoints[SERVER_A].ip
    assert callback.body == {
        "userId": alice.id,
        "deviceId": DEVICE_DEC,
        "deviceType": "relay",
        "deviceCode": "SHSW-1",
        "accessGroups": "01",
        "action": "add",
        "host": host,
        "name": ["SHSW-1"],
    }
    public_key = http.get(f"{cloud.api_url}/_fake/scl-trust-public-key").text
    trust = jwt.decode(callback.headers["SCL-Trust"], public_key, algorithms=["ES384"])
    assert trust["itg"] == TAG and trust["did"] == DEVICE_DEC

    ws = make_ws(token, url=f"wss://{callback.body['host']}:6113/shelly/wss/hk_sock?t={token}")
    device = make_device(DEVICE)
    assert ws.next("Shelly:Online") == {
        "event": "Shelly:Online",
        "deviceId": DEVICE_DEC,
        "online": 1,
    }
    first = ws.next("Shelly:StatusOnChange")
    device.press(0)
    change = ws.next("Shelly:StatusOnChange")
    assert change["deviceId"] == DEVICE_DEC and change["status"]["relays"][0]["ison"] is True
    assert isinstance(change["status"]["serial"], int)
    assert change["status"]["serial"] > first["status"]["serial"]

    ws.send(
        {
            "event": "Shelly:CommandRequest",
            "trid": 7,
            "deviceId": DEVICE_DEC,
            "data": {"cmd": "relay", "params": {"turn": "off", "id": 0}},
        }
    )
    call = device.calls.get(timeout=TIMEOUT)
    assert (call["path"], call["params"]) == ("/relay/0", {"turn": "off"})
    response = ws.next()
    assert response == {
        "event": "Shelly:CommandResponse",
        "trid": 7,
        "deviceId": DEVICE_DEC,
        "user": alice.id,
        "data": {"isok": True},
    }
    moved = ws.next("Shelly:StatusOnChange")
    assert moved["status"]["relays"][0]["ison"] is False
    assert device.status["relays"][0]["ison"] is False


def grant(cloud: FakeCloud, user_id: int, cb: str, access: str = "01", devices=(DEVICE,)):
    results = cloud.control.grant(TAG, user_id, list(devices), cb, access)
    assert all(r.delivered for r in results)
    return results


def verify(ws, device_id: str, trid: int = 1, action: str = "DeviceVerify") -> dict:
    ws.send(
        {
            "event": "Integrator:ActionRequest",
            "trid": trid,
            "data": {"action": action, "deviceId": device_id},
        }
    )
    return ws.next("Integrator:ActionResponse", trid=trid)


def command(ws, trid: int, cmd: str, params: dict, device_id: str = DEVICE_DEC) -> dict:
    request = {"cmd": cmd, "params": params}
    ws.send(
        {"event": "Shelly:CommandRequest", "trid": trid, "deviceId": device_id, "data": request}
    )
    return ws.next("Shelly:CommandResponse", trid=trid)


def test_device_verify_and_get_settings(cloud, http, alice, callbacks, make_device, make_ws):
    """DeviceVerify answers status and access; DeviceGetSettings answers settings (§2.4.4)."""
    grant(cloud, alice.id, callbacks.url)
    ws = make_ws(integrator_token(http, cloud), SERVER_A)
    offline = verify(ws, DEVICE_DEC)["data"]
    assert offline == {"result": "OK", "deviceId": DEVICE_DEC, "accessGroups": "01"}
    make_device(DEVICE)
    wait_online(cloud, DEVICE)
    answer = verify(ws, DEVICE_DEC, trid=2)
    assert answer["user"] == str(alice.id)
    assert answer["data"]["deviceCode"] == "SHSW-1" and answer["data"]["deviceType"] == "relay"
    assert answer["data"]["deviceStatus"]["relays"] == [{"ison": False, "has_timer": False}]
    settings = verify(ws, DEVICE_DEC, trid=3, action="DeviceGetSettings")["data"]
    assert settings["deviceSettings"]["relays"] == [{"name": "Lamp"}]
    assert "deviceStatus" not in settings


def test_wrong_api_parameters(cloud, http, alice, callbacks, make_ws):
    """A malformed ActionRequest answers WRONG_API_PARAMETERS."""
    grant(cloud, alice.id, callbacks.url)
    ws = make_ws(integrator_token(http, cloud), SERVER_A)
    ws.send({"event": "Integrator:ActionRequest", "trid": 4, "data": {"deviceId": DEVICE_DEC}})
    assert ws.next("Integrator:ActionResponse")["data"]["result"] == "WRONG_API_PARAMETERS"
    ws.send({"event": "Integrator:ActionRequest", "trid": 5, "data": {"action": "DeviceVerify"}})
    assert ws.next("Integrator:ActionResponse")["data"]["result"] == "WRONG_API_PARAMETERS"


def test_ungranted_device_is_unauthorized_and_silent(cloud, http, alice, callbacks, make_ws):
    """An integrator never sees a device without consent: no events, UNAUTHORIZED answers."""
    secret = cloud.control.create_device("SHSW-1", alice.id, "c0ffee")
    grant(cloud, alice.id, callbacks.url)
    cloud.control.set_online(DEVICE, True)
    ws = make_ws(integrator_token(http, cloud), SERVER_A)
    assert verify(ws, str(int(secret.id, 16)))["data"]["result"] == "UNAUTHORIZED"
    refused = command(ws, 9, "relay", {"id": 0, "turn": "on"}, str(int(secret.id, 16)))
    assert refused["data"] == {"isok": False, "res": "unauthorized"}
    cloud.control.set_status(secret.id, {"relays": [{"ison": True}]})
    cloud.control.set_status(DEVICE, {"relays": [{"ison": True}]})
    event = ws.next("Shelly:StatusOnChange")
    assert event["deviceId"] == DEVICE_DEC  # the ungranted device's change never came first


def test_read_only_grant_refuses_commands(cloud, http, alice, callbacks, make_device, make_ws):
    """accessGroups "00" streams events but refuses commands (§2.3 bit 0 = control)."""
    grant(cloud, alice.id, callbacks.url, access="00")
    ws = make_ws(integrator_token(http, cloud), SERVER_A)
    device = make_device(DEVICE)
    ws.next("Shelly:Online")
    answer = command(ws, 11, "relay", {"id": 0, "turn": "on"})
    assert answer["data"] == {"isok": False, "res": "unauthorized"}
    assert device.calls.empty()
    assert verify(ws, DEVICE_DEC)["data"]["accessGroups"] == "00"


def test_offline_device_refused_immediately(cloud, http, alice, callbacks, make_ws):
    """A command for an offline device is refused at once; nothing is buffered (seed 002)."""
    grant(cloud, alice.id, callbacks.url)
    ws = make_ws(integrator_token(http, cloud), SERVER_A)
    answer = command(ws, 12, "relay", {"id": 0, "turn": "on"})
    assert answer["data"] == {"isok": False, "res": "device offline"}
    cloud.control.set_online(DEVICE, True)
    ws.next("Shelly:Online", online=1)
    assert cloud.backend.device(DEVICE).status["relays"][0]["ison"] is False


def test_revoke_sends_remove_and_stops_events(cloud, http, alice, callbacks, make_device, make_ws):
    """Unticking on the page sends action=remove and the device's events stop at once."""
    other = cloud.control.create_device("SHSW-1", alice.id, "a1b2c3")
    grant(cloud, alice.id, callbacks.url, devices=(DEVICE, other.id))
    callbacks.next(), callbacks.next()
    ws = make_ws(integrator_token(http, cloud), SERVER_A)
    device = make_device(DEVICE)
    ws.next("Shelly:Online")
    ws.next("Shelly:StatusOnChange")  # the status the device said hello with

    browser = make_browser(cloud)
    url = f"{cloud.my_url}/integrator.html"
    query = {"itg": TAG, "cb": callbacks.url}
    browser.post(
        url, params=query, data={"op": "login", "email": alice.email, "password": "alice-pw"}
    )
    page = browser.post(url, params=query, data={"op": "save", "device": other.id})
    assert page.status_code == 200
    removed = callbacks.next()
    assert removed.body["action"] == "remove" and removed.body["deviceId"] == DEVICE_DEC

    device.press(0)
    cloud.control.set_status(other.id, {"relays": [{"ison": True}]})
    assert ws.next("Shelly:StatusOnChange")["deviceId"] == str(int(other.id, 16))
    assert verify(ws, DEVICE_DEC)["data"]["result"] == "UNAUTHORIZED"
    answer = command(ws, 13, "relay", {"id": 0, "turn": "on"})
    assert answer["data"] == {"isok": False, "res": "unauthorized"}


def test_second_socket_replaces_first(cloud, http, alice, make_ws):
    """Default policy: a second integrator socket to one server closes the first with 4409."""
    token = integrator_token(http, cloud)
    first = make_ws(token, SERVER_A)
    make_ws(token, SERVER_A)
    with pytest.raises(ConnectionClosed) as closed:
        first.next()
    assert closed.value.rcvd.code == 4409


def test_second_socket_rejected_by_policy(cloud, http, alice, make_ws):
    """Policy reject: the second socket is refused with HTTP 409; one per server still works."""
    cloud.control.set_policies(second_connection="reject")
    token = integrator_token(http, cloud)
    make_ws(token, SERVER_A)
    with pytest.raises(InvalidStatus) as refused:
        make_ws(token, SERVER_A)
    assert refused.value.response.status_code == 409
    make_ws(token, SERVER_B)


def test_moved_user_gives_wrong_host(cloud, http, alice, callbacks, make_ws):
    """After a user moves, DeviceVerify on the old server answers WRONG_HOST + host, and the
    device's events flow to the new server's socket (INT-COMM)."""
    grant(cloud, alice.id, callbacks.url)
    token = integrator_token(http, cloud)
    old, new = make_ws(token, SERVER_A), make_ws(token, SERVER_B)
    cloud.control.move_user(alice.id, SERVER_B)
    answer = verify(old, DEVICE_DEC)["data"]
    assert answer["result"] == "WRONG_HOST"
    assert answer["host"] == cloud.endpoints[SERVER_B].ip
    assert verify(new, DEVICE_DEC)["data"]["result"] == "OK"
    cloud.control.set_online(DEVICE, True)
    assert new.next("Shelly:Online")["deviceId"] == DEVICE_DEC


@pytest.mark.parametrize(
    ("cmd", "params", "path", "query"),
    [
        pytest.param("roller", {"id": 0, "go": "up"}, "/roller/0", {"go": "open"}, id="up"),
        pytest.param(
            "roller",
            {"id": 0, "go": "close", "duration": 5},
            "/roller/0",
            {"go": "close", "duration": "5"},
            id="close-duration",
        ),
        pytest.param(
            "roller_to_pos",
            {"id": 0, "pos": 75},
            "/roller/0",
            {"go": "to_pos", "roller_pos": "75"},
            id="to-pos",
        ),
    ],
)
def test_roller_commands_reach_device(
    cloud, http, alice, callbacks, make_device, make_ws, cmd, params, path, query
):
    """Roller commands become Gen1 /roller calls, in both vocabularies (§2.4.2)."""
    cloud.control.create_device("SHSW-25", alice.id, "d00d00", online=False)
    grant(cloud, alice.id, callbacks.url, devices=("d00d00",))
    ws = make_ws(integrator_token(http, cloud), SERVER_A)
    device = make_device("d00d00", code="SHSW-25", relays=0, rollers=1)
    ws.next("Shelly:Online")
    answer = command(ws, 21, cmd, params, str(0xD00D00))
    assert answer["data"] == {"isok": True}
    call = device.calls.get(timeout=TIMEOUT)
    assert (call["path"], call["params"]) == (path, query)


def test_roller_to_pos_needs_calibration(cloud, http, alice, callbacks, make_device, make_ws):
    """roller_to_pos is refused unless rollers[ch].positioning is true (seed 002)."""
    cloud.control.create_device("SHSW-25", alice.id, "d00d00", online=False)
    grant(cloud, alice.id, callbacks.url, devices=("d00d00",))
    ws = make_ws(integrator_token(http, cloud), SERVER_A)
    device = make_device("d00d00", code="SHSW-25", relays=0, rollers=1, positioning=False)
    ws.next("Shelly:Online")
    answer = command(ws, 22, "roller_to_pos", {"id": 0, "pos": 10}, str(0xD00D00))
    assert answer["data"] == {"isok": False, "res": "not calibrated"}
    assert device.calls.empty()


@pytest.mark.parametrize(
    ("params", "res"),
    [
        pytest.param({"id": 3, "turn": "on"}, "invalid channel", id="channel"),
        pytest.param({"turn": "on"}, "bad params", id="no-id"),
        pytest.param({"id": 0, "turn": "sideways"}, "bad params", id="turn"),
    ],
)
def test_bad_commands_refused(cloud, http, alice, callbacks, make_device, make_ws, params, res):
    """Bad channel or params get isok:false with the configured res string (§2.4.3)."""
    grant(cloud, alice.id, callbacks.url)
    ws = make_ws(integrator_token(http, cloud), SERVER_A)
    make_device(DEVICE)
    ws.next("Shelly:Online")
    assert command(ws, 23, "relay", params)["data"] == {"isok": False, "res": res}


def test_settings_push_becomes_settings_event(
    cloud, http, alice, callbacks: CallbackServer, make_device, make_ws
):
    """A settings frame from the device becomes Shelly:Settings (§2.4.1)."""
    grant(cloud, alice.id, callbacks.url)
    ws = make_ws(integrator_token(http, cloud), SERVER_A)
    device = make_device(DEVICE)
    ws.next("Shelly:Online")
    device.send({"type": "settings", "settings": {"name": "Hall", "relays": [{"name": "Hall"}]}})
    event = ws.next("Shelly:Settings")
    assert event == {
        "event": "Shelly:Settings",
        "deviceId": DEVICE_DEC,
        "settings": {"name": "Hall", "relays": [{"name": "Hall"}]},
    }


def test_token_refused_with_wrong_credentials(cloud, http, alice):
    """A wrong itg/token answers isok:false with HTTP 200, as clients expect (§2.2)."""
    url = f"{cloud.api_url}/integrator/get_access_token"
    for fields in ({"itg": TAG, "token": "nope"}, {"itg": "ITG_NOBODY", "token": SECRET}, {}):
        answer = http.post(url, data=fields)
        assert answer.status_code == 200
        assert answer.json() == {
            "isok": False,
            "errors": {"wrong_credentials": "wrong integrator tag or token"},
        }
    as_json = http.post(url, json={"itg": TAG, "token": SECRET}).json()
    as_query = http.post(url, params={"itg": TAG, "token": SECRET}).json()
    assert as_json["isok"] is True and as_query["isok"] is True


def test_consent_page_refusals(cloud, alice, callbacks):
    """Unknown integrator, missing cb, wrong password, cb outside the integrator's pattern."""
    browser = make_browser(cloud)
    url = f"{cloud.my_url}/integrator.html"
    assert browser.get(url, params={"itg": "ITG_NOBODY", "cb": callbacks.url}).status_code == 404
    assert browser.get(url, params={"itg": TAG}).status_code == 400
    query = {"itg": TAG, "cb": callbacks.url}
    login = {"op": "login", "email": alice.email, "password": "wrong"}
    assert browser.post(url, params=query, data=login).status_code == 401
    cloud.control.create_integrator("ITG_STRICT", "s", callback_regex=r"https://strict\.example/.*")
    strict = {"itg": "ITG_STRICT", "cb": callbacks.url}
    browser.post(url, params=strict, data={**login, "password": "alice-pw"})
    page = browser.post(url, params=strict, data={"op": "save", "device": DEVICE})
    assert page.status_code == 400 and "callback pattern" in page.text
    assert callbacks.received.empty()
