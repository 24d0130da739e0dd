"""JSON shapes of the cloud's wire messages, as pure functions (no state, no I/O).

Two dialects of the same events (spec/cloud.md §2.4.1 vs §3.7): the integrator socket carries a
top-level `deviceId`; the account (RTE) socket carries `device: {id, code, gen}` with a decimal
string id. REST uses hex ids. Shapes are taken from seeds 000/002 and spec/cloud.md.
"""

from enum import StrEnum
from typing import Any

from fake_cloud.state.backend import Device, Grant
from fake_cloud.state.config import ErrorsStyle, IdForm, Policies
from fake_cloud.state.events import Event, OnlineChanged, SettingsChanged, StatusChanged
from fake_cloud.state.ids import hex_to_dec

__all__ = [
    "SocketKind",
    "action_response",
    "all_status",
    "callback_body",
    "category",
    "command_response",
    "envelope_error",
    "envelope_ok",
    "error_event",
    "event_frame",
    "integrator_id",
]


class SocketKind(StrEnum):
    INTEGRATOR = "integrator"
    ACCOUNT = "account"


def envelope_ok(data: Any) -> dict[str, Any]:
    """Seed 002 "Interpreting API Results"."""
    return {"isok": True, "data": data}


def envelope_error(errors: dict[str, str], style: ErrorsStyle) -> dict[str, Any]:
    """`errors` as an object map (as seen from /oauth/login) or as the doc's array (§1.1)."""
    rendered: Any = errors if style is ErrorsStyle.OBJECT else list(errors.values())
    return {"isok": False, "errors": rendered}


def error_event(message: str) -> dict[str, Any]:
    """Answer to a malformed frame; the socket stays open (§2.4 [OBS])."""
    return {"event": "Error", "message": message}


def integrator_id(device: Device, form: IdForm) -> str:
    return hex_to_dec(device.id) if form is IdForm.DEC else device.id


def category(device: Device) -> str:
    """Callback `deviceType` as a category, read from the device's own documents (§2.3)."""
    if device.settings.get("mode") == "roller" or (
        "mode" not in device.settings and device.status.get("rollers")
    ):
        return "roller"
    if device.status.get("lights"):
        return "light"
    if device.status.get("relays"):
        return "relay"
    return "sensor"


def channel_names(device: Device) -> list[str]:
    """Callback `name`: one name per channel (§2.3), falling back to the device's name."""
    kind = {"roller": "rollers", "light": "lights"}.get(category(device), "relays")
    channels = device.settings.get(kind) or device.status.get(kind) or [{}]
    fallback = device.name or device.settings.get("name") or device.code
    return [(c.get("name") if isinstance(c, dict) else None) or fallback for c in channels]


def _status_payload(event: StatusChanged, delta: bool) -> dict[str, Any]:
    if not delta:
        return event.status
    return {k: event.status[k] for k in (*event.changed, "serial")}


def event_frame(
    kind: SocketKind, event: Event, device: Device, policies: Policies
) -> dict[str, Any] | None:
    """The frame one socket kind gets for a backend event, or None when it gets none."""
    if kind is SocketKind.INTEGRATOR:
        head: dict[str, Any] = {"deviceId": integrator_id(device, policies.integrator_device_id)}
    else:
        head = {"device": {"id": hex_to_dec(device.id), "code": device.code, "gen": device.gen}}
    match event:
        case StatusChanged():
            body = {"status": _status_payload(event, policies.status_delta)}
            return {"event": "Shelly:StatusOnChange", **head, **body}
        case SettingsChanged():
            if kind is SocketKind.ACCOUNT and not policies.rte_settings_events:
                return None
            return {"event": "Shelly:Settings", **head, "settings": event.settings}
        case OnlineChanged():
            return {"event": "Shelly:Online", **head, "online": int(event.online)}


def command_response(
    trid: Any, device_id: str, user: int, error: str | None = None
) -> dict[str, Any]:
    """INT-COMM §2.4.3 / RTE: `user` is a number (ushelly drops the response otherwise)."""
    data: dict[str, Any] = {"isok": True} if error is None else {"isok": False, "res": error}
    return {
        "event": "Shelly:CommandResponse",
        "trid": trid,
        "deviceId": device_id,
        "user": user,
        "data": data,
    }


def action_response(
    trid: Any, result: str, device_id: Any, user: int | None = None, **extra: Any
) -> dict[str, Any]:
    """INT-COMM §2.4.4: here `user` is a string, unlike CommandResponse."""
    frame: dict[str, Any] = {"event": "Integrator:ActionResponse", "trid": trid}
    if user is not None:
        frame["user"] = str(user)
    frame["data"] = {"result": result, "deviceId": device_id, **extra}
    return frame


def device_facts(device: Device, access: str, with_settings: bool) -> dict[str, Any]:
    """ActionResponse extras, present "only if the device is online in the cloud"."""
    facts: dict[str, Any] = {}
    if device.online:
        facts = {"deviceType": category(device), "deviceCode": device.code}
        if with_settings:
            facts["deviceSettings"] = device.settings
        else:
            facts["deviceStatus"] = device.status
    facts["accessGroups"] = access
    return facts


def callback_body(
    grant: Grant, device: Device, host: str, action: str, policies: Policies
) -> dict[str, Any]:
    """Consent callback JSON, one per device (INT-USERS, spec/cloud.md §2.3)."""
    return {
        "userId": grant.user,
        "deviceId": integrator_id(device, policies.integrator_device_id),
        "deviceType": category(device) if policies.device_type_is_category else device.code,
        "deviceCode": device.code,
        "accessGroups": grant.access,
        "action": action,
        "host": host,
        "name": channel_names(device),
    }


def all_status(devices: list[Device], show_info: bool) -> dict[str, Any]:
    """`GET /device/all_status` data (seed 002): hex keys, `_dev_info.online` a boolean."""
    statuses: dict[str, Any] = {}
    for device in devices:
        entry = dict(device.status)
        if show_info:
            entry["_dev_info"] = {
                "id": device.id,
                "gen": device.gen,
                "code": device.code,
                "online": device.online,
            }
        statuses[device.id] = entry
    return {"devices_status": statuses}
