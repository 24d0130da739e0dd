"""Real Time Events API end to end: OAuth login page, code, /oauth/auth, all_status, account
socket with events and commands (seed 002, spec/cloud.md §3 and the ushelly checklist §5)."""

import hashlib
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest

from fake_cloud import FakeCloud
from tests.cloud.conftest import SERVER_A, SERVER_B
from tests.cloud.support import TIMEOUT, FormReader, browser

DEVICE = "b92cfa"
DEVICE_DEC = str(int(DEVICE, 16))
REDIRECT = "https://integrator.example/oauth/cb"


@pytest.fixture
def bob(cloud: FakeCloud):
    user = cloud.control.create_user("bob@example.com", "bob-pw", SERVER_A)
    relay = {"relays": [{"ison": False, "has_timer": False}]}
    cloud.control.create_device("SHSW-1", user.id, DEVICE, status=relay, online=False)
    return user


def login_code(cloud: FakeCloud, client_id: str = "shelly-diy", state: str = "s1") -> str:
    """Drive the login form as a browser does; return the code from the redirect."""
    session = browser(cloud)
    query = {"client_id": client_id, "state": state, "redirect_uri": REDIRECT}
    page = session.get(f"{cloud.my_url}/oauth_login.html", params=query)
    form = FormReader(page.text)
    fields = {**form.fields, "email": "bob@example.com", "password": "bob-pw"}
    answer = session.post(urljoin(page.url, form.action), data=fields, allow_redirects=False)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    got = parse_qs(location.query)
    assert got["state"] == [state]
    return got["code"][0]


def exchange(http, code: str, method: str = "GET") -> dict:
    claims = jwt.decode(code, options={"verify_signature": False})
    url = f"{claims['user_api_url']}/oauth/auth"
    fields = {"client_id": claims["sub"], "grant_type": "code", "code": code}
    answer = http.get(url, params=fields) if method == "GET" else http.post(url, data=fields)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_full_flow_login_token_status_socket_command(cloud, http, bob, make_device, make_ws):
    """Login form → code → token (GET, as ushelly) → all_status → WS → events → command."""
    code = login_code(cloud)
    claims = jwt.decode(code, options={"verify_signature": False})
    assert claims["sub"] == "shelly-diy" and claims["user_id"] == str(bob.id)
    assert claims["user_api_url"] == cloud.server_url(SERVER_A)

    token = exchange(http, code)
    access = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert access["sub"] == "pwd" and access["user_id"] == str(bob.id)
    assert access["user_api_url"] == claims["user_api_url"]
    assert access["exp"] > cloud.services.clock.now() + 10
    assert token["expires_in"] > 10

    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    listing = http.get(
        f"{claims['user_api_url']}/device/all_status",
        params={"show_info": "true", "no_shared": "true"},
        headers=bearer,
    ).json()
    assert listing["isok"] is True
    entry = listing["data"]["devices_status"][DEVICE]
    assert entry["_dev_info"] == {"id": DEVICE, "gen": "G1", "code": "SHSW-1", "online": False}
    assert isinstance(entry["serial"], int)

    host = urlsplit(claims["user_api_url"]).hostname
    ws = make_ws("", url=f"wss://{host}:6113/shelly/wss/hk_sock?t={token['access_token']}")
    device = make_device(DEVICE)
    online = ws.next("Shelly:Online")
    assert online == {
        "event": "Shelly:Online",
        "device": {"id": DEVICE_DEC, "code": "SHSW-1", "gen": "G1"},
        "online": 1,
    }
    ws.next("Shelly:StatusOnChange")
    device.press(0)
    change = ws.next("Shelly:StatusOnChange")
    assert change["device"] == {"id": DEVICE_DEC, "code": "SHSW-1", "gen": "G1"}
    assert change["status"]["relays"][0]["ison"] is True

    ws.send(
        {
            "event": "Shelly:CommandRequest",
            "trid": 10,
            "deviceId": DEVICE_DEC,
            "data": {"cmd": "relay", "params": {"turn": "off", "id": 0}},
        }
    )
    assert ws.next() == {
        "event": "Shelly:CommandResponse",
        "trid": 10,
        "deviceId": DEVICE_DEC,
        "user": bob.id,
        "data": {"isok": True},
    }
    assert ws.next("Shelly:StatusOnChange")["status"]["relays"][0]["ison"] is False
    assert device.calls.get(timeout=TIMEOUT)["params"] == {"turn": "off"}


