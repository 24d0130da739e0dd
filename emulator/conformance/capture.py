"""``shelly-emu capture URL [--out DIR]``: save a real device's answers as a profile override.

Reads ``/shelly``, ``/settings``, ``/status``, every per-channel endpoint of the model
(``profiles/schemas/models.json``: ``/relay/N``, ``/settings/relay/N``, ``/meter/N``, ...) and the
CoIoT description (HTTP ``/cit/d`` from fw 1.10, else CoAP ``GET /cit/d``), then writes into DIR
(default ``./capture-<MODEL>-<MAC>``):

``shelly.json``, ``settings.json``, ``status.json``
    the bodies, keys sorted, 2-space indent, trailing newline (aioshelly's fixture habit), so a
    ``git diff`` between firmwares reads cleanly;
``<endpoint>_<N>.json`` / ``<endpoint>.json``
    per-channel and optional endpoints (``relay_0.json``, ``settings_relay_0.json``,
    ``ir_list.json``), plus ``cit_d.json``;
``profile.yaml``
    the override the emulator runs from.

Secrets are replaced by ``"<redacted>"`` unless ``--no-redact``: any non-empty value under a key
named ``key`` (Wi-Fi), ``password``/``pass`` (login, MQTT), ``pin_code``, or containing ``token``
(cloud). Empty values stay empty, so the shape is kept.

``profile.yaml`` (format ``schema: 1``)::

    schema: 1                     # version of this format
    model: SHSW-1                 # /shelly type: picks the emulator profile and the schemas
    firmware: 20230913-112003/v1.14.0-gcb84623   # /shelly fw
    mac: 34945472A643             # /shelly mac
    longid: 1                     # /shelly longid (omitted when the device has none)
    hostname: shelly1-34945472A643   # /settings device.hostname
    mode: relay                   # /settings mode (omitted for models without modes)
    channels:                     # per kind, the /settings name of each channel, in order
      relay: [Garden pump]        #   (null for an unnamed channel)
    files:                        # resource -> body file in this directory
      shelly: shelly.json
      relay/0: relay_0.json
    redacted:                     # JSON paths whose values were replaced
      - settings.login.password
    captured_from: http://192.168.1.50   # host and port only, never credentials
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from . import coap
from .facts import Device, probe
from .target import DeviceUnreachable, Target

__all__ = ["REDACTED", "capture", "capture_main", "redact"]

REDACTED = "<redacted>"
SECRET_KEYS = frozenset({"key", "password", "pass", "mqtt_pass", "pin_code"})


def _secret(key: str) -> bool:
    return key in SECRET_KEYS or "token" in key.lower()


def redact(doc: Any, path: str = "") -> tuple[Any, list[str]]:
    """A copy of ``doc`` with non-empty secret values replaced, and the paths replaced."""
    if isinstance(doc, dict):
        out, paths = {}, []
        for key, value in doc.items():
            where = f"{path}.{key}" if path else key
            if _secret(key) and value not in ("", None):
                out[key] = REDACTED
                paths.append(where)
                continue
            out[key], found = redact(value, where)
            paths += found
        return out, paths
    if isinstance(doc, list):
        items = [redact(v, f"{path}.{i}") for i, v in enumerate(doc)]
        return [v for v, _ in items], [p for _, found in items for p in found]
    return doc, []


def _cit_d(target: Target, device: Device, coap_port: int) -> Any | None:
    """The CoIoT description over HTTP when the firmware serves it, else over CoAP."""
    if device.serves("cit_d"):
        reply = target.get("/cit/d")
        if reply.status == 200:
            return reply.json()
    packet = coap.request(target.host, coap_port, "d", confirmable=True)
    return packet.json() if packet is not None else None


def capture(
    target: Target, out: Path | None, *, redacted: bool = True, coap_port: int = 5683
) -> Path:
    """Read the device and write its bodies and ``profile.yaml``; returns the directory.

    Raises:
        DeviceUnreachable: no answer.
        LookupError: a model without schemas, or auth on and no credentials.
        AssertionError: an endpoint did not answer 200.
    """
    device = probe(target, None)
    if device.settings is None or device.status is None:
        raise LookupError("; ".join(device.notes) or "/settings or /status unreadable")
    bodies: dict[str, Any] = {"shelly": device.shelly, "settings": device.settings}
    bodies["status"] = device.status
    for case in device.endpoint_cases():
        if case.id not in bodies and case.endpoint != "cit_d":
            bodies[case.id] = target.json(case.path)
    description = _cit_d(target, device, coap_port)
    if description is not None:
        bodies["cit_d"] = description
    out = out or Path(f"capture-{device.model}-{device.shelly.get('mac', 'unknown')}")
    out.mkdir(parents=True, exist_ok=True)
    files, secret_paths = {}, []
    for resource, body in bodies.items():
        if redacted:
            body, found = redact(body, resource)
            secret_paths += found
        name = resource.replace("/", "_") + ".json"
        (out / name).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
        files[resource] = name
    profile = _profile(device, files, secret_paths, target.url)
    (out / "profile.yaml").write_text(
        "# shelly-emu profile override, written by `shelly-emu capture` (format: see\n"
        "# emulator/conformance/capture.py). Edit names freely; keep model and firmware.\n"
        + yaml.safe_dump(profile, sort_keys=False, allow_unicode=True)
    )
    return out


def _profile(device: Device, files: dict[str, str], secrets: list[str], url: str) -> dict[str, Any]:
    settings = device.settings or {}
    profile: dict[str, Any] = {"schema": 1, "model": device.model, "firmware": device.fw}
    profile["mac"] = device.shelly.get("mac")
    if "longid" in device.shelly:
        profile["longid"] = device.shelly["longid"]
    profile["hostname"] = settings.get("device", {}).get("hostname")
    if device.mode is not None:
        profile["mode"] = device.mode
    channels = {}
    for kind in ("relay", "roller", "light"):
        items = settings.get(kind + "s")
        if isinstance(items, list) and items:
            channels[kind] = [item.get("name") for item in items]
    profile["channels"] = channels
    profile["files"] = files
    profile["redacted"] = secrets
    profile["captured_from"] = url
    return profile


def capture_main(argv: list[str] | None = None) -> int:
    """``shelly-emu capture``: 0 on success, 1 when the device cannot be captured."""
    parser = argparse.ArgumentParser(
        prog="shelly-emu capture", description="Save a Gen1 device's answers as a profile override."
    )
    parser.add_argument("url", help="the device, http://host[:port]")
    parser.add_argument("--out", type=Path, help="directory (default ./capture-MODEL-MAC)")
    parser.add_argument("--login", metavar="USER:PASS", help="HTTP credentials (auth on)")
    parser.add_argument("--no-redact", action="store_true", help="keep passwords and keys")
    parser.add_argument("--coap-port", type=int, default=5683, metavar="N")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S")
    ns = parser.parse_args(argv)
    login = tuple(ns.login.split(":", 1)) if ns.login else None
    target = Target(ns.url, login, ns.timeout)  # type: ignore[arg-type]
    try:
        out = capture(target, ns.out, redacted=not ns.no_redact, coap_port=ns.coap_port)
    except (DeviceUnreachable, LookupError, AssertionError, ValueError) as exc:
        sys.stderr.write(f"capture failed: {exc}\n")
        return 1
    finally:
        target.close()
    sys.stdout.write(f"captured {ns.url} into {out}\n")
    return 0
