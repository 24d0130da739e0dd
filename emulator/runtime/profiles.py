"""The profile loader: model profiles from the YAML files of the top-level ``profiles/`` package.

A profile carries the model's codes and identity rules, the default firmware string, ordered
templates of ``/shelly``, ``/settings`` and ``/status`` (key order and static values as real
firmware writes them; ``$name`` strings are filled live by the device), the components with their
per-model field lists, and sections read by the transports (``coiot``, ``mdns``...). The data
types are the core's (emulator/core/profile.py). The loader also fills the core's component
registry with every shipped kind, and binds each profile to its CoIoT description, so the core
imports neither the kinds nor the CoIoT transport.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..core.component import Component
from ..core.kinds import SHIPPED
from ..core.profile import ComponentSpec, Profile, ProfileError
from ..transports.coiot.description import model_of

__all__ = [
    "ComponentSpec",
    "Profile",
    "ProfileError",
    "all_profiles",
    "load_profile",
    "parse_profile",
]

#: The core's component registry, filled here: a profile can name every shipped kind.
Component.KINDS.update({kind.kind: kind for kind in SHIPPED})


def _require(data: Mapping[str, Any], key: str, source: str) -> Any:
    if key not in data:
        raise ProfileError(f"{source}: missing key {key!r}")
    return data[key]


def parse_profile(data: Mapping[str, Any], source: str) -> Profile:
    """Build a Profile from its YAML mapping, checking what the core relies on."""
    components = []
    for kind, spec in (data.get("components") or {}).items():
        spec = dict(spec or {})
        count = int(spec.pop("count", 1))
        modes = spec.pop("modes", None)
        components.append(ComponentSpec(kind, count, tuple(modes) if modes else None, spec))
    modes_section = data.get("modes") or {}
    modes = tuple(modes_section.get("values", ())) or None
    default_mode = modes_section.get("default") if modes else None
    if modes and default_mode not in modes:
        raise ProfileError(f"{source}: modes.default must be one of {modes}")

    def cit_d(mode: str | None) -> dict[str, Any]:
        return model_of(profile).description(mode).cit_d()

    profile = Profile(
        model=_require(data, "model", source),
        name=_require(data, "name", source),
        title=data.get("title", data["name"]),
        hostname_prefix=_require(data, "hostname_prefix", source),
        fw=_require(data, "fw", source),
        longid=bool(data.get("longid", False)),
        mac_prefix=str(data.get("mac_prefix", "A4CF12")).upper(),
        shelly=_require(data, "shelly", source),
        settings=_require(data, "settings", source),
        status=_require(data, "status", source),
        components=tuple(components),
        settings_params=data.get("settings_params") or {},
        modes=modes,
        default_mode=default_mode,
        raw=data,
        cit_d=cit_d,
    )
    return profile


def _profile_files() -> list[Path]:
    root = resources.files("profiles")
    return sorted(Path(str(entry)) for entry in root.iterdir() if entry.name.endswith(".yaml"))


@functools.cache
def all_profiles() -> dict[str, Profile]:
    """Every bundled profile, keyed by model code."""
    profiles = {}
    for path in _profile_files():
        profile = parse_profile(yaml.safe_load(path.read_text()), path.name)
        profiles[profile.model] = profile
    return profiles


def load_profile(name: str) -> Profile:
    """A profile by model code (``SHSW-1``) or profile name (``shelly1``), case-insensitive."""
    wanted = name.lower()
    for profile in all_profiles().values():
        if wanted in (profile.model.lower(), profile.name.lower()):
            return profile
    known = ", ".join(f"{p.model} ({p.name})" for p in all_profiles().values())
    raise ProfileError(f"unknown model {name!r}; known: {known}")
