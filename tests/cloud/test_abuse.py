"""Every cloud request is answered and none pins memory (issue 18): malformed commands get a
CommandResponse with their trid, frames that are not strict JSON an Error event with the socket
left open, nothing NaN goes out, the recorder and REST bodies are bounded."""

import json
import socket

import pytest

from fake_cloud import FakeCloud
from fake_cloud.state.recorder import Recorder
from tests.cloud.conftest import SERVER_A
from tests.cloud.support import TIMEOUT
from tests.cloud.test_security import access_token

ROLLER = {"rollers": [{"state": "stop", "positioning": True, "current_pos": 10}]}
RELAY = {"relays": [{"ison": False}]}


@pytest.fixture
def setup(cloud: FakeCloud):
    """Erin on server A with a relay and a calibrated roller; her account socket."""
    erin = cloud.control.create_user("erin@example.com", "pw", SERVER_A)
    cloud.control.create_device("SHSW-1", erin.id, "a1b2c3", status=RELAY)
    cloud.control.create_device("SHSW-25", erin.id, "d4e5f6", status=ROLLER)
    return erin, str(0xA1B2C3), str(0xD4E5F6)


def strict(text: str):
    """Parse as strict parsers (JSON.parse, Go, serde) do: NaN and Infinity are errors."""

    def refuse(constant: str):
        raise AssertionError(f"{constant} on the wire: {text[:200]}")

    return json.loads(text, parse_constant=refuse)


def command(trid, device, data) -> str:
    return json.dumps(
        {"event": "Shelly:CommandRequest", "trid": trid, "deviceId": device, "data": data}
    )


RELAY_ON = {"cmd": "relay", "params": {"id": 0, "turn": "on"}}

#: (name, deviceId: "relay" | "roller" | a literal, data)
MALFORMED = [
    ("superscript-digit-id", "²", RELAY_ON),
    ("arabic-digits-id", "١٢٣", RELAY_ON),
    ("empty-id", "", RELAY_ON),
    ("list-id", [], RELAY_ON),
    ("object-id", {"a": 1}, RELAY_ON),
    ("float-id", 1.5, RELAY_ON),
    ("negative-id", -1, RELAY_ON),
    ("bool-id", True, RELAY_ON),
    ("null-id", None, RELAY_ON),
    ("long-decimal-id", "9" * 40, RELAY_ON),
    ("data-list", "relay", []),
    ("data-string", "relay", "on"),
    ("data-null", "relay", None),
    ("cmd-list", "relay", {"cmd": [], "params": {"id": 0}}),
    ("cmd-object", "relay", {"cmd": {}, "params": {"id": 0}}),
    ("cmd-unknown", "relay", {"cmd": "explode", "params": {"id": 0}}),
    ("params-list", "relay", {"cmd": "relay", "params": []}),
    ("params-string", "relay", {"cmd": "relay", "params": "on"}),
    ("turn-list", "relay", {"cmd": "relay", "params": {"id": 0, "turn": []}}),
    ("turn-object", "relay", {"cmd": "relay", "params": {"id": 0, "turn": {}}}),
    ("turn-number", "relay", {"cmd": "relay", "params": {"id": 0, "turn": 1}}),
    ("timeout-text", "relay", {"cmd": "relay", "params": {"id": 0, "turn": "on", "timeout": "x"}}),
    ("timeout-nan", "relay", {"cmd": "relay", "params": {"id": 0, "turn": "on", "timeout": "nan"}}),
    ("channel-list", "relay", {"cmd": "relay", "params": {"id": [], "turn": "on"}}),
    ("channel-text", "relay", {"cmd": "relay", "params": {"id": "x", "turn": "on"}}),
    ("channel-missing", "relay", {"cmd": "relay", "params": {"turn": "on"}}),
    ("channel-absent", "relay", {"cmd": "relay", "params": {"id": 7, "turn": "on"}}),
    ("go-list", "roller", {"cmd": "roller", "params": {"id": 0, "go": []}}),
    ("go-object", "roller", {"cmd": "roller", "params": {"id": 0, "go": {}}}),
    ("go-number", "roller", {"cmd": "roller", "params": {"id": 0, "go": 1}}),
    ("go-unknown", "roller", {"cmd": "roller", "params": {"id": 0, "go": "sideways"}}),
    ("duration-list", "roller", {"cmd": "roller", "params": {"id": 0, "go": "up", "duration": []}}),
    ("pos-list", "roller", {"cmd": "roller_to_pos", "params": {"id": 0, "pos": []}}),
    ("pos-and-rel", "roller", {"cmd": "roller_to_pos", "params": {"id": 0, "pos": 1, "rel": 1}}),
    ("light-on-relay", "relay", {"cmd": "light", "params": {"id": 0, "turn": "on"}}),
    ("light-mode-list", "relay", {"cmd": "light", "params": {"id": 0, "mode": []}}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "device", "data"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_every_malformed_command_is_answered_with_its_trid(
    cloud, setup, make_ws, name, device, data
):
    erin, relay, roller = setup
    ws = make_ws(access_token(cloud, erin.id), SERVER_A)
    if device in ("relay", "roller"):
        device = relay if device == "relay" else roller
    ws.send(command(4242, device, data))
    answer = ws.next("Shelly:CommandResponse")
    assert answer["trid"] == 4242
    assert answer["data"]["isok"] is False and answer["data"]["res"]
    ws.send(command(4243, relay, RELAY_ON))  # the socket still works
    assert ws.next("Shelly:CommandResponse", trid=4243)["data"] == {"isok": True}


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param('{"event":"Shelly:CommandRequest","trid":NaN,"deviceId":"1"}', id="nan-trid"),
        pytest.param('{"event":"Shelly:CommandRequest","trid":Infinity}', id="infinity-trid"),
        pytest.param('{"event":"Shelly:CommandRequest","trid":1e400}', id="overflow-trid"),
        pytest.param('{"event":"Shelly:CommandRequest","trid":"7"}', id="string-trid"),
        pytest.param('{"event":"Shelly:CommandRequest","trid":[]}', id="list-trid"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="100000-deep"),
        pytest.param('{"a":' * 50_000 + "1" + "}" * 50_000, id="50000-deep-object"),
    ],
)
def test_frames_without_a_usable_trid_get_an_error_event(cloud, setup, make_ws, frame):
    """No trid to answer: an Error event, never a bare NaN, and the socket lives (it closed
    with 1011 on deep nesting)."""
    erin, relay, _ = setup
    ws = make_ws(access_token(cloud, erin.id), SERVER_A)
    ws.send(frame)
    assert strict(ws.conn.recv(timeout=TIMEOUT))["event"] == "Error"
    ws.send(command(5, relay, RELAY_ON))
    assert ws.next("Shelly:CommandResponse", trid=5)["data"] == {"isok": True}


