"""The pure parts of the fake cloud, driven directly: ids, commands, state, rendering, faults,
tokens, policies. No sockets, no threads, no wall clock."""

import pytest

from fake_cloud.api.commands import Call, CommandError, apply_call, translate
from fake_cloud.api.render import SocketKind, all_status, event_frame
from fake_cloud.state.backend import Backend, Server, StateError
from fake_cloud.state.clock import ManualClock
from fake_cloud.state.config import Policies, SecondConnection
from fake_cloud.state.events import OnlineChanged, SettingsChanged
from fake_cloud.state.faults import Faults, RateLimiter
from fake_cloud.state.ids import parse_id
from fake_cloud.state.tokens import Audience, TokenError, Tokens

RELAY = {"relays": [{"ison": False}, {"ison": True}]}
ROLLER = {"rollers": [{"state": "stop", "current_pos": 40, "positioning": True}]}


@pytest.mark.parametrize(
    ("raw", "prefer_dec", "expected"),
    [
        pytest.param(12135674, True, ["b92cfa"], id="number"),
        pytest.param("12135674", True, ["b92cfa"], id="decimal"),
        pytest.param("B92CFA", False, ["b92cfa"], id="hex-upper"),
        pytest.param("123456", True, ["01e240", "123456"], id="ambiguous-dec-first"),
        pytest.param("123456", False, ["123456", "01e240"], id="ambiguous-hex-first"),
        pytest.param("84cca87c0144", False, ["84cca87c0144"], id="mac"),
        pytest.param(True, True, [], id="bool"),
        pytest.param("", True, [], id="empty"),
    ],
)
def test_parse_id(raw, prefer_dec, expected):
    assert parse_id(raw, prefer_dec) == expected


@pytest.mark.parametrize(
    ("cmd", "params", "status", "call"),
    [
        ("relay", {"id": 1, "turn": "toggle", "timeout": 30}, RELAY,
         Call("/relay/1", {"turn": "toggle", "timer": "30"})),
        ("relay", {"id": "0", "turn": "on"}, RELAY, Call("/relay/0", {"turn": "on"})),
        ("light", {"id": 0, "turn": "on", "red": 255, "gain": 50.0, "mode": "color"},
         {"lights": [{}]},
         Call("/light/0", {"turn": "on", "mode": "color", "red": "255", "gain": "50"})),
        ("roller", {"id": 0, "go": "down", "duration": 2.5}, ROLLER,
         Call("/roller/0", {"go": "close", "duration": "2.5"})),
        ("roller", {"id": 0, "go": "stop"}, ROLLER, Call("/roller/0", {"go": "stop"})),
        ("roller_to_pos", {"id": 0, "rel": -50}, ROLLER,
         Call("/roller/0", {"go": "to_pos", "roller_pos": "0"})),
    ],
)  # fmt: skip
def test_translate(cmd, params, status, call):
    assert translate(cmd, params, status) == call


@pytest.mark.parametrize(
    ("cmd", "params", "status", "reason"),
    [
        ("relay", {"id": 2, "turn": "on"}, RELAY, "channel"),
        ("relay", {"id": 0, "turn": True}, RELAY, "params"),
        ("relay", {"id": 0.5, "turn": "on"}, RELAY, "params"),
        ("light", {"id": 0, "brightness": 101}, {"lights": [{}]}, "params"),
        ("roller", {"id": 0, "go": "stop", "duration": 3}, ROLLER, "params"),
        ("roller_to_pos", {"id": 0, "pos": 1, "rel": 1}, ROLLER, "params"),
        ("roller_to_pos", {"id": 0, "pos": 1, "slat_pos": 5}, ROLLER, "params"),
        ("roller_to_pos", {"id": 0, "pos": 1},
         {"rollers": [{"positioning": False}]}, "calibration"),
        ("ir_emit", {"id": 0}, RELAY, "params"),
        ("relay", ["not", "an", "object"], RELAY, "params"),
    ],
)  # fmt: skip
def test_translate_refusals(cmd, params, status, reason):
    with pytest.raises(CommandError) as refused:
        translate(cmd, params, status)
    assert refused.value.reason == reason


def test_apply_call_plays_a_gen1_device():
    status, body = apply_call(RELAY, Call("/relay/0", {"turn": "toggle"}))
    assert body == {"ison": True} and status["relays"][1] == {"ison": True}
    assert RELAY["relays"][0] == {"ison": False}  # the input is not modified
    status, _ = apply_call(ROLLER, Call("/roller/0", {"go": "to_pos", "roller_pos": "75"}))
    assert status["rollers"][0]["current_pos"] == 75


