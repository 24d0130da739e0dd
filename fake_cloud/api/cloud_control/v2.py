"""Cloud Control API v2 ("Communication v2.0-beta", spec/cloud.md §4.2): JSON bodies, `auth_key`
in the query string (also read from the body, as one client sends it, or an OAuth Bearer token).

Success is HTTP 200: `get` answers a bare JSON array (not the isok envelope); `set/*` answer
with an empty body; `set/groups` adds `{"failedCommands": {"<ID>_<CH>": "<ERR>"}}` when some
devices failed. Errors are `{"error": "<STRING>", "data": {"messages": [...]}}` with the
documented strings and statuses: BAD_REQUEST, DEVICE_OFFLINE, DEVICE_INVALID_MODE,
DEVICE_INVALID_CHANNEL, DEVICE_FAILED_COMMAND (400), DEVICE_NOT_FOUND (404), and
DEVICE_UNSUPPORTED_COMMAND in groups. Not documented, so chosen [INFER]: UNAUTHORIZED and
WRONG_HOST (401, the latter with `data.host`), TOO_MANY_REQUESTS (`cc_rate_limit_status`).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, g, jsonify, request

from fake_cloud.api.cloud_control.access import Denied, account
from fake_cloud.api.cloud_control.runner import CallFailed, run_calls
from fake_cloud.api.cloud_control.translate import (
    Command,
    Refused,
    to_call,
    v2_cover,
    v2_light,
    v2_switch,
)
from fake_cloud.api.commands import Call
from fake_cloud.api.context import Services
from fake_cloud.api.render import category
from fake_cloud.state.backend import Device, User

if TYPE_CHECKING:
    from fake_cloud.api.ws import Hub

__all__ = ["V2Error", "v2_blueprint"]

MAX_IDS = 10  # "ids": "1..10 ids" [DOC v2 get]
SELECTABLE = ("status", "settings")
# set/<kind>: the request builder and the device category it drives.
KINDS: dict[str, tuple[Callable[[dict[str, Any]], Command], str]] = {
    "switch": (v2_switch, "relay"),
    "cover": (v2_cover, "roller"),
    "light": (v2_light, "light"),
}
REFUSED = {
    "params": "BAD_REQUEST",
    "channel": "DEVICE_INVALID_CHANNEL",
    "calibration": "DEVICE_FAILED_COMMAND",
    "mode": "DEVICE_INVALID_MODE",
}
FAILED = {
    "offline": "DEVICE_OFFLINE",
    "timeout": "DEVICE_FAILED_COMMAND",
    "device": "DEVICE_FAILED_COMMAND",
}
STATUS = {"DEVICE_NOT_FOUND": 404, "INSTANCE_NOT_FOUND": 404, "UNEXPECTED_SUBSERVICE_ERROR": 500}


class V2Error(Exception):
    def __init__(self, error: str, message: str, status: int | None = None, **data: Any) -> None:
        super().__init__(message)
        self.error, self.data = error, data
        self.status = status or STATUS.get(error, 400)

    def response(self) -> tuple[Response, int]:
        body = {"error": self.error, "data": {"messages": [str(self)], **self.data}}
        return jsonify(body), self.status


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise V2Error("BAD_REQUEST", "the body must be a JSON object")
    return body


def _user(services: Services, body: dict[str, Any]) -> User:
    key = request.args.get("auth_key") or body.get("auth_key")
    try:
        return account(services, g.server, key, request.headers.get("Authorization", ""))
    except Denied as exc:
        if exc.kind == "rate_limited":
            status = services.policies.cc_rate_limit_status
            raise V2Error("TOO_MANY_REQUESTS", str(exc), status) from None
        if exc.kind == "wrong_host":
            raise V2Error("WRONG_HOST", str(exc), 401, host=exc.host) from None
        raise V2Error("UNAUTHORIZED", str(exc), 401) from None


def _device(services: Services, user: User, raw: Any) -> Device:
    """The account's device, online: offline is checked first, as for a CommandRequest."""
    device = services.backend.find_device(raw, prefer_dec=False) if raw else None
    if device is None or device.owner != user.id:
        raise V2Error("DEVICE_NOT_FOUND", f"no device {raw!r} on this account")
    if not device.online:
        raise V2Error("DEVICE_OFFLINE", "device is offline")
    return device


def _call(services: Services, device: Device, command: Command, kind: str) -> Call:
    """Check kind and command against the device; Refused reasons as raised."""
    with services.backend.lock:
        if category(device) != KINDS[kind][1]:
            raise Refused("mode", f"device {device.id} is not a {kind}")
        return to_call(device, command)


def _picked(document: dict[str, Any], keys: Any) -> dict[str, Any]:
    if keys is None:
        return dict(document)
    return {k: document[k] for k in keys if k in document}


