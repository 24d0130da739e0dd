"""Control plane over HTTP (`/_fake/…`): seed, reset, accounts, servers, tokens, sockets,
offline devices, faults, recorder, clock, policies (spec/cloud.md §7)."""

import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from fake_cloud import FakeCloud
from tests.cloud.conftest import SERVER_A
from tests.cloud.support import TIMEOUT, WsClient, wait_online

TAG = "ITG_CTL"


def fake(http, cloud: FakeCloud, method: str, path: str, **body):
    answer = http.request(method, f"{cloud.api_url}/_fake{path}", json=body or None)
    return answer.status_code, answer.json()


def ok(http, cloud: FakeCloud, method: str, path: str, **body):
    status, answer = fake(http, cloud, method, path, **body)
    assert status == 200 and answer["isok"] is True, answer
    return answer["data"]


@pytest.fixture
def world(cloud, http):
    """Over HTTP: a user on server A, an online relay, an integrator with a read+control
    grant (callback to an unreachable URL is not needed: grant with a live server)."""
    user = ok(http, cloud, "POST", "/users", email="u@example.com", password="pw", server=SERVER_A)
    relay = {"relays": [{"ison": False}], "temperature": 20}
    device = ok(http, cloud, "POST", "/devices", code="SHSW-1", owner=user["id"], status=relay)
    ok(http, cloud, "POST", "/integrators", tag=TAG, token="t")
    return user, device


def account_ws(cloud: FakeCloud, user: dict) -> WsClient:
    url = cloud.control.oauth_authorize(user["email"], user["password"], "https://x.example/")
    code = url.split("code=")[1].split("&")[0]
    token = cloud.services.authority.exchange("code", code, "shelly-diy", user["server"])
    return WsClient(cloud.ws_url(token["access_token"], user["server"]), cloud)


def test_seed_is_deterministic(cloud, http):
    """The same seed gives the same ids and secrets; another seed gives others."""
    keys = ("users", "devices", "integrators")
    first = ok(http, cloud, "POST", "/seed", seed=42)
    again = ok(http, cloud, "POST", "/seed", seed=42)
    other = ok(http, cloud, "POST", "/seed", seed=43)
    assert [first[k] for k in keys] == [again[k] for k in keys]
    assert first["users"][0]["id"] != other["users"][0]["id"]
    assert first["integrators"][0]["token"] != other["integrators"][0]["token"]
    ok(http, cloud, "POST", "/reset")
    assert ok(http, cloud, "GET", "/state")["users"] == []


def test_grant_and_revoke_headless(cloud, http, world, callbacks):
    """POST /_fake/grants fires the add callback; DELETE fires remove (same as the page)."""
    user, device = world
    body = {"tag": TAG, "user": user["id"], "devices": [device["id"]], "cb": callbacks.url}
    results = ok(http, cloud, "POST", "/grants", **body, access="00")
    assert results[0]["delivered"] is True and results[0]["status"] == 200
    assert callbacks.next().body["accessGroups"] == "00"
    removed = ok(http, cloud, "DELETE", "/grants", tag=TAG, devices=[device["id"]])
    assert removed[0]["action"] == "remove"
    assert callbacks.next().body["action"] == "remove"
    assert ok(http, cloud, "GET", "/state")["grants"] == []


def test_move_user(cloud, http, world):
    user, _ = world
    ok(http, cloud, "POST", f"/users/{user['id']}/move", server="shelly-14-eu")
    state = ok(http, cloud, "GET", "/state")
    assert state["users"][0]["server"] == "shelly-14-eu"
    assert state["devices"][0]["server"] == "shelly-14-eu"


def test_add_server(cloud, http):
    """A server added at run time gets its own address, REST and WSS listeners."""
    server = ok(http, cloud, "POST", "/servers", name="shelly-99-eu")
    assert server["name"] == "shelly-99-eu" and server["api_url"].startswith("https://127.")
    user = ok(
        http, cloud, "POST", "/users", email="n@example.com", password="p", server="shelly-99-eu"
    )
    ws = account_ws(cloud, user)
    ok(http, cloud, "POST", "/devices", code="SHSW-1", owner=user["id"], device_id="0f0f0f")
    ok(http, cloud, "POST", "/devices/0f0f0f/status", status={"relays": [{"ison": True}]})
    assert ws.next("Shelly:StatusOnChange")["device"]["id"] == str(0x0F0F0F)
    ws.close()
    status, _ = fake(http, cloud, "POST", "/servers", name="shelly-99-eu")
    assert status == 409


