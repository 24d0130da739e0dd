"""Run the emulator as one captured device: ``shelly-emu run --from DIR``.

DIR is what ``shelly-emu capture`` wrote (format in ``emulator/conformance/capture.py``): the
device's bodies and a ``profile.yaml``. The bundled profile of the model gives behaviour and the
live tokens; the captured bodies give everything visible: keys, order, static values, channel
names and settings, the firmware string, the MAC and the CoIoT description. So an emulated
device answers with the captured device's shape, and capturing it again gives the same files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..core.component import Component
from .profiles import Profile, ProfileError, load_profile, parse_profile

__all__ = ["CapturedDevice", "load_capture"]


class CapturedDevice:
    """A profile built from a capture, plus the identity the capture names."""

    def __init__(self, profile: Profile, mac: str, longid: bool, counters: dict[str, int]):
        self.profile = profile
        self.mac = mac
        self.longid = longid
        #: The captured device's counters, as a snapshot to start from (Runtime.add_device).
        self.restore = dict(counters)


def _overlay(captured: Any, template: Any) -> Any:
    """The captured body with the base template's tokens where the emulator owns the value."""
    if isinstance(template, str) and template.startswith("$"):
        return template
    if isinstance(captured, Mapping):
        base = template if isinstance(template, Mapping) else {}
        return {key: _overlay(value, base.get(key)) for key, value in captured.items()}
    return captured


def _channels(body: Mapping[str, Any], collection: str) -> list[Mapping[str, Any]]:
    entries = body.get(collection)
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []


def _component_options(
    kind: str, options: Mapping[str, Any], settings: Mapping[str, Any], status: Mapping[str, Any]
) -> dict[str, Any]:
    """Field lists and per-channel config from the captured channels of this kind."""
    cls = Component.KINDS[kind]
    options = dict(options)
    settings_channels = _channels(settings, cls.collection)
    status_channels = _channels(status, cls.collection)
    renderable = {name for name in dir(cls) if name.startswith("f_")}
    if settings_channels:
        options["settings"] = list(settings_channels[0])
        # Settings values the component does not compute become that channel's config.
        options["channel_defaults"] = [
            {k: v for k, v in channel.items() if f"f_{k}" not in renderable}
            for channel in settings_channels
        ]
    if status_channels:
        options["status"] = list(status_channels[0])
        extra = {k: v for k, v in status_channels[0].items() if f"f_{k}" not in renderable}
        options["defaults"] = {**(options.get("defaults") or {}), **extra}
    return options


def load_capture(directory: Path | str) -> CapturedDevice:
    """Read a capture directory into a profile the runtime can run."""
    directory = Path(directory)
    try:
        meta = yaml.safe_load((directory / "profile.yaml").read_text())
    except FileNotFoundError:
        raise ProfileError(f"{directory}: no profile.yaml (made by shelly-emu capture)") from None
    if not isinstance(meta, Mapping) or meta.get("schema") != 1:
        raise ProfileError(f"{directory}/profile.yaml: not a capture profile (schema: 1)")
    base = load_profile(str(meta["model"]))
    files = meta.get("files") or {}

    def body(resource: str) -> Any:
        name = files.get(resource)
        return None if name is None else json.loads((directory / name).read_text())

    shelly, settings, status = body("shelly"), body("settings"), body("status")
    if not (shelly and settings and status):
        raise ProfileError(f"{directory}: the capture lacks /shelly, /settings or /status")
    raw = dict(base.raw)
    raw["fw"] = meta.get("firmware") or shelly.get("fw") or base.fw
    raw["fw_source"] = f"capture {directory}"
    raw["shelly"] = _overlay(shelly, base.shelly)
    raw["settings"] = _overlay(settings, base.settings)
    raw["status"] = _overlay(status, base.status)
    raw["components"] = {
        spec.kind: {
            "count": spec.count,
            **({"modes": list(spec.modes)} if spec.modes else {}),
            **_component_options(spec.kind, spec.options, settings, status),
        }
        for spec in base.components
    }
    cit_d = body("cit/d")
    if cit_d is not None:
        raw["coiot"] = {**base.section("coiot"), "captured": cit_d}
    profile = parse_profile(raw, f"capture {directory}")
    counters = {
        "cfg_changed_cnt": int(status.get("cfg_changed_cnt") or 0),
        "status_serial": int(status.get("serial") or 1),
    }
    return CapturedDevice(
        profile, str(meta.get("mac") or shelly["mac"]), bool(meta.get("longid")), counters
    )
