"""Model profiles: everything that differs between Shelly models, as data (DESIGN.md principle 4).

A profile is a YAML file in the top-level ``profiles/`` package. It carries the model's codes and
identity rules, the default firmware string, ordered templates of ``/shelly``, ``/settings`` and
``/status`` (key order and static values as real firmware writes them; ``$name`` strings are
filled live by the device), the components with their per-model field lists, and sections read
by the transports (``coiot``, ``mdns``...). Code never branches on the model code.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ComponentSpec", "Profile", "ProfileError", "all_profiles", "load_profile"]


class ProfileError(ValueError):
    """A profile file is malformed; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """One kind of component of a model: how many channels, in which device modes, and options."""

    kind: str
    count: int
    modes: tuple[str, ...] | None
    options: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Profile:
    """Static description of one model and its default firmware."""

    model: str
    name: str
    title: str
    hostname_prefix: str
    fw: str
    longid: bool
    mac_prefix: str
    shelly: Mapping[str, Any]
    settings: Mapping[str, Any]
    status: Mapping[str, Any]
    components: tuple[ComponentSpec, ...]
    settings_params: Mapping[str, Mapping[str, Any]]
    modes: tuple[str, ...] | None
    default_mode: str | None
    raw: Mapping[str, Any] = field(repr=False)

    def section(self, name: str) -> Mapping[str, Any]:
        """A transport's own section (``coiot``, ``mdns``, ``sleep``...), empty if absent."""
        value = self.raw.get(name) or {}
        if not isinstance(value, Mapping):
            raise ProfileError(f"{self.name}: section {name!r} must be a mapping")
        return value

    def component(self, kind: str) -> ComponentSpec | None:
        return next((spec for spec in self.components if spec.kind == kind), None)


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
    return Profile(
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
    )


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
