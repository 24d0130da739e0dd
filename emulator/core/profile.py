"""What a model is, as data the device core is built from (DESIGN.md principle 4).

A Profile is one model's codes and identity rules, default firmware, ordered templates of
``/shelly``, ``/settings`` and ``/status``, its components with their per-model options, and
sections read by the transports (``coiot``, ``mdns``...). Code never branches on the model code.
The loader (emulator/runtime/profiles.py) reads them from the YAML files in ``profiles/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ComponentSpec", "Profile", "ProfileError"]


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
    #: The model's CoIoT description (the /cit/d body) in a device mode, which firmware from
    #: 1.10.0 also serves over HTTP; the loader binds it to the CoIoT transport's description.
    cit_d: Callable[[str | None], dict[str, Any]] | None = field(default=None, repr=False)

    def section(self, name: str) -> Mapping[str, Any]:
        """A transport's own section (``coiot``, ``mdns``, ``sleep``...), empty if absent."""
        value = self.raw.get(name) or {}
        if not isinstance(value, Mapping):
            raise ProfileError(f"{self.name}: section {name!r} must be a mapping")
        return value

    def component(self, kind: str) -> ComponentSpec | None:
        return next((spec for spec in self.components if spec.kind == kind), None)
