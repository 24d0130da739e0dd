"""Cloud Control requests (v1 form fields, v2 JSON bodies) in the vocabulary of
`Shelly:CommandRequest`, so one checker (fake_cloud/commands.py) turns all three APIs into the
same Gen1 calls.

v1 fields (Cloud Control "Communication", spec/cloud.md §4.1): relay `channel`+`turn`
(channel "Required"); roller `direction` (open/close/stop; `go` and `duration` accepted as the
device's own words) or `pos` (clients also send `go_to_pos`); light `turn`, `mode`, `red`,
`green`, `blue`, `white`, `gain`, `brightness`, `temp`, `effect`. v2 fields ("Communication
v2.0-beta", §4.2): switch `on`+`toggle_after`; cover `position` (open/close/stop or 0..100) or
`relative`, `duration` (only with open/close/stop), `slatPosition`/`slatRelative` (Gen1 rollers
have none); light `on`, `toggle_after`, `mode`, `temperature`, `brightness`, `red`, `green`,
`blue`, `white`, `gain`, `effect`.
"""

from typing import Any

from fake_cloud.api.commands import Call, CommandError, translate
from fake_cloud.state.backend import Device

__all__ = [
    "Refused",
    "to_call",
    "v1_light",
    "v1_relay",
    "v1_roller",
    "v1_topos",
    "v2_cover",
    "v2_light",
    "v2_switch",
]

type Command = tuple[str, dict[str, Any]]

_V1_LIGHT = ("turn", "mode", "red", "green", "blue", "white", "gain", "brightness", "temp")
_V2_LIGHT = ("mode", "red", "green", "blue", "white", "gain", "brightness", "effect")
_COVER_WORDS = ("open", "close", "stop")


class Refused(Exception):
    """A request refused before any device is asked; `reason` is a `Policies.res` key
    (params, channel, calibration) or `mode` (the device is not of that kind)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def to_call(device: Device, command: Command) -> Call:
    """Check a command against the device's last status; the Gen1 call it becomes."""
    cmd, params = command
    try:
        return translate(cmd, params, device.status)
    except CommandError as exc:
        raise Refused(exc.reason, str(exc)) from None


def _given(fields: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: fields[name] for name in names if fields.get(name) not in (None, "")}


def v1_relay(fields: dict[str, Any]) -> Command:
    if fields.get("channel") in (None, ""):
        raise Refused("params", "channel is required")
    return "relay", {"id": fields["channel"], "turn": fields.get("turn")}


def v1_roller(fields: dict[str, Any]) -> Command:
    channel = fields.get("channel") or 0
    go = fields.get("direction") or fields.get("go")
    pos = next((fields[k] for k in ("pos", "go_to_pos", "roller_pos") if fields.get(k)), None)
    if go and pos is not None:
        raise Refused("params", "give direction or pos, not both")
    if go:
        return "roller", {"id": channel, "go": go, **_given(fields, ("duration",))}
    if pos is not None:
        return "roller_to_pos", {"id": channel, "pos": pos}
    raise Refused("params", "direction (open, close, stop) or pos (0..100) is required")


def v1_topos(fields: dict[str, Any]) -> Command:
    """The older `/device/relay/roller/settings/topos` with `pos` [OBS several clients]."""
    if fields.get("pos") in (None, ""):
        raise Refused("params", "pos (0..100) is required")
    return "roller_to_pos", {"id": fields.get("channel") or 0, "pos": fields["pos"]}


def v1_light(fields: dict[str, Any]) -> Command:
    return "light", {"id": fields.get("channel") or 0, **_given(fields, _V1_LIGHT)}


def _channel(body: dict[str, Any]) -> Any:
    return body.get("channel", 0)


def _toggle_after(body: dict[str, Any]) -> dict[str, Any]:
    return {} if body.get("toggle_after") is None else {"timeout": body["toggle_after"]}


def v2_switch(body: dict[str, Any]) -> Command:
    on = body.get("on")
    if not isinstance(on, bool):
        raise Refused("params", "on must be true or false")
    turn = "on" if on else "off"
    return "relay", {"id": _channel(body), "turn": turn, **_toggle_after(body)}


def v2_cover(body: dict[str, Any]) -> Command:
    position, relative = body.get("position"), body.get("relative")
    slats = {k: body[k] for k in ("slatPosition", "slatRelative") if k in body}
    if position is not None and relative is not None:
        raise Refused("params", "position and relative are mutually exclusive")
    if "duration" in body and position not in _COVER_WORDS:
        raise Refused("params", "duration goes only with position open, close or stop")
    if position in _COVER_WORDS:
        if slats:
            raise Refused("params", "Gen1 rollers have no slats")
        return "roller", {"id": _channel(body), "go": position, **_given(body, ("duration",))}
    params: dict[str, Any] = {"id": _channel(body)}
    if position is not None:
        params["pos"] = position
    if relative is not None:
        params["rel"] = relative
    if "slatPosition" in slats:
        params["slat_pos"] = slats["slatPosition"]
    if "slatRelative" in slats:
        params["slat_rel"] = slats["slatRelative"]
    if len(params) == 1:
        raise Refused("params", "position or relative is required")
    return "roller_to_pos", params


def v2_light(body: dict[str, Any]) -> Command:
    params: dict[str, Any] = {"id": _channel(body), **_given(body, _V2_LIGHT)}
    if "on" in body:
        if not isinstance(body["on"], bool):
            raise Refused("params", "on must be true or false")
        params["turn"] = "on" if body["on"] else "off"
    if body.get("temperature") is not None:
        params["temp"] = body["temperature"]
    return "light", {**params, **_toggle_after(body)}