def make_backend() -> Backend:
    backend = Backend(seed=1)
    backend.add_server(Server("s1", "127.0.0.2", "127.0.0.2", "https://127.0.0.2"))
    return backend


def test_backend_serial_and_changed_keys():
    backend = make_backend()
    user = backend.create_user("a@b.c", "pw", "s1")
    device = backend.create_device("SHSW-1", user.id, "aabbcc", status={"serial": 7, "x": 1})
    events = []
    backend.subscribe(events.append)
    backend.update_status(device.id, {"x": 1, "y": 2}, merge=True)
    backend.update_status(device.id, {"x": 1, "y": 2}, merge=True)
    assert [e.status["serial"] for e in events] == [8, 9]
    assert [e.changed for e in events] == [("y",), ()]


def test_backend_online_rules():
    """Offline sticks for a linked device until set online and it links again."""
    backend = make_backend()
    user = backend.create_user("a@b.c", "pw", "s1")
    backend.create_device("SHSW-1", user.id, "aabbcc")
    events = []
    backend.subscribe(events.append)
    backend.link_up("aabbcc", {"code": "SHSW-1", "gen": 1, "status": {}}, "s1")
    backend.set_online("aabbcc", False)
    backend.link_down("aabbcc")
    backend.set_online("aabbcc", True)
    online = [e.online for e in events if isinstance(e, OnlineChanged)]
    assert online == [True, False]
    assert backend.device("aabbcc").forced_offline is False


def test_backend_reset_and_seed():
    first, second = make_backend(), make_backend()
    assert first.create_user("a@b.c", "", "s1").id == second.create_user("a@b.c", "", "s1").id
    first.reset()
    assert first.users == {} and "s1" in first.servers
    with pytest.raises(StateError):
        first.create_device("SHSW-1", 1, "nothex")


def test_render_event_frames():
    backend = make_backend()
    user = backend.create_user("a@b.c", "pw", "s1")
    device = backend.create_device("SHSW-1", user.id, "b92cfa")
    policies = Policies(rte_settings_events=False)
    settings = SettingsChanged(device.id, {"name": "x"})
    assert event_frame(SocketKind.ACCOUNT, settings, device, policies) is None
    frame = event_frame(SocketKind.INTEGRATOR, settings, device, policies)
    assert frame == {"event": "Shelly:Settings", "deviceId": "12135674", "settings": {"name": "x"}}
    assert all_status([device], show_info=False) == {"devices_status": {"b92cfa": {"serial": 0}}}


def test_faults_skip_count_and_seeded_probability():
    faults = Faults(seed=5)
    faults.add(target="rest:/a*", error="x", skip=1, count=2)
    fired = [faults.match("rest:/abc") is not None for _ in range(5)]
    assert fired == [False, True, True, False, False]
    draws = []
    for _ in range(2):
        seeded = Faults(seed=5)
        seeded.add(target="ws:*", error="x", probability=0.5)
        draws.append([seeded.match("ws:E") is not None for _ in range(20)])
    assert draws[0] == draws[1] and any(draws[0]) and not all(draws[0])
    with pytest.raises(ValueError):
        faults.add(target="http:/x")


def test_rate_limiter_refills_on_the_clock():
    clock = ManualClock(start=1000.0)
    limiter = RateLimiter(clock.now)
    assert [limiter.allow("u", 1.0, 2) for _ in range(3)] == [True, True, False]
    clock.advance(1.0)
    assert limiter.allow("u", 1.0, 2) is True


def test_policies_update():
    policies = Policies()
    policies.update(second_connection="reject", res={"offline": "gone"})
    assert policies.second_connection is SecondConnection.REJECT
    assert policies.res["offline"] == "gone" and policies.res["unauthorized"] == "unauthorized"
    with pytest.raises(ValueError):
        policies.update(nope=1)
    with pytest.raises(ValueError):
        policies.update(second_connection="sometimes")


def test_tokens_checks():
    tokens = Tokens(seed=3)
    token = tokens.issue(Audience.ACCESS, {"sub": "pwd"}, now=1000.0, ttl=60)
    assert tokens.decode(token, {Audience.ACCESS}, now=1059.0)["sub"] == "pwd"
    for audiences, now, reason in (
        ({Audience.INTEGRATOR}, 1000.0, "wrong audience"),
        ({Audience.ACCESS}, 1060.0, "token expired"),
    ):
        with pytest.raises(TokenError, match=reason):
            tokens.decode(token, audiences, now)
    tokens.rekey(4)
    with pytest.raises(TokenError, match="bad signature"):
        tokens.decode(token, {Audience.ACCESS}, 1000.0)
    assert Tokens(seed=3).public_pem == Tokens(seed=3).public_pem != tokens.public_pem
