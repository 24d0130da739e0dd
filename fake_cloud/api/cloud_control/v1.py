"""Cloud Control API v1 ("Communication (deprecated)"): form fields with `auth_key`, answers in
the `{"isok", "data"}` / `{"isok": false, "errors"}` envelope (spec/cloud.md §4.1).

`/device/status` takes its fields from the query or the body ("Supported methods: GET and
POST"); control endpoints are POST with fields "ONLY via the request's body" (support article
"What is Shelly Cloud API?") — form-encoded, or a JSON object as some clients send.
`/device/all_status` with an `auth_key` is answered here through fake_cloud/rest.py.

Error keys and statuses are not documented; the fake's choices (README "Cloud Control API"):
credentials and rate get HTTP 401 (rate: `Policies.cc_rate_limit_status`), everything about
the device HTTP 200 with `isok: false` — an unknown device with `data: null` [OBS notDIRK].
"""

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, g, jsonify, request

from fake_cloud.api.cloud_control.access import Denied, account
from fake_cloud.api.cloud_control.runner import CallFailed, run_calls
from fake_cloud.api.cloud_control.translate import (
    Command,
    Refused,
    to_call,
    v1_light,
    v1_relay,
    v1_roller,
    v1_topos,
)
from fake_cloud.api.commands import Call
from fake_cloud.api.context import Services
from fake_cloud.api.render import all_status, category, envelope_error, envelope_ok
from fake_cloud.state.backend import Device, User

if TYPE_CHECKING:
    from fake_cloud.api.ws import Hub

__all__ = ["V1Error", "all_status_by_key", "v1_blueprint"]

_UNSET = object()
REFUSED_KEYS = {
    "params": "invalid_params",
    "channel": "invalid_channel",
    "calibration": "not_calibrated",
    "mode": "invalid_mode",
}
FAILED_KEYS = {"offline": "device_offline", "timeout": "device_timeout", "device": "device_error"}


class V1Error(Exception):
    """A v1 refusal: `errors: {key: message}` with HTTP `status` and, if given, `data`."""

    def __init__(self, key: str, message: str, status: int = 200, data: Any = _UNSET) -> None:
        super().__init__(message)
        self.key, self.status, self.data = key, status, data

    def response(self, services: Services) -> tuple[Response, int]:
        body = envelope_error({self.key: str(self)}, services.policies.errors_style)
        if self.data is not _UNSET:
            body["data"] = self.data
        return jsonify(body), self.status


def _user(services: Services, fields: dict[str, Any]) -> User:
    try:
        return account(
            services, g.server, fields.get("auth_key"), request.headers.get("Authorization", "")
        )
    except Denied as exc:
        if exc.kind == "rate_limited":
            raise V1Error("max_req", str(exc), services.policies.cc_rate_limit_status) from None
        if exc.kind == "wrong_host":
            raise V1Error("wrong_host", str(exc), 401, {"host": exc.host}) from None
        raise V1Error("invalid_auth_key", str(exc), 401) from None


def _device(services: Services, user: User, raw: Any, online: bool = False) -> Device:
    """The account's device by id (hex as the app shows it, or decimal); with `online`, one
    the cloud sees online, checked first as for a CommandRequest (wsapi.py)."""
    device = services.backend.find_device(raw, prefer_dec=False) if raw else None
    if device is None or device.owner != user.id:
        raise V1Error("device_not_found", f"no device {raw!r} on this account", data=None)
    if online and not device.online:
        raise V1Error("device_offline", "device is offline")
    return device


def _body() -> dict[str, Any]:
    fields: dict[str, Any] = dict(request.form.items())
    data = request.get_json(silent=True) if request.is_json else None
    if isinstance(data, dict):
        fields.update(data)
    return fields


def _query_and_body() -> dict[str, Any]:
    return {**request.args, **_body()}


def _flag(value: Any, default: bool) -> bool:
    if value in (None, ""):
        return default
    return str(value).lower() in ("1", "true", "yes", "y", "t", "on")


def all_status_by_key(services: Services, fields: dict[str, Any]) -> Any:
    """`/device/all_status?auth_key=`: every device of the account, with `_dev_info` unless
    `show_info` is false (auth_key clients read it without asking [OBS notDIRK])."""
    try:
        user = _user(services, fields)
    except V1Error as exc:
        return exc.response(services)
    backend = services.backend
    with backend.lock:
        data = all_status(backend.devices_of(user.id), _flag(fields.get("show_info"), True))
    return jsonify(envelope_ok(data))


def _run_one(hub: "Hub", device: Device, call: Call) -> None:
    (result,) = run_calls(hub, [(device.id, call)])
    if isinstance(result, CallFailed):
        raise V1Error(FAILED_KEYS[result.reason], str(result))


