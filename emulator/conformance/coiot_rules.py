"""What CoIoT packets must look like, and waiting for a change to be published.

Byte-level rules from ``../shared/spec/coiot.md`` (sections 0, 3.2, 3.3, 4.1) and what clients
need from ``../shared/spec/clients.md`` (3.3, 8). Used by ``checks.py``.
"""

from __future__ import annotations

import re
import socket
import time
from typing import Any

import pytest

from . import coap
from .facts import Device, Options
from .schemas import errors_of, validator
from .target import Target

__all__ = ["CoiotWatch", "devid_problems", "publish_timeout", "status_packet_problems"]


def devid_problems(device: Device, devid: str | None) -> list[str]:
    """Option 3332 must be TYPE#ID#VER with ID ending in the MAC's last 6 (coiot.md 3.2)."""
    if devid is None:
        return ["no option 3332 (device id)"]
    parts = devid.split("#")
    if len(parts) != 3:
        return [f"3332 {devid!r} is not TYPE#ID#VER"]
    mac = str(device.shelly.get("mac", ""))
    version = str(device.coiot_version)
    problems = []
    if parts[0] != device.shelly.get("type"):
        problems.append(f"3332 type {parts[0]!r} != /shelly type")
    if not re.fullmatch(r"[0-9A-F]{6}|[0-9A-F]{12}", parts[1]) or parts[1][-6:] != mac[-6:]:
        problems.append(f"3332 id {parts[1]!r} does not end in the MAC's last 6 (upper case)")
    if device.shelly.get("longid") == 1 and parts[1] != mac:
        problems.append(f"3332 id {parts[1]!r} != MAC although longid is 1")
    if parts[2] != version:
        problems.append(f"3332 version {parts[2]!r}, expected {version} for this firmware")
    return problems


def status_packet_problems(device: Device, packet: coap.Packet, description: Any) -> list[str]:
    """What a /cit/s answer or publish must carry besides its code (coiot.md 0, 3.2, 3.3)."""
    problems = devid_problems(device, packet.devid)
    if packet.uri_path != ("cit", "s"):
        problems.append(f"Uri-Path {'/'.join(packet.uri_path) or '(none)'}, expected cit/s")
    if packet.token:
        problems.append(f"token {packet.token!r}: aioshelly cannot parse tokens")
    if packet.validity is None or len(packet.validity) != 2:
        problems.append(f"3412 validity {packet.validity!r}, expected exactly 2 bytes")
    if packet.serial is None or len(packet.serial) != 2:
        problems.append(f"3420 serial {packet.serial!r}, expected exactly 2 bytes")
    elif packet.serial_le == 0:
        problems.append("3420 serial is 0, which is reserved")
    try:
        body = packet.json()
    except ValueError as exc:
        return [*problems, f"payload is not JSON: {exc}"]
    problems += errors_of(validator("common", "coiot#/$defs/cit_s", device.version), body)
    known = {s.get("I") for s in description.get("sen", [])}
    unknown = sorted(
        {g[1] for g in body.get("G", []) if isinstance(g, list) and len(g) == 3} - known
    )
    if unknown:
        problems.append(f"sensor ids {unknown} are not in /cit/d")
    return problems


def publish_timeout(device: Device, options: Options) -> float:
    """Up to 2.2 update periods, as Home Assistant waits (coiot.md 4.6), within the user's bound."""
    period = ((device.settings or {}).get("coiot") or {}).get("update_period", 15)
    return min(options.listen_timeout, 2.2 * float(period) + 2)


class CoiotWatch:
    """Expects a change to show up in the next publishes, with a new serial (coiot.md 4.1)."""

    def __init__(self, request: pytest.FixtureRequest, listener: coap.Listener) -> None:
        device: Device = request.getfixturevalue("shelly_device")
        target: Target = request.getfixturevalue("shelly_target")
        options: Options = request.getfixturevalue("shelly_options")
        self.description = request.getfixturevalue("cit_d").json()
        before = coap.request(target.host, options.coap_port, "s", confirmable=False)
        self.serial_before = before.serial_le if before is not None else None
        self.listener = listener
        self.device_ip = socket.gethostbyname(target.host)
        self.timeout = publish_timeout(device, options)
        listener.drain()

    def sensor_id(self, block: str, sensor: str) -> int:
        """Id of the sensor named ``sensor`` linked to the block named ``block``."""
        blocks = [b["I"] for b in self.description["blk"] if b.get("D") == block]
        for sen in self.description["sen"]:
            links = sen.get("L")
            linked = links if isinstance(links, list) else [links]
            if sen.get("D") == sensor and any(b in linked for b in blocks):
                return int(sen["I"])
        pytest.fail(f"/cit/d has no sensor {sensor!r} in block {block!r}", pytrace=False)

    def expect(self, block: str, sensor: str, value: Any) -> None:
        """Wait (bounded) for a publish carrying ``value`` for the sensor, with a new serial."""
        sid = self.sensor_id(block, sensor)
        seen: list[Any] = []
        deadline = time.monotonic() + self.timeout
        while (left := deadline - time.monotonic()) > 0:
            packet = self.listener.next_publish(self.device_ip, left)
            if packet is None:
                break
            try:
                values = {g[1]: g[2] for g in packet.json().get("G", []) if len(g) == 3}
            except (ValueError, AttributeError, TypeError):
                continue
            seen.append(values.get(sid))
            if values.get(sid) == value:
                assert packet.serial_le != self.serial_before, (
                    f"publish with the change kept serial {self.serial_before}"
                )
                return
        pytest.fail(
            f"no publish with {block}.{sensor} ({sid}) = {value!r}; saw {seen}", pytrace=False
        )