def test_a_failing_handler_still_answers_the_trid(cloud, setup, make_ws, monkeypatch):
    """The catch-all: whatever fails while a command is handled, its trid gets an error."""
    erin, relay, _ = setup

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("fake_cloud.api.wsapi.translate", broken)
    ws = make_ws(access_token(cloud, erin.id), SERVER_A)
    ws.send(command(77, relay, RELAY_ON))
    answer = ws.next("Shelly:CommandResponse", trid=77)
    assert answer["data"] == {"isok": False, "res": "internal error"}
    assert [str(e) for e in cloud.services.errors] == ["a bug"]
    cloud.services.errors.clear()  # seen: the fixture's check() would re-raise it


def test_non_finite_numbers_never_go_out(cloud, setup, make_ws, http):
    """A NaN that slipped into a device document goes out as null, on the socket and REST."""
    erin, _relay, _ = setup
    ws = make_ws(access_token(cloud, erin.id), SERVER_A)
    cloud.control.set_status("a1b2c3", {"temperature": float("nan"), "power": float("inf")})
    assert strict(ws.conn.recv(timeout=TIMEOUT))["status"]["temperature"] is None
    token = access_token(cloud, erin.id)
    answer = http.get(
        f"{cloud.server_url(SERVER_A)}/device/all_status",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    statuses = strict(answer.text)["data"]["devices_status"]
    assert any(s.get("power", 0) is None for s in statuses.values())


def test_big_binary_frames_are_recorded_cut(cloud, setup, make_ws):
    erin, _, _ = setup
    ws = make_ws(access_token(cloud, erin.id), SERVER_A)
    for _ in range(5):
        ws.send(b"\x01" * (1024 * 1024))
        assert ws.next("Error")["message"] == "binary frames are not supported"
    records = cloud.control.records("ws_in")[-5:]
    field = cloud.services.recorder.max_field
    for record in records:
        assert record["raw"]["length"] == 2 * 1024 * 1024
        assert len(record["raw"]["cut"]) <= field


def test_recorder_keeps_its_byte_budget_and_cuts_fields() -> None:
    recorder = Recorder(lambda: 0.0, 1000, max_field=100, max_bytes=10_000)
    for i in range(500):
        recorder.add("ws_in", socket=1, raw="x" * 5000, frame={"i": i})
    records = recorder.records()
    assert recorder.bytes <= 10_000
    assert 0 < len(records) < 500 and records[-1]["frame"] == {"i": 499}
    assert records[-1]["raw"] == {"cut": "x" * 100, "length": 5000}


def api_exchange(cloud: FakeCloud, request: bytes) -> bytes:
    """Send raw bytes to the api front end over TLS; the answer's head."""
    endpoint = cloud.endpoints["api"]
    context = cloud.client_ssl_context()
    assert context is not None
    raw = socket.create_connection((endpoint.ip, endpoint.rest_port), timeout=TIMEOUT)
    with context.wrap_socket(raw, server_hostname=endpoint.ip) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    return answer


def test_rest_body_over_the_limit_is_refused_413_and_recorded_without_it(cloud):
    """A 5 MB POST is refused at its head: the client has sent no body byte yet."""
    answer = api_exchange(
        cloud,
        b"POST /integrator/get_access_token HTTP/1.1\r\nHost: api\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5242880\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413")
    record = cloud.control.records("rest")[-1]
    assert (record["path"], record["status"], record["form"]) == (
        "/integrator/get_access_token",
        413,
        None,
    )


def test_refused_rest_call_is_recorded_without_its_parameters(cloud, http):
    url = f"{cloud.api_url}/integrator/get_access_token"
    answer = http.post(url, data={"itg": "nobody", "token": "z" * 50_000}, timeout=TIMEOUT)
    assert answer.json()["isok"] is False
    record = cloud.control.records("rest")[-1]
    assert record["form"] is None and record["args"] is None
    assert record["body_length"] > 50_000


def test_rest_head_over_16_kb_is_refused(cloud):
    answer = api_exchange(
        cloud, b"GET /integrator/get_access_token HTTP/1.1\r\nX-Big: " + b"b" * 17_000 + b"\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 400")
