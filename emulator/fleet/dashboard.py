"""The fleet dashboard's routes on the control API: the page at ``/_emu/`` and its table rows.

A row is what a person scans a fleet for: model, address, online/asleep/faults and a few words
of key state (relays, rollers, lights, power, what sensors read), all read from the device's
own ``/status`` so every model is described the same way (no per-model code).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

from ..transports.http.pages import page
from .interface import ControlledMember, FleetControl

__all__ = ["key_state", "register_dashboard", "row"]


def register_dashboard(app: Flask, control: FleetControl) -> None:
    """Add ``/_emu/`` (the page) and ``/_emu/rows`` (every device's row) to the control app."""

    @app.get("/_emu/")
    def dashboard() -> Response:
        return Response(page("dashboard.html"), mimetype="text/html")

    @app.get("/_emu/rows")
    def rows() -> Response:
        body = control.runtime.call(lambda: [row(member) for member in control.fleet])
        return Response(json.dumps(body, separators=(",", ":")), mimetype="application/json")


def row(member: ControlledMember) -> dict[str, Any]:
    """One device's row; loop thread only (it reads the device's status)."""
    host = member.host
    status = host.call("status", {})
    assert isinstance(status, dict)
    faults = host.faults.as_dict()
    return {
        "id": member.id,
        "model": host.model,
        "ip": host.ip,
        "url": host.url,
        "online": not host.faults.offline,
        "asleep": host.device.asleep,
        "faults": sorted(name for name, value in faults.items() if value),
        "state": key_state(status),
        "power": _total_power(status),
    }


def _total_power(status: Mapping[str, Any]) -> float | None:
    meters = [*status.get("meters", ()), *status.get("emeters", ())]
    powers = [m["power"] for m in meters if isinstance(m.get("power"), int | float)]
    return round(sum(powers), 2) if powers else None


def key_state(status: Mapping[str, Any]) -> list[str]:
    """A few words per part of the device, in /status's own terms (seed 003 /status)."""
    words: list[str] = []
    for index, relay in enumerate(status.get("relays", ())):
        words.append(f"relay {index} {'on' if relay.get('ison') else 'off'}")
    for index, roller in enumerate(status.get("rollers", ())):
        words.append(f"roller {index} {roller.get('state')} {roller.get('current_pos')}%")
    for index, light in enumerate(status.get("lights", ())):
        level = light.get("brightness", light.get("gain"))
        suffix = f" {level}%" if level is not None else ""
        words.append(f"light {index} {'on' if light.get('ison') else 'off'}{suffix}")
    power = _total_power(status)
    if power is not None:
        words.append(f"{power} W")
    for key, unit in (("tmp", "°C"), ("hum", "%RH"), ("lux", "lux"), ("bat", "% bat")):
        reading = status.get(key)
        valid = isinstance(reading, dict) and reading.get("is_valid", True)
        if valid and reading.get("value") is not None:
            words.append(f"{reading['value']} {unit}")
    for alarm in ("smoke", "flood"):
        if status.get(alarm):
            words.append(alarm.upper())
    sensor = status.get("sensor")
    if isinstance(sensor, dict) and sensor.get("motion"):
        words.append("motion")
    return words
