"""Cloud commands (`Shelly:CommandRequest` `data`) translated to Gen1 HTTP API calls.

Pure functions. The command table is seed 002 "Implemented Command Requests" and INT-COMM
(spec/cloud.md §2.4.2): `relay`, `light`, `roller` (both vocabularies, `up/down` from the RTE doc
and `open/close` from the integrator doc), `roller_to_pos` (only for a calibrated roller). The
Gen1 targets are seed 003: `/relay/N?turn=&timer=`, `/light/N?…`, `/roller/N?go=&duration=`,
`/roller/N?go=to_pos&roller_pos=`; and `ir_emit` (ushelly) onto `/ir/emit`.

`apply_call` plays a Gen1 device for registered devices that have no live link, so the cloud is
testable on its own: it edits the stored status the way the device would and answers its body.
"""

import copy
from dataclasses import dataclass
from typing import Any

__all__ = ["Call", "CommandError", "apply_call", "translate"]

_TURN = ("on", "off", "toggle")
_ROLLER_GO = {"up": "open", "down": "close", "open": "open", "close": "close", "stop": "stop"}
# light params: name -> (low, high) for numbers, None for strings.
_LIGHT: dict[str, tuple[int, int] | None] = {
    "mode": None,
    "red": (0, 255),
    "green": (0, 255),
    "blue": (0, 255),
    "white": (0, 255),
    "gain": (0, 100),
    "brightness": (0, 100),
    "effect": (0, 6),
    "temp": (2700, 6500),
    "transition": (0, 5000),
}


@dataclass(frozen=True, slots=True)
class Call:
    """A Gen1 HTTP API call: path plus string params, as a query string would carry them."""

    path: str
    params: dict[str, str]

    def as_frame(self, call_id: int) -> dict[str, Any]:
        return {"type": "call", "id": call_id, "path": self.path, "params": self.params}


class CommandError(Exception):
    """A refused command; `reason` keys `Policies.res` (params, channel, calibration)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _number(params: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise CommandError("params", f"{name} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise CommandError("params", f"{name} must be a number in {low}..{high}")
    return value


def _word(params: dict[str, Any], name: str, allowed: Any) -> str | None:
    """A string parameter out of ``allowed`` (None when absent); anything else is refused."""
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise CommandError("params", f"{name} must be one of {', '.join(allowed)}")
    return value


def _text(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _channel(params: dict[str, Any], status: dict[str, Any], key: str) -> int:
    """`id` is required even for single-channel devices (seed 002)."""
    channel = _number(params, "id", 0, 255)
    if channel is None or not float(channel).is_integer():
        raise CommandError("params", "id (channel) is required")
    channels = status.get(key)
    if not isinstance(channels, list) or int(channel) >= len(channels):
        raise CommandError("channel", f"no {key} channel {int(channel)}")
    return int(channel)


def translate(cmd: Any, params: Any, status: dict[str, Any]) -> Call:
    """Map one cloud command onto a Gen1 call, checking it against the device's status."""
    if not isinstance(params, dict):
        raise CommandError("params", "params must be an object")
    match cmd:
        case "relay":
            return _relay(params, status)
        case "light":
            return _light(params, status)
        case "roller":
            return _roller(params, status)
        case "roller_to_pos":
            return _roller_to_pos(params, status)
        case "ir_emit":
            return _ir_emit(params)
    raise CommandError("params", f"unsupported cmd {cmd!r}")


def _ir_emit(params: dict[str, Any]) -> Call:
    """`ir_emit {data, type: "stored"}` as ushelly sends it (spec/cloud.md §3.7 [CLIENT]; not
    in the API docs) onto the Sense's `/ir/emit` (seed 003): `data` is the stored code's id, or
    with type `pronto`/`pronto_hex` the code itself. A device without an IR emitter refuses."""
    data, kind = params.get("data"), params.get("type", "stored")
    if not isinstance(data, str) or not data:
        raise CommandError("params", "data (a stored code id or a pronto code) is required")
    match kind:
        case "stored":
            return Call("/ir/emit", {"type": "stored", "id": data})
        case "pronto" | "pronto_hex":
            return Call("/ir/emit", {"type": "pronto", kind: data})
    raise CommandError("params", "type must be stored, pronto or pronto_hex")