def test_expire_and_forge_tokens(cloud, http, world):
    """Expired or forged tokens are refused at the upgrade."""
    token = ok(http, cloud, "POST", f"/integrators/{TAG}/token")
    WsClient(cloud.ws_url(token, SERVER_A), cloud).close()
    ok(http, cloud, "POST", "/tokens/expire", token=token)
    forged = ok(http, cloud, "POST", "/tokens/forge", claims={"itg": TAG, "exp": 2**40})
    for bad in (token, forged):
        with pytest.raises(InvalidStatus):
            WsClient(cloud.ws_url(bad, SERVER_A), cloud)


def test_clock_advance_expires_integrator_token(cloud, http, world):
    token = ok(http, cloud, "POST", f"/integrators/{TAG}/token")
    ok(http, cloud, "POST", "/clock", seconds=86400)
    with pytest.raises(InvalidStatus):
        WsClient(cloud.ws_url(token, SERVER_A), cloud)


def test_drop_socket(cloud, http, world):
    """Dropping cuts the TCP connection without a close frame (a network failure)."""
    ws = account_ws(cloud, world[0])
    sockets = ok(http, cloud, "GET", "/sockets")
    assert [s["kind"] for s in sockets] == ["account"]
    assert ok(http, cloud, "POST", f"/sockets/{sockets[0]['id']}/drop") is True
    with pytest.raises(ConnectionClosed) as closed:
        ws.next()
    assert closed.value.rcvd is None


def test_freeze_socket(cloud, http, world):
    """A frozen socket neither reads nor gets events; thawed, it answers what was waiting."""
    user, device = world
    ws = account_ws(cloud, user)
    sid = ok(http, cloud, "GET", "/sockets")[0]["id"]
    ok(http, cloud, "POST", f"/sockets/{sid}/freeze", frozen=True)
    ws.send({"event": "Shelly:CommandRequest", "trid": 1, "deviceId": "0", "data": {}})
    ok(http, cloud, "POST", f"/devices/{device['id']}/status", status={"temperature": 21})
    ok(http, cloud, "POST", f"/sockets/{sid}/freeze", frozen=False)
    assert ws.next()["event"] == "Shelly:CommandResponse"
    ws.close()


def test_set_offline_cuts_and_refuses_link(cloud, http, world, make_device):
    """Offline cuts a live link with 4403 and refuses it until set online again."""
    user, _ = world
    ws = account_ws(cloud, user)
    ok(
        http,
        cloud,
        "POST",
        "/devices",
        code="SHSW-1",
        owner=user["id"],
        device_id="a0a0a0",
        online=False,
    )
    device = make_device("a0a0a0")
    assert ws.next("Shelly:Online")["online"] == 1
    ok(http, cloud, "POST", "/devices/a0a0a0/online", online=False)
    assert ws.next("Shelly:Online")["online"] == 0
    assert device.wait_closed() == 4403
    with connect(cloud.link_url("a0a0a0"), ssl=cloud.client_ssl_context()) as again:
        with pytest.raises(ConnectionClosed) as refused:
            again.recv(timeout=TIMEOUT)
        assert refused.value.rcvd.code == 4403
    ok(http, cloud, "POST", "/devices/a0a0a0/online", online=True)
    make_device("a0a0a0")
    wait_online(cloud, "a0a0a0")
    ws.close()


