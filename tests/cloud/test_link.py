"""The device link (fake_cloud/api/link.py): hello, presence, status and settings pushes, calls,
answers, replacement, bad frames."""

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from fake_cloud import FakeCloud
from tests.cloud.conftest import SERVER_A, SERVER_B
from tests.cloud.support import TIMEOUT, WsClient, wait_online

HEXID = "c4c4c4"
DEC = str(int(HEXID, 16))


@pytest.fixture
def owner(cloud: FakeCloud):
    return cloud.control.create_user("olga@example.com", "pw", SERVER_A)


@pytest.fixture
def ws(cloud: FakeCloud, owner, make_ws) -> WsClient:
    url = cloud.control.oauth_authorize(owner.email, "pw", "https://x.example/")
    code = url.split("code=")[1].split("&")[0]
    token = cloud.services.authority.exchange("code", code, "shelly-diy", SERVER_A)
    return make_ws(token["access_token"], SERVER_A)


def command(ws: WsClient, trid: int, turn: str = "on") -> dict:
    data = {"cmd": "relay", "params": {"id": 0, "turn": turn}}
    ws.send({"event": "Shelly:CommandRequest", "trid": trid, "deviceId": DEC, "data": data})
    return ws.next("Shelly:CommandResponse", trid=trid)


def raw_link(cloud: FakeCloud, hexid: str = HEXID, server: str = SERVER_A):
    return connect(cloud.link_url(hexid, server), ssl=cloud.client_ssl_context(), legacy=True)


def test_unknown_device_registers_to_server_user(cloud, owner, ws, make_device):
    """A device never seen before is registered to the first user of the server it links to."""
    make_device(HEXID)
    assert ws.next("Shelly:Online")["device"] == {"id": DEC, "code": "SHSW-1", "gen": "G1"}
    device = cloud.backend.device(HEXID)
    assert device.owner == owner.id and device.linked
    assert device.mac == f"A4CF12{HEXID.upper()}" and device.name == f"Device {HEXID}"


def test_unknown_device_on_empty_server_gets_a_user(cloud, make_device):
    make_device(HEXID, SERVER_B)
    wait_online(cloud, HEXID)
    owner = cloud.backend.user(cloud.backend.device(HEXID).owner)
    assert owner.server == SERVER_B


@pytest.mark.parametrize(
    "first",
    [
        pytest.param({"type": "status", "status": {}}, id="not-hello"),
        pytest.param({"type": "hello", "id": "000000"}, id="wrong-id"),
        pytest.param("nonsense", id="not-json"),
    ],
)
def test_bad_hello_closes_with_4400(cloud, first):
    with raw_link(cloud) as link:
        link.send(first if isinstance(first, str) else json.dumps(first))
        assert json.loads(link.recv(timeout=TIMEOUT))["type"] == "error"
        with pytest.raises(ConnectionClosed) as closed:
            link.recv(timeout=TIMEOUT)
        assert closed.value.rcvd.code == 4400


def test_bad_frames_after_hello_get_error_frames(cloud, owner, ws, make_device):
    """Malformed frames are answered with an error frame; the link keeps working."""
    device = make_device(HEXID)
    ws.next("Shelly:Online")
    ws.next("Shelly:StatusOnChange")  # from the hello
    for frame in (
        "{oops",
        json.dumps({"type": "status"}),
        json.dumps({"type": "result", "id": 99}),
    ):
        device.send(frame)
        assert device.errors.get(timeout=TIMEOUT)["type"] == "error"
    device.press(0)
    assert ws.next("Shelly:StatusOnChange")["status"]["relays"][0]["ison"] is True


def test_close_means_offline(cloud, owner, ws, make_device):
    """Closing the link sends Online 0; commands are then refused as offline."""
    device = make_device(HEXID)
    ws.next("Shelly:Online", online=1)
    device.close()
    assert ws.next("Shelly:Online")["online"] == 0
    assert command(ws, 1)["data"] == {"isok": False, "res": "device offline"}


def test_newer_link_replaces_older(cloud, owner, ws, make_device):
    """A second link for one id closes the first with 4409 and the device stays online."""
    first = make_device(HEXID)
    ws.next("Shelly:Online", online=1)
    second = make_device(HEXID)
    assert first.wait_closed() == 4409
    assert command(ws, 2)["data"] == {"isok": True}
    assert second.calls.get(timeout=TIMEOUT)["params"] == {"turn": "on"}
    assert first.calls.empty()


def test_device_refusal_becomes_res(cloud, owner, ws, make_device):
    """A device's 4xx answer to a call becomes CommandResponse isok:false with its text."""
    make_device(HEXID)
    ws.next("Shelly:Online")
    cloud.control.set_status(HEXID, {"relays": [{"ison": False}, {"ison": False}]})
    data = {"cmd": "relay", "params": {"id": 1, "turn": "on"}}
    ws.send({"event": "Shelly:CommandRequest", "trid": 3, "deviceId": DEC, "data": data})
    assert ws.next("Shelly:CommandResponse")["data"] == {"isok": False, "res": "Not Found"}


def test_silent_device_times_out(cloud, owner, ws, make_device):
    """A call the device never answers fails with the timeout res."""
    cloud.control.set_policies(command_timeout=0.05)
    device = make_device(HEXID, answer=False)
    ws.next("Shelly:Online")
    assert command(ws, 4)["data"] == {"isok": False, "res": "device timeout"}
    assert device.calls.get(timeout=TIMEOUT)["path"] == "/relay/0"


def test_response_first_order_and_its_policy(cloud, owner, ws, make_device):
    """The device reports status before its result: by default the cloud still sends
    CommandResponse first; with the policy off it forwards them as they came."""
    make_device(HEXID)
    ws.next("Shelly:Online")
    ws.next("Shelly:StatusOnChange")
    command(ws, 5)
    assert ws.skipped == []
    ws.next("Shelly:StatusOnChange")
    cloud.control.set_policies(response_before_status=False)
    command(ws, 6, "off")
    assert [f["event"] for f in ws.skipped] == ["Shelly:StatusOnChange"]


def test_serial_changes_on_every_event(cloud, owner, ws, make_device):
    """The same document pushed twice still gets a new serial (ushelly, §1.4)."""
    device = make_device(HEXID)
    ws.next("Shelly:Online")
    serials = [ws.next("Shelly:StatusOnChange")["status"]["serial"]]
    for _ in range(2):
        device.send({"type": "status", "status": device.status})
        serials.append(ws.next("Shelly:StatusOnChange")["status"]["serial"])
    assert len(set(serials)) == 3 and all(isinstance(s, int) for s in serials)
