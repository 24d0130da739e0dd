"""Device-level resources of the Gen1 HTTP API (seed 003 "Common HTTP API").

Channel resources (/relay/N, /roller/N...) belong to their components. Every handler here
validates all its parameters before it changes anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from . import common
from .clock import Now
from .component import Handler
from .errors import BadRequest, NotFound
from .localtime import standard_offset
from .params import Params
from .profile import ProfileError
from .render import Rendered, Renderer

__all__ = ["Served", "common_routes", "serves_cit_d_over_http"]

#: Firmware 1.10.0 (2021-03-02) added HTTP GET /cit/d (doc changelog; aioshelly const.py).
_HTTP_CIT_D_SINCE = 20210302
_FW_DATE = re.compile(r"^(\d{8})")


class Served(Rendered, Protocol):
    """The device as its device-level resources see it (core/device.py's Device is one)."""

    renderer: Renderer
    secrets: dict[str, str]

    def reboot(self, now: Now) -> None: ...

    def restart(self, now: Now) -> None: ...


def serves_cit_d_over_http(fw: str) -> bool:
    """Whether a firmware build answers HTTP GET /cit/d (1.10.0 and later)."""
    match = _FW_DATE.match(fw)
    return match is not None and int(match[1]) >= _HTTP_CIT_D_SINCE


def common_routes(device: Served) -> dict[str, Handler]:
    """Resource path -> handler for everything a device serves besides its channels."""
    model_params = {
        name: common.model_param(spec) for name, spec in device.profile.settings_params.items()
    }
    render = device.renderer

    def shelly(params: Params, now: Now) -> dict[str, Any]:
        return render.shelly(now)

    def status(params: Params, now: Now) -> dict[str, Any]:
        return render.status(now)

    def settings(params: Params, now: Now) -> dict[str, Any]:
        if params.raw("reset"):
            device.factory_reset(now)
            return render.settings(now)
        changes = common.parse_params(params, common.COMMON_PARAMS, device.config)
        changes.update(common.parse_params(params, model_params, device.config))
        for component in device.components:
            changes.update(component.parse_device_settings(params))
        zone_offset = standard_offset(str(changes.get(("timezone",), "")), now.unix)
        if zone_offset is not None and "tz_utc_offset" not in params:
            changes[("tz_utc_offset",)] = zone_offset  # a zone brings its offset (localtime.py)
        mode = params.raw("mode")
        if mode is not None and (device.profile.modes is None or mode not in device.profile.modes):
            raise BadRequest(f"mode: '{mode}' is not one of {device.profile.modes or ()}")
        mqtt_pass = params.text("mqtt_pass", max_len=64)  # a secret: never in /settings
        if mqtt_pass is not None and mqtt_pass != device.secrets["mqtt_pass"]:
            device.secrets["mqtt_pass"] = mqtt_pass
            device.config_changed()
        _apply(device, changes)
        if mode is not None:
            device.apply_mode(mode, now)
        for component in device.components:
            component.on_device_settings(now)
        return render.settings(now)

    def wifi(key: str, secret: str, disables: str | None) -> Handler:
        def handler(params: Params, now: Now) -> dict[str, Any]:
            table = common.STA_PARAMS if key != "wifi_ap" else common.AP_PARAMS
            changes = {
                (key, *path): value
                for path, value in common.parse_params(params, table, device.config[key]).items()
            }
            wifi_key = params.text("key", max_len=64)
            target = {**device.config[key], **{p[1]: v for p, v in changes.items()}}
            if target.get("ipv4_method") == "static" and not all(
                target.get(name) for name in ("ip", "mask")
            ):
                raise BadRequest("static ipv4_method needs ip and mask")
            if wifi_key is not None and key == "wifi_ap" and 0 < len(wifi_key) < 8:
                raise BadRequest("key must be at least 8 characters long")
            if disables and changes.get((key, "enabled")):
                changes[(disables, "enabled")] = False
            if wifi_key is not None and wifi_key != device.secrets[secret]:
                device.secrets[secret] = wifi_key
                device.config_changed()
            _apply(device, changes)
            return render.settings_part(key, now)

        return handler

    def login(params: Params, now: Now) -> dict[str, Any]:
        username = params.text("username", min_len=1, max_len=50)
        password = params.text("password", min_len=1, max_len=50)
        changes = {}
        for flag in ("enabled", "unprotected"):
            value = params.boolean(flag)
            if value is not None:
                changes[("login", flag)] = value
        if username is not None:
            changes[("login", "username")] = username
        if password is not None and password != device.secrets["login_password"]:
            device.secrets["login_password"] = password
            device.config_changed()
        _apply(device, changes)
        return render.settings_part("login", now)

    def cloud(params: Params, now: Now) -> dict[str, Any]:
        enabled = params.boolean("enabled")
        if enabled is not None:
            _apply(device, {("cloud", "enabled"): enabled})
        return {"enabled": device.config["cloud"]["enabled"]}

    def advanced(params: Params, now: Now) -> dict[str, Any]:
        _apply(device, common.parse_params(params, common.ADVANCED_PARAMS, device.config))
        return {"coiot": render.settings_part("coiot", now)}

    def reboot(params: Params, now: Now) -> dict[str, Any]:
        device.schedule("reboot", now.mono + REBOOT_DELAY, device_reboot)
        return {}

    def device_reboot(now: Now) -> None:
        device.restart(now)

    def ota(params: Params, now: Now) -> dict[str, Any]:
        """Gen1 /ota (update, beta, url): core/update.py runs the install."""
        return device.updater.http_ota(params, now)

    def cit_d(describe: Callable[[str | None], dict[str, Any]]) -> Handler:
        def handler(params: Params, now: Now) -> dict[str, Any]:
            """The CoIoT description over HTTP (fw 1.10.0+; aioshelly fetches it from 20210302)."""
            try:
                return describe(device.mode)
            except ProfileError as error:
                raise NotFound(str(error)) from None

        return handler

    routes: dict[str, Handler] = {
        "shelly": shelly,
        "status": status,
        "settings": settings,
        "settings/ap": wifi("wifi_ap", "wifi_ap_key", "wifi_sta"),
        "settings/sta": wifi("wifi_sta", "wifi_sta_key", "wifi_ap"),
        "settings/login": login,
        "settings/cloud": cloud,
        "settings/advanced": advanced,
        "reboot": reboot,
        "ota": ota,
    }
    if "wifi_sta1" in device.config:
        routes["settings/sta1"] = wifi("wifi_sta1", "wifi_sta1_key", None)
    if device.profile.cit_d is not None and serves_cit_d_over_http(device.identity.fw):
        routes["cit/d"] = cit_d(device.profile.cit_d)
    return routes


#: Seconds between answering /reboot and restarting, so the answer leaves first.
REBOOT_DELAY = 0.5


def _apply(device: Served, changes: dict[tuple[str, ...], Any]) -> None:
    """Write changed leaves into the config; one cfg_changed_cnt bump if anything changed."""
    changed = {
        path: value
        for path, value in changes.items()
        if common.get_path(device.config, path) != value
    }
    for path, value in changed.items():
        common.set_path(device.config, path, value)
    if changed:
        device.config_changed()
