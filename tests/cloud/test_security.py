"""Refusals: bad tokens at the WS upgrade, bad frames on open sockets, callbacks that fail,
SCL-Trust negative modes (spec/cloud.md §2.3, §2.4, DESIGN principle 8)."""

import json

import jwt
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from fake_cloud import FakeCloud
from tests.cloud.conftest import SERVER_A, SERVER_B
from tests.cloud.support import WsClient

TAG = "ITG_SEC"


@pytest.fixture
def setup(cloud: FakeCloud):
    """Dave on server A with one online relay granted to nobody yet; an integrator."""
    dave = cloud.control.create_user("dave@example.com", "pw", SERVER_A)
    relay = {"relays": [{"ison": False}]}
    device = cloud.control.create_device("SHSW-1", dave.id, "abcdef", status=relay)
    cloud.control.create_integrator(TAG, "tok")
    return dave, device


def refused(cloud: FakeCloud, token: str, server: str = SERVER_A) -> dict:
    with pytest.raises(InvalidStatus) as caught:
        WsClient(cloud.ws_url(token, server), cloud)
    response = caught.value.response
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.body)


def access_token(cloud: FakeCloud, user_id: int) -> str:
    user = cloud.backend.user(user_id)
    url = cloud.control.oauth_authorize(user.email, user.password, "https://x.example/cb")
    code = url.split("code=")[1].split("&")[0]
    server = cloud.backend.server(user.server).name
    claims = jwt.decode(code, options={"verify_signature": False})
    return cloud.services.authority.exchange("code", code, claims["sub"], server)["access_token"]


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        pytest.param(lambda c, u: "", "missing token", id="missing"),
        pytest.param(lambda c, u: "not.a.jwt", "malformed token", id="malformed"),
        pytest.param(
            lambda c, u: c.control.forge_token({"itg": TAG, "exp": 2**40, "aud": "integrator"}),
            "bad signature",
            id="forged",
        ),
        pytest.param(
            lambda c, u: c.control.forge_token(
                {"itg": "ITG_NOBODY", "exp": 2**40}, valid_signature=True, audience="integrator"
            ),
            "unknown integrator",
            id="unknown-integrator",
        ),
        pytest.param(
            lambda c, u: c.services.authority.code(c.backend.user(u), "shelly-diy"),
            "wrong audience",
            id="code-as-token",
        ),
    ],
)
def test_bad_tokens_get_401_at_upgrade(cloud, setup, make_token, reason):
    """Refused tokens answer HTTP 401 with the error envelope, before any socket opens."""
    dave, _ = setup
    body = refused(cloud, make_token(cloud, dave.id))
    assert body == {"isok": False, "errors": {"unauthorized": reason}}


def test_expired_and_revoked_tokens_refused(cloud, setup):
    """An integrator token past 24 h, or one expired by the control plane, is refused."""
    token = cloud.control.integrator_token(TAG)
    cloud.control.advance_clock(86400)
    assert refused(cloud, token)["errors"] == {"unauthorized": "token expired"}
    fresh = cloud.control.integrator_token(TAG)
    cloud.control.expire_token(fresh)
    assert refused(cloud, fresh)["errors"] == {"unauthorized": "token expired"}


def test_other_tenant_token_refused(cloud, setup):
    """An account token for a user of server A is refused on server B."""
    dave, _ = setup
    token = access_token(cloud, dave.id)
    assert refused(cloud, token, SERVER_B)["errors"] == {
        "unauthorized": "user is not hosted on this server"
    }


def test_close_4401_policy(cloud, setup):
    """With auth_failure=close4401 the upgrade succeeds and the socket closes with 4401."""
    cloud.control.set_policies(auth_failure="close4401")
    client = WsClient(cloud.ws_url("bogus", SERVER_A), cloud)
    with pytest.raises(ConnectionClosed) as closed:
        client.next()
    assert closed.value.rcvd.code == 4401