def test_code_is_reusable_by_post_and_get(cloud, http, bob):
    """Clients re-exchange the same code (ushelly, homebridge): it stays valid (§3.4)."""
    code = login_code(cloud)
    first = exchange(http, code, "POST")
    second = exchange(http, code, "GET")
    assert first["access_token"] != second["access_token"]


def test_single_use_codes_by_policy(cloud, http, bob):
    """With codes_reusable off, a second exchange is refused."""
    cloud.control.set_policies(codes_reusable=False)
    code = login_code(cloud)
    exchange(http, code)
    url = f"{cloud.server_url(SERVER_A)}/oauth/auth"
    answer = http.get(url, params={"client_id": "shelly-diy", "grant_type": "code", "code": code})
    assert answer.status_code == 401
    assert answer.json() == {"isok": False, "errors": {"invalid_grant": "code already used"}}


def test_refresh_token_grant(cloud, http, bob):
    """[INFER] refresh_token is returned and accepted with grant_type=refresh_token."""
    token = exchange(http, login_code(cloud))
    answer = http.post(
        f"{cloud.server_url(SERVER_A)}/oauth/auth",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
    )
    assert answer.status_code == 200 and "access_token" in answer.json()


def test_state_is_appended_without_encoding(cloud, bob):
    """Seed 002: "No URL encoding is applied" to state."""
    session = browser(cloud)
    query = {"client_id": "shelly-diy", "state": "a%26b", "redirect_uri": REDIRECT}
    url = f"{cloud.my_url}/oauth_login.html"
    fields = {"email": "bob@example.com", "password": "bob-pw"}
    answer = session.post(url, params=query, data=fields, allow_redirects=False)
    assert answer.headers["Location"].endswith("&state=a%26b")


def test_login_page_refusals(cloud, bob):
    """Wrong password, unknown client and a redirect outside the client's regex are refused."""
    session = browser(cloud)
    url = f"{cloud.my_url}/oauth_login.html"
    query = {"client_id": "shelly-diy", "redirect_uri": REDIRECT}
    wrong = session.post(url, params=query, data={"email": "bob@example.com", "password": "x"})
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    unknown = session.get(url, params={**query, "client_id": "acme"})
    assert unknown.status_code == 400
    cloud.control.register_client("acme", r"https://acme\.example/.*")
    assert session.get(url, params={**query, "client_id": "acme"}).status_code == 400
    ok = {"client_id": "acme", "redirect_uri": "https://acme.example/cb"}
    assert session.get(url, params=ok).status_code == 200
    code = cloud.control.oauth_authorize("bob@example.com", "bob-pw", ok["redirect_uri"], "acme")
    claims = jwt.decode(
        parse_qs(urlsplit(code).query)["code"][0], options={"verify_signature": False}
    )
    assert claims["sub"] == "acme"


def test_password_login_endpoint(cloud, http, bob):
    """POST /oauth/login with the SHA-1 of the password gives a code (§3.3)."""
    digest = hashlib.sha1(b"bob-pw").hexdigest()
    fields = {"email": "bob@example.com", "password": digest, "client_id": "shelly-diy"}
    answer = http.post(f"{cloud.api_url}/oauth/login", data=fields).json()
    assert answer["isok"] is True
    assert exchange(http, answer["data"]["code"])["access_token"]
    bad = http.post(f"{cloud.api_url}/oauth/login", data={**fields, "password": "0" * 40}).json()
    assert bad == {"isok": False, "errors": {"wrong_credentials": "Wrong email or password"}}


def test_all_status_refusals(cloud, http, bob):
    """No token, an integrator token (wrong audience) or an expired token get 401."""
    url = f"{cloud.server_url(SERVER_A)}/device/all_status"
    assert http.get(url).status_code == 401
    cloud.control.create_integrator("ITG_X", "t")
    itg = cloud.control.integrator_token("ITG_X")
    wrong = http.get(url, headers={"Authorization": f"Bearer {itg}"})
    assert wrong.status_code == 401
    assert wrong.json() == {"isok": False, "errors": {"unauthorized": "wrong audience"}}
    token = exchange(http, login_code(cloud))["access_token"]
    cloud.control.advance_clock(cloud.services.policies.access_ttl + 1)
    expired = http.get(url, headers={"Authorization": f"Bearer {token}"})
    assert expired.json()["errors"] == {"unauthorized": "token expired"}