def test_rest_fault_skip_then_fail(cloud, http, world):
    """skip-N/fail-M: the first call passes, the second fails, the third passes."""
    spec = {"target": "rest:/integrator/*", "error": "boom", "status": 503, "skip": 1, "count": 1}
    ok(http, cloud, "POST", "/faults", **spec)
    url = f"{cloud.api_url}/integrator/get_access_token"
    answers = [http.post(url, data={"itg": TAG, "token": "t"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 503, 200]
    assert answers[1].json() == {"isok": False, "errors": {"fault": "boom"}}
    assert (
        ok(http, cloud, "GET", "/faults")[0] | {"seen": 3, "fired": 1}
        == ok(http, cloud, "GET", "/faults")[0]
    )


def test_rest_fault_probability_and_latency(cloud, http, world):
    """Probability 0 never fires; a latency-only fault slows a call and lets it succeed."""
    ok(http, cloud, "POST", "/faults", target="rest:/integrator/*", error="x", probability=0.0)
    ok(http, cloud, "POST", "/faults", target="rest:/integrator/*", delay=0.01)
    url = f"{cloud.api_url}/integrator/get_access_token"
    assert http.post(url, data={"itg": TAG, "token": "t"}).json()["isok"] is True
    ok(http, cloud, "DELETE", "/faults")
    assert ok(http, cloud, "GET", "/faults") == []


def test_ws_faults_error_and_drop(cloud, http, world):
    """A CommandRequest fault answers its error as res; a drop answers nothing."""
    user, device = world
    ws = account_ws(cloud, user)
    target = "ws:Shelly:CommandRequest"
    ok(http, cloud, "POST", "/faults", target=target, drop=True, count=1)
    ok(http, cloud, "POST", "/faults", target=target, error="device busy", count=1)
    dec = str(int(device["id"], 16))
    command = {"cmd": "relay", "params": {"id": 0, "turn": "on"}}
    for trid in (1, 2, 3):
        ws.send({"event": "Shelly:CommandRequest", "trid": trid, "deviceId": dec, "data": command})
    first = ws.next("Shelly:CommandResponse")
    assert first["trid"] == 2 and first["data"] == {"isok": False, "res": "device busy"}
    assert ws.next("Shelly:CommandResponse")["trid"] == 3
    ws.close()


def test_recorder_download(cloud, http, world, callbacks):
    """Every REST call, WS frame and callback is recorded and downloadable as JSON."""
    user, device = world
    http.post(f"{cloud.api_url}/integrator/get_access_token", data={"itg": TAG, "token": "t"})
    cloud.control.grant(TAG, user["id"], [device["id"]], callbacks.url)
    ws = account_ws(cloud, user)
    ws.send("garbage")
    ws.next("Error")
    records = json.loads(http.get(f"{cloud.api_url}/_fake/recorder").text)["data"]
    kinds = {r["kind"] for r in records}
    assert {"rest", "callback", "ws_in", "ws_out"} <= kinds
    rest = ok(http, cloud, "GET", "/recorder?kind=rest")
    assert rest[0]["path"] == "/integrator/get_access_token" and rest[0]["status"] == 200
    ok(http, cloud, "DELETE", "/recorder")
    assert ok(http, cloud, "GET", "/recorder") == []
    ws.close()


def test_policies_over_http(cloud, http, world):
    """Policies are readable and settable; errors_style switches the errors shape."""
    assert ok(http, cloud, "GET", "/policies")["second_connection"] == "replace"
    ok(http, cloud, "POST", "/policies", errors_style="array")
    url = f"{cloud.api_url}/integrator/get_access_token"
    answer = http.post(url, data={"itg": TAG, "token": "wrong"}).json()
    assert answer == {"isok": False, "errors": ["wrong integrator tag or token"]}
    status, _ = fake(http, cloud, "POST", "/policies", no_such_policy=1)
    assert status == 400


def test_control_errors(cloud, http, world):
    status, answer = fake(http, cloud, "POST", "/devices/ffffff/status", status={})
    assert status == 404 and answer == {"isok": False, "errors": {"not_found": "no device ffffff"}}
    status, _ = fake(http, cloud, "POST", "/users", email="u@example.com", password="x")
    assert status == 409


def test_status_delta_policy(cloud, http, world):
    """status_delta: StatusOnChange carries only changed keys and serial."""
    user, device = world
    ok(http, cloud, "POST", "/policies", status_delta=True)
    ws = account_ws(cloud, user)
    ok(http, cloud, "POST", f"/devices/{device['id']}/status", status={"temperature": 25})
    status = ws.next("Shelly:StatusOnChange")["status"]
    assert set(status) == {"temperature", "serial"}
    ws.close()


def test_hex_ids_policy(cloud, http, world, callbacks):
    """integrator_device_id=hex renders integrator-surface ids in hex."""
    user, device = world
    ok(http, cloud, "POST", "/policies", integrator_device_id="hex")
    cloud.control.grant(TAG, user["id"], [device["id"]], callbacks.url)
    assert callbacks.next().body["deviceId"] == device["id"]
    ws = WsClient(cloud.ws_url(cloud.control.integrator_token(TAG), SERVER_A), cloud)
    ok(http, cloud, "POST", f"/devices/{device['id']}/status", status={"temperature": 30})
    assert ws.next("Shelly:StatusOnChange")["deviceId"] == device["id"]
    ws.close()


def test_scl_trust_public_key_endpoint(cloud, http):
    pem = http.get(f"{cloud.api_url}/_fake/scl-trust-public-key").text
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and pem == cloud.scl_trust_public_key
