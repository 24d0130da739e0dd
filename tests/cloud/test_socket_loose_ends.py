"""The socket commands the API docs leave out but real clients send: `ir_emit` (ushelly) as a
Gen1 call, and `Shelly:JrpcRequest` / `XURequest` / `XGRequest` (HA-ITG, ushelly), which always
get their response with the request's `trid` (fake_cloud/api/jrpc.py)."""

import pytest

from fake_cloud.api.commands import Call, CommandError, apply_call, translate
from tests.cloud.conftest import SERVER_A

RELAY = {"relays": [{"ison": False}]}


@pytest.mark.parametrize(
    ("params", "call"),
    [
        ({"data": "1_231_pwr", "type": "stored"},
         Call("/ir/emit", {"type": "stored", "id": "1_231_pwr"})),
        ({"data": "1_231_pwr"}, Call("/ir/emit", {"type": "stored", "id": "1_231_pwr"})),
        ({"data": "AAAAbQ==", "type": "pronto"},
         Call("/ir/emit", {"type": "pronto", "pronto": "AAAAbQ=="})),
        ({"data": "0000 006d", "type": "pronto_hex"},
         Call("/ir/emit", {"type": "pronto", "pronto_hex": "0000 006d"})),
    ],
)  # fmt: skip
def test_ir_emit_becomes_the_senses_call(params, call):
    assert translate("ir_emit", params, RELAY) == call


@pytest.mark.parametrize("params", [{}, {"data": 5}, {"data": "x", "type": "raw"}])
def test_ir_emit_refusals(params):
    with pytest.raises(CommandError) as refused:
        translate("ir_emit", params, RELAY)
    assert refused.value.reason == "params"


def test_a_virtual_device_accepts_ir_emit_without_a_status_change():
    status, body = apply_call(RELAY, Call("/ir/emit", {"type": "stored", "id": "x"}))
    assert (status, body) == (RELAY, {})


@pytest.fixture
def olga(cloud):
    return cloud.control.create_user("olga@example.com", "pw", SERVER_A)


@pytest.fixture
def account_ws(cloud, olga, make_ws):
    url = cloud.control.oauth_authorize(olga.email, "pw", "https://x.example/")
    code = url.split("code=")[1].split("&")[0]
    token = cloud.services.authority.exchange("code", code, "shelly-diy", SERVER_A)
    return make_ws(token["access_token"], SERVER_A)


@pytest.mark.parametrize(
    ("event", "answer"),
    [
        ("Shelly:JrpcRequest", "Shelly:JrpcResponse"),
        ("Shelly:XURequest", "Shelly:XUResponse"),
        ("Shelly:XGRequest", "Shelly:XGResponse"),
    ],
)
def test_jrpc_on_the_account_socket(cloud, olga, account_ws, event, answer):
    cloud.control.create_device("SHSW-1", olga.id, "b92cfa", status=RELAY)
    request = {"event": event, "deviceId": "12135674", "method": "Switch.GetStatus",
               "params": {"id": 0}}  # fmt: skip
    account_ws.send({**request, "trid": "ushelly_1_2"})
    response = account_ws.next(answer, trid="ushelly_1_2")
    assert response["deviceId"] == "12135674"
    assert response["response"] == {
        "error": {"code": 404, "message": "No handler for Switch.GetStatus"}
    }
    cloud.control.set_online("b92cfa", False)
    account_ws.send({**request, "trid": 3})
    assert account_ws.next(answer, trid=3)["response"] == {"error": "DEVICE_OFFLINE"}
    account_ws.send({**request, "deviceId": "999", "trid": 4})
    assert account_ws.next(answer, trid=4)["response"] == {"error": "UNAUTHORIZED"}


def test_jrpc_without_trid_gets_an_error_event(account_ws):
    account_ws.send({"event": "Shelly:JrpcRequest", "deviceId": "1", "method": "Sys.Reboot"})
    assert "trid" in account_ws.next("Error")["message"]