def test_all_status_on_other_server_refused(cloud, http, bob):
    """A user's token only works on the user's own server (other tenant)."""
    token = exchange(http, login_code(cloud))["access_token"]
    url = f"{cloud.server_url(SERVER_B)}/device/all_status"
    answer = http.get(url, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_password_change_invalidates_tokens(cloud, http, bob):
    """Seed 001: the access token "is invalidated on password change"."""
    token = exchange(http, login_code(cloud))["access_token"]
    cloud.control.set_password(bob.id, "new-pw")
    url = f"{cloud.server_url(SERVER_A)}/device/all_status"
    assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_diy_rate_limit(cloud, http, bob):
    """shelly-diy tokens may be rate limited: 429 past the bucket (§1.1)."""
    cloud.control.set_policies(diy_rate_limit=1.0, diy_rate_burst=1)
    token = exchange(http, login_code(cloud))["access_token"]
    url = f"{cloud.server_url(SERVER_A)}/device/all_status"
    bearer = {"Authorization": f"Bearer {token}"}
    assert http.get(url, headers=bearer).status_code == 200
    limited = http.get(url, headers=bearer)
    assert limited.status_code == 429
    cloud.control.advance_clock(1.0)
    assert http.get(url, headers=bearer).status_code == 200


def test_account_socket_sees_only_own_devices(cloud, http, bob, make_ws):
    """Another account's device produces nothing on this socket; commands to it are refused."""
    carol = cloud.control.create_user("carol@example.com", "c", SERVER_A)
    theirs = cloud.control.create_device("SHSW-1", carol.id, "0a0b0c", online=True)
    token = exchange(http, login_code(cloud))["access_token"]
    ws = make_ws(token, SERVER_A)
    cloud.control.set_status(theirs.id, {"relays": [{"ison": True}]})
    cloud.control.set_online(DEVICE, True)
    assert ws.next()["device"]["id"] == DEVICE_DEC
    ws.send(
        {
            "event": "Shelly:CommandRequest",
            "trid": 3,
            "deviceId": str(int(theirs.id, 16)),
            "data": {"cmd": "relay", "params": {"id": 0, "turn": "on"}},
        }
    )
    answer = ws.next("Shelly:CommandResponse")
    assert answer["user"] == bob.id
    assert answer["data"] == {"isok": False, "res": "unauthorized"}


def test_light_command_on_registered_device(cloud, http, bob, make_ws):
    """A registered device without a link plays the command on its stored status."""
    light = {"lights": [{"ison": False, "brightness": 10}]}
    cloud.control.create_device("SHBDUO-1", bob.id, "1e1e1e", status=light)
    token = exchange(http, login_code(cloud))["access_token"]
    ws = make_ws(token, SERVER_A)
    params = {"id": 0, "turn": "on", "brightness": 80, "temp": 3000}
    ws.send(
        {
            "event": "Shelly:CommandRequest",
            "trid": 4,
            "deviceId": str(0x1E1E1E),
            "data": {"cmd": "light", "params": params},
        }
    )
    assert ws.next("Shelly:CommandResponse")["data"] == {"isok": True}
    status = ws.next("Shelly:StatusOnChange")["status"]
    assert status["lights"][0] == {"ison": True, "brightness": 80, "temp": 3000}


def test_oauth_auth_refusals(cloud, http, bob):
    """Forged or wrong-kind codes, a mismatched client_id and an unknown grant_type get 401."""
    url = f"{cloud.server_url(SERVER_A)}/oauth/auth"
    code = login_code(cloud)
    forged = cloud.control.forge_token({"sub": "shelly-diy", "user_id": str(bob.id)})
    token = exchange(http, code)["access_token"]
    cases = [
        ({"grant_type": "code", "code": forged}, "bad signature"),
        ({"grant_type": "code", "code": token}, "wrong audience"),
        ({"grant_type": "code", "code": code, "client_id": "acme"}, "client_id does not match"),
        ({"grant_type": "password", "code": code}, "grant_type must be code"),
    ]
    for fields, reason in cases:
        answer = http.post(url, data=fields)
        assert answer.status_code == 401 and reason in answer.json()["errors"]["invalid_grant"]