def _relay(params: dict[str, Any], status: dict[str, Any]) -> Call:
    channel = _channel(params, status, "relays")
    turn = _word(params, "turn", _TURN)
    if turn is None:
        raise CommandError("params", "turn must be on, off or toggle")
    query = {"turn": turn}
    if (timer := _number(params, "timeout", 0, 86400)) is not None:
        query["timer"] = _text(timer)
    return Call(f"/relay/{channel}", query)


def _light(params: dict[str, Any], status: dict[str, Any]) -> Call:
    channel = _channel(params, status, "lights")
    query: dict[str, str] = {}
    if (turn := _word(params, "turn", _TURN)) is not None:
        query["turn"] = turn
    if (timer := _number(params, "timeout", 0, 86400)) is not None:
        query["timer"] = _text(timer)
    for name, bounds in _LIGHT.items():
        if bounds is None and name in params:
            if not isinstance(params[name], str):
                raise CommandError("params", f"{name} must be a string")
            query[name] = params[name]
        elif bounds is not None and (value := _number(params, name, *bounds)) is not None:
            query[name] = _text(value)
    return Call(f"/light/{channel}", query)


def _roller(params: dict[str, Any], status: dict[str, Any]) -> Call:
    channel = _channel(params, status, "rollers")
    word = _word(params, "go", _ROLLER_GO)
    if word is None:
        raise CommandError("params", "go must be up, down, open, close or stop")
    go = _ROLLER_GO[word]
    query = {"go": go}
    if (duration := _number(params, "duration", 0, 86400)) is not None:
        if go == "stop":
            raise CommandError("params", "duration is only valid with up and down")
        query["duration"] = _text(duration)
    return Call(f"/roller/{channel}", query)


def _roller_to_pos(params: dict[str, Any], status: dict[str, Any]) -> Call:
    channel = _channel(params, status, "rollers")
    if "slat_pos" in params or "slat_rel" in params:
        raise CommandError("params", "Gen1 rollers have no slats")
    pos = _number(params, "pos", 0, 100)
    rel = _number(params, "rel", -100, 100)
    if (pos is None) == (rel is None):
        raise CommandError("params", "exactly one of pos and rel is required")
    roller = status["rollers"][channel]
    if not (isinstance(roller, dict) and roller.get("positioning") is True):
        raise CommandError("calibration", "roller is not calibrated")
    if rel is not None:
        current = roller.get("current_pos")
        base = current if isinstance(current, int | float) else 0
        pos = min(100, max(0, base + rel))
    return Call(f"/roller/{channel}", {"go": "to_pos", "roller_pos": _text(float(pos or 0))})


def apply_call(status: dict[str, Any], call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    """Play a Gen1 device: the new status document and the endpoint's answer body."""
    new = copy.deepcopy(status)
    if call.path == "/ir/emit":
        return new, {}  # nothing in a status document shows a code was sent
    kind, channel = call.path.strip("/").split("/")
    item: dict[str, Any] = new[f"{kind}s"][int(channel)]
    params = call.params
    if "turn" in params:
        on = {"on": True, "off": False}.get(params["turn"], not item.get("ison", False))
        item["ison"] = on
    if "timer" in params:
        item["has_timer"] = float(params["timer"]) > 0
    if kind == "light":
        for name in _LIGHT:
            if name in params:
                item[name] = params[name] if name == "mode" else int(float(params[name]))
    if kind == "roller":
        go = params["go"]
        target = {"open": 100, "close": 0}.get(go)
        if go == "to_pos":
            target = int(float(params["roller_pos"]))
        if go in ("open", "close"):
            item["last_direction"] = go
        if target is not None and item.get("positioning"):
            item["current_pos"] = target
        item["state"] = "stop"
    return new, item