def _get(services: Services) -> Any:
    body = _json_body()
    user = _user(services, body)
    ids = body.get("ids")
    select = body.get("select", services.policies.cc_v2_default_select)
    pick = body.get("pick") or {}
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_IDS:
        raise V2Error("BAD_REQUEST", f"ids must be a list of 1 to {MAX_IDS} device ids")
    if not isinstance(select, list) or any(s not in SELECTABLE for s in select):
        raise V2Error("BAD_REQUEST", "select must list status and/or settings")
    if not isinstance(pick, dict) or any(not isinstance(v, list) for v in pick.values()):
        raise V2Error("BAD_REQUEST", 'pick must map "status"/"settings" to lists of keys')
    backend = services.backend
    answer = []
    with backend.lock:
        for raw in ids:
            device = backend.find_device(raw, prefer_dec=False)
            if device is None or device.owner != user.id:
                continue  # unknown ids are left out [INFER]
            entry: dict[str, Any] = {
                "id": device.id,
                "type": category(device),
                "code": device.code,
                "gen": device.gen,
                "online": int(device.online),
            }
            if "status" in select:
                entry["status"] = _picked(device.status, pick.get("status"))
            if "settings" in select:
                entry["settings"] = _picked(device.settings, pick.get("settings"))
            answer.append(entry)
    return jsonify(answer)


def _set(hub: "Hub", kind: str) -> Any:
    services = hub.services
    body = _json_body()
    user = _user(services, body)
    device = _device(services, user, body.get("id"))
    build = KINDS[kind][0]
    try:
        call = _call(services, device, build(body), kind)
    except Refused as exc:
        raise V2Error(REFUSED[exc.reason], str(exc)) from None
    (result,) = run_calls(hub, [(device.id, call)])
    if isinstance(result, CallFailed):
        raise V2Error(FAILED[result.reason], str(result))
    return Response(status=200)


def _split(target: Any) -> tuple[str, int]:
    """`"<ID>_<CH>"`; the channel is 0 when left off."""
    if not isinstance(target, str) or not target:
        raise V2Error("BAD_REQUEST", "ids must be strings like <ID>_<CHANNEL>")
    hexid, _, channel = target.partition("_")
    if channel and not channel.isdecimal():
        raise V2Error("BAD_REQUEST", f"bad channel in {target!r}")
    return hexid, int(channel or 0)


def _groups(hub: "Hub") -> Any:
    services = hub.services
    body = _json_body()
    user = _user(services, body)
    groups = {k: v for k, v in body.items() if k != "auth_key"}
    if not groups or any(k not in KINDS for k in groups):
        raise V2Error("BAD_REQUEST", f"groups are {', '.join(KINDS)}")
    failed: dict[str, str] = {}
    calls: list[tuple[str, Call, str]] = []
    for kind, group in groups.items():
        if not isinstance(group, dict) or not isinstance(group.get("ids"), list):
            raise V2Error("BAD_REQUEST", f'{kind} needs {{"ids": [...], "command": {{...}}}}')
        command = group.get("command")
        if not isinstance(command, dict):
            raise V2Error("BAD_REQUEST", f"{kind}.command must be an object")
        for target in group["ids"]:
            hexid, channel = _split(target)
            try:
                built = KINDS[kind][0]({**command, "channel": channel})
            except Refused as exc:
                raise V2Error("BAD_REQUEST", f"{kind}.command: {exc}") from None
            try:
                device = _device(services, user, hexid)
                calls.append((device.id, _call(services, device, built, kind), target))
            except V2Error as exc:
                failed[target] = exc.error
            except Refused as exc:
                failed[target] = (
                    "DEVICE_UNSUPPORTED_COMMAND" if exc.reason == "mode" else REFUSED[exc.reason]
                )
    results = run_calls(hub, [(hexid, call) for hexid, call, _ in calls])
    for (_, _, target), result in zip(calls, results, strict=True):
        if isinstance(result, CallFailed):
            failed[target] = FAILED[result.reason]
    return jsonify({"failedCommands": failed}) if failed else Response(status=200)


def v2_blueprint(hub: "Hub") -> Blueprint:
    bp = Blueprint("cloud_control_v2", __name__, url_prefix="/v2/devices/api")
    bp.register_error_handler(V2Error, lambda exc: exc.response())
    bp.add_url_rule("/get", "get", lambda: _get(hub.services), methods=["POST"])
    for kind in KINDS:
        bp.add_url_rule(
            f"/set/{kind}", f"set_{kind}", lambda kind=kind: _set(hub, kind), methods=["POST"]
        )
    bp.add_url_rule("/set/groups", "set_groups", lambda: _groups(hub), methods=["POST"])
    return bp