def test_open_socket_survives_expiry_unless_policy(cloud, setup, make_ws):
    """Seed 000: "The connection can remain active indefinitely"; close_at_exp closes it."""
    dave, device = setup
    ws = make_ws(access_token(cloud, dave.id), SERVER_A)
    cloud.control.advance_clock(cloud.services.policies.access_ttl + 1)
    cloud.control.set_status(device.id, {"relays": [{"ison": True}]})
    assert ws.next("Shelly:StatusOnChange")["status"]["relays"] == [{"ison": True}]
    cloud.control.set_policies(close_at_exp=True)
    cloud.control.advance_clock(1)
    with pytest.raises(ConnectionClosed) as closed:
        ws.next()
    assert closed.value.rcvd.code == 4401


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param("[1, 2]", id="array"),
        pytest.param(b"\x00\x01", id="binary"),
        pytest.param('{"event":"Shelly:CommandRequest","deviceId":"1"}', id="no-trid"),
    ],
)
def test_malformed_frame_gets_error_and_socket_stays(cloud, setup, make_ws, frame):
    """A malformed frame answers an Error event; the socket keeps working."""
    dave, device = setup
    ws = make_ws(access_token(cloud, dave.id), SERVER_A)
    ws.send(frame)
    error = ws.next()
    assert error["event"] == "Error" and error["message"]
    cloud.control.set_status(device.id, {"relays": [{"ison": True}]})
    assert ws.next()["event"] == "Shelly:StatusOnChange"


def test_unknown_events_are_ignored(cloud, setup, make_ws):
    """Unknown events get no answer at all: the next frame is the answer to a known one."""
    ws = make_ws(cloud.control.integrator_token(TAG), SERVER_A)
    ws.send({"event": "Shelly:Whatever", "trid": 1})
    ws.send({"event": "Integrator:ActionRequest", "trid": 2, "data": {"action": "DeviceVerify"}})
    assert ws.next()["event"] == "Integrator:ActionResponse"


def test_unreachable_callback_is_retried_then_grant_dropped(cloud, setup):
    """The cloud retries an unreachable cb, then drops the grant."""
    dave, device = setup
    cloud.control.set_policies(callback_attempts=3)
    results = cloud.control.grant(TAG, dave.id, [device.id], "http://127.0.0.1:1/cb")
    assert len(results) == 1 and not results[0].delivered and results[0].attempts == 3
    assert len(cloud.control.records("callback")) == 3
    assert cloud.backend.grant(TAG, device.id) is None


def test_non_200_callback_drops_grant(cloud, setup, callbacks):
    """ "Integrator must respond with 200 OK, otherwise the operation will discontinue"."""
    dave, device = setup
    callbacks.status = 500
    results = cloud.control.grant(TAG, dave.id, [device.id], callbacks.url)
    assert results[0].status == 500 and results[0].attempts == 1
    assert cloud.backend.grant(TAG, device.id) is None


@pytest.mark.parametrize("mode", ["expired", "wrong_itg", "bad_signature"])
def test_scl_trust_negative_modes(cloud, setup, callbacks, mode):
    """Negative SCL-Trust headers fail verification with the published key as they should."""
    dave, device = setup
    cloud.control.set_policies(scl_trust=mode)
    cloud.control.grant(TAG, dave.id, [device.id], callbacks.url)
    header = callbacks.next().headers["SCL-Trust"]
    key = cloud.scl_trust_public_key
    if mode == "bad_signature":
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(header, key, algorithms=["ES384"])
        return
    # The session's manual clock runs ahead of the wall clock: judge `exp` by the cloud's.
    claims = jwt.decode(header, key, algorithms=["ES384"], options={"verify_exp": False})
    if mode == "expired":
        assert claims["exp"] < cloud.services.clock.now() and claims["itg"] == TAG
    else:
        assert claims["itg"] != TAG and claims["exp"] > cloud.services.clock.now()


def test_grant_of_someone_elses_device_refused(cloud, setup, http):
    """A user can only consent for devices they own."""
    erin = cloud.control.create_user("erin@example.com", "pw", SERVER_A)
    answer = http.post(
        f"{cloud.api_url}/_fake/grants",
        json={"tag": TAG, "user": erin.id, "devices": [setup[1].id], "cb": "http://x/"},
    )
    assert answer.status_code == 400 and answer.json()["isok"] is False