def _check(services: Services, device: Device, command: Command) -> Call:
    try:
        with services.backend.lock:
            return to_call(device, command)
    except Refused as exc:
        raise V1Error(REFUSED_KEYS[exc.reason], str(exc)) from None


def _bulk_devices(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """`devices=[{"id":…,"channel":…}]`: a JSON string in a form field, or a JSON list."""
    raw = fields.get("devices")
    try:
        devices = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        devices = None
    if (
        not isinstance(devices, list)
        or not devices
        or not all(isinstance(d, dict) for d in devices)
    ):
        raise V1Error("invalid_params", 'devices must be a JSON list of {"id", "channel"}')
    return devices


def v1_blueprint(hub: "Hub") -> Blueprint:
    services = hub.services
    bp = Blueprint("cloud_control_v1", __name__)
    bp.register_error_handler(V1Error, lambda exc: exc.response(services))

    def control(build: Callable[[dict[str, Any]], Command]) -> Any:
        fields = _body()
        user = _user(services, fields)
        device = _device(services, user, fields.get("id"), online=True)
        try:
            command = build(fields)
        except Refused as exc:
            raise V1Error(REFUSED_KEYS[exc.reason], str(exc)) from None
        _run_one(hub, device, _check(services, device, command))
        return jsonify(envelope_ok({"device_id": device.id}))

    def bulk(build: Callable[[dict[str, Any]], Command]) -> Any:
        """One call per listed device and channel, all at once; isok only if all succeed
        (the answer's shape is not documented: `data.failed` maps `<id>_<channel>` to the
        error key) [INFER]."""
        fields = _body()
        user = _user(services, fields)
        failed: dict[str, str] = {}
        calls: list[tuple[str, Call, str]] = []
        for entry in _bulk_devices(fields):
            name = f"{entry.get('id')}_{entry.get('channel', 0)}"
            try:
                device = _device(services, user, entry.get("id"), online=True)
                command = build({**fields, "channel": str(entry.get("channel", 0))})
                calls.append((device.id, _check(services, device, command), name))
            except Refused as exc:
                failed[name] = REFUSED_KEYS[exc.reason]
            except V1Error as exc:
                failed[name] = exc.key
        results = run_calls(hub, [(hexid, call) for hexid, call, _ in calls])
        for (_, _, name), result in zip(calls, results, strict=True):
            if isinstance(result, CallFailed):
                failed[name] = FAILED_KEYS[result.reason]
        if failed:
            message = f"{len(failed)} of {len(failed) + len(calls)} failed"
            raise V1Error("bulk_failed", message, data={"failed": failed})
        return jsonify(envelope_ok({"failed": {}}))

    @bp.route("/device/status", methods=["GET", "POST"])
    def device_status() -> Any:
        fields = _query_and_body()
        user = _user(services, fields)
        device = _device(services, user, fields.get("id"))
        with services.backend.lock:
            data = {"online": device.online, "device_status": dict(device.status)}
        return jsonify(envelope_ok(data))

    bp.add_url_rule("/device/relay/control", "relay", lambda: control(v1_relay), methods=["POST"])
    bp.add_url_rule(
        "/device/relay/roller/control", "roller", lambda: control(v1_roller), methods=["POST"]
    )
    bp.add_url_rule(
        "/device/relay/roller/settings/topos", "topos", lambda: control(v1_topos), methods=["POST"]
    )
    bp.add_url_rule("/device/light/control", "light", lambda: control(v1_light), methods=["POST"])
    bp.add_url_rule(
        "/device/relay/bulk_control", "relay_bulk", lambda: bulk(v1_relay), methods=["POST"]
    )
    bp.add_url_rule(
        "/device/light/bulk_control", "light_bulk", lambda: bulk(v1_light), methods=["POST"]
    )
    bp.add_url_rule(
        "/device/roller/bulk_control", "roller_bulk", lambda: bulk(v1_roller), methods=["POST"]
    )

    @bp.route("/interface/device/list", methods=["GET", "POST"])
    def device_list() -> Any:
        """The app's device list, used by many clients for names [OBS pyShelly, notDIRK]."""
        user = _user(services, _query_and_body())
        backend = services.backend
        with backend.lock:
            devices = {
                d.id: {
                    "id": d.id,
                    "type": d.code,
                    "category": category(d),
                    "name": d.name or d.settings.get("name") or d.code,
                    "room_id": 0,
                    "cloud_online": d.online,
                    "gen": d.gen,
                    "channel": 0,
                }
                for d in backend.devices_of(user.id)
            }
        return jsonify(envelope_ok({"devices": devices}))

    @bp.route("/interface/room/list", methods=["GET", "POST"])
    def room_list() -> Any:
        """Rooms are an app feature the fake does not model: none [OBS pyShelly asks]."""
        _user(services, _query_and_body())
        return jsonify(envelope_ok({"rooms": {}}))

    return bp
