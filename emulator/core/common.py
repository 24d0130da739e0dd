"""Settings every Gen1 device shares (seed 003 "Common HTTP API"): the /settings parameter
table and the /settings/ap, /sta, /sta1, /login, /cloud and /advanced resources.

Each parameter maps to a path in the device's config and a typed reader; handlers validate
every parameter before applying any, so a bad request changes nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import BadRequest
from .params import Params

__all__ = ["COMMON_PARAMS", "Setting", "parse_params", "parse_peer"]


@dataclass(frozen=True, slots=True)
class Setting:
    """A settable value: where it lives in the config and how to read it from a request."""

    path: tuple[str, ...]
    read: Callable[[Params, str], Any]


def _bool(params: Params, name: str) -> Any:
    return params.boolean(name)


def _text(max_len: int = 256, min_len: int = 0) -> Callable[[Params, str], Any]:
    return lambda params, name: params.text(name, max_len=max_len, min_len=min_len)


def _int(low: int, high: int) -> Callable[[Params, str], Any]:
    return lambda params, name: params.integer(name, low, high)


def _float(low: float, high: float) -> Callable[[Params, str], Any]:
    return lambda params, name: params.number(name, low, high)


def _choice(*allowed: str) -> Callable[[Params, str], Any]:
    return lambda params, name: params.choice(name, allowed)


def parse_peer(value: str) -> str:
    """``coiot_peer``: empty or ``mcast`` = multicast, else ``ip[:port]`` (spec/clients.md 2.8)."""
    if value in ("", "mcast"):
        return ""
    host, _, port = value.partition(":")
    try:
        ipaddress.IPv4Address(host)
        if port and not 0 < int(port) < 65536:
            raise ValueError
    except ValueError:
        raise BadRequest(f"coiot_peer: '{value}' is not ip[:port] or mcast") from None
    return value


def _peer(params: Params, name: str) -> Any:
    value = params.raw(name)
    return None if value is None else parse_peer(value)


def _ip_or_empty(params: Params, name: str) -> Any:
    value = params.raw(name)
    if value is None:
        return None
    if value == "":
        return None
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise BadRequest(f"{name}: '{value}' is not an IPv4 address") from None
    return value


def _name(params: Params, name: str) -> Any:
    """An empty name is stored as null, as real firmware shows an unnamed device."""
    value = params.text(name, max_len=64)
    return value or None


#: /settings parameters common to all models (seed 003 /settings, plus what 1.14 firmware takes).
COMMON_PARAMS: dict[str, Setting] = {
    "name": Setting(("name",), _name),
    "mqtt_enable": Setting(("mqtt", "enable"), _bool),
    "mqtt_server": Setting(("mqtt", "server"), _text(128)),
    "mqtt_user": Setting(("mqtt", "user"), _text(64)),
    "mqtt_id": Setting(("mqtt", "id"), _text(64)),
    "mqtt_reconnect_timeout_max": Setting(("mqtt", "reconnect_timeout_max"), _float(1, 86400)),
    "mqtt_reconnect_timeout_min": Setting(("mqtt", "reconnect_timeout_min"), _float(1, 86400)),
    "mqtt_clean_session": Setting(("mqtt", "clean_session"), _bool),
    "mqtt_keep_alive": Setting(("mqtt", "keep_alive"), _int(1, 65535)),
    "mqtt_max_qos": Setting(("mqtt", "max_qos"), _int(0, 2)),
    "mqtt_retain": Setting(("mqtt", "retain"), _bool),
    "mqtt_update_period": Setting(("mqtt", "update_period"), _int(0, 86400)),
    "coiot_enable": Setting(("coiot", "enabled"), _bool),
    "coiot_update_period": Setting(("coiot", "update_period"), _int(15, 65535)),  # spec/coiot.md
    "coiot_peer": Setting(("coiot", "peer"), _peer),
    "sntp_server": Setting(("sntp", "server"), _text(128)),
    "sntp_enable": Setting(("sntp", "enabled"), _bool),
    "discoverable": Setting(("discoverable",), _bool),
    "tzautodetect": Setting(("tzautodetect",), _bool),
    "lat": Setting(("lat",), _float(-90, 90)),
    "lng": Setting(("lng",), _float(-180, 180)),
    "timezone": Setting(("timezone",), _text(64, 1)),
    "tz_utc_offset": Setting(("tz_utc_offset",), _int(-43200, 50400)),
    "tz_dst": Setting(("tz_dst",), _bool),
    "tz_dst_auto": Setting(("tz_dst_auto",), _bool),
    "debug_enable": Setting(("debug_enable",), _bool),
    "allow_cross_origin": Setting(("allow_cross_origin",), _bool),
    "eco_mode_enabled": Setting(("eco_mode_enabled",), _bool),
    "factory_reset_from_switch": Setting(("factory_reset_from_switch",), _bool),
    "pon_wifi_reset": Setting(("pon_wifi_reset",), _bool),
    "ap_roaming_enabled": Setting(("ap_roaming", "enabled"), _bool),
    "ap_roaming_threshold": Setting(("ap_roaming", "threshold"), _int(-100, 0)),
    "longpush_time": Setting(("longpush_time",), _int(1, 5000)),
    "coiot_execute_enable": Setting(("coiot_execute_enable",), _bool),
}

ADVANCED_PARAMS = {name: COMMON_PARAMS[name] for name in COMMON_PARAMS if name.startswith("coiot_")}

STA_PARAMS: dict[str, Setting] = {
    "enabled": Setting(("enabled",), _bool),
    "ssid": Setting(("ssid",), _text(32, 1)),
    "ipv4_method": Setting(("ipv4_method",), _choice("dhcp", "static")),
    "ip": Setting(("ip",), _ip_or_empty),
    "gw": Setting(("gw",), _ip_or_empty),
    "mask": Setting(("mask",), _ip_or_empty),
    "dns": Setting(("dns",), _ip_or_empty),
}

AP_PARAMS: dict[str, Setting] = {"enabled": Setting(("enabled",), _bool)}


def model_param(spec: Mapping[str, Any]) -> Setting:
    """A model-specific /settings parameter from the profile's ``settings_params`` entry."""
    path = tuple(spec.get("path", ()))
    kind = spec.get("type", "bool")
    if kind == "bool":
        return Setting(path, _bool)
    if kind == "int":
        return Setting(path, _int(spec["min"], spec["max"]))
    if kind == "float":
        return Setting(path, _float(spec["min"], spec["max"]))
    if kind == "choice":
        return Setting(path, _choice(*spec["values"]))
    if kind == "text":
        return Setting(path, _text(spec.get("max_len", 64)))
    raise ValueError(f"unknown settings_params type {kind!r}")


def parse_params(
    params: Params, table: Mapping[str, Setting], config: Mapping[str, Any]
) -> dict[tuple[str, ...], Any]:
    """Typed changes for every known parameter present; only those whose path exists in config."""
    changes: dict[tuple[str, ...], Any] = {}
    for name, setting in table.items():
        if name not in params or not _has_path(config, setting.path):
            continue
        value = setting.read(params, name)
        if value is None and name not in ("ip", "gw", "mask", "dns", "name"):
            continue
        changes[setting.path] = value
    return changes


def _has_path(config: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = config
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def get_path(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = config
    for part in path:
        node = node[part]
    return node


def set_path(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
